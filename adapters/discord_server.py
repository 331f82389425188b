"""Running the Discord channel: the gateway connection, its slash commands and buttons."""

from __future__ import annotations

import discord
from discord import app_commands

from interviewer.config import ConfigError
from interviewer.interview.session import Interviewer
from interviewer_adapters.discord import NO_PINGS, ControlButton, DiscordChannel, interview_commands


class InterviewBot(discord.Client):
    """The gateway connection: registers the commands and buttons, forwards messages."""

    def __init__(self, channel: DiscordChannel, *, guild_id: int | None = None, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.interview_channel = channel
        self.guild_id = guild_id
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(interview_commands(channel))

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ControlButton)
        if self.guild_id:  # a guild's commands update at once; global ones can take an hour
            guild = discord.Object(id=self.guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        await self.interview_channel.on_message(message, self.user)


def serve(interviewer: Interviewer, token: str, *, guild_id: int | None, message_content: bool, default_questions: int) -> None:
    """Connect to the gateway and run until interrupted."""
    bot = InterviewBot(DiscordChannel(interviewer, default_questions=default_questions), guild_id=guild_id, message_content=message_content)
    try:
        bot.run(token, log_handler=None)
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN (improper token); copy it again from the developer portal") from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "the Message Content intent is not enabled for this bot: enable it under Bot > Privileged Gateway Intents, "
            "or run with --no-message-content"
        ) from None
