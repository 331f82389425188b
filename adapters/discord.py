"""The Discord channel: `/interview` slash commands, interviews in private threads, discord.py 2.x.

Only translation lives here: an interaction or a thread message becomes a core call and the
Reply becomes messages and embeds (``discord_render``). Interactions are deferred before any
work, so a slow model never misses Discord's 3-second window; discord.py runs every event as
its own task, so one slow grade never holds up the gateway or another session.

Session key: the thread (or DM channel) id; user key: the Discord user id. Answers are normal
messages in the thread. Without the privileged Message Content intent Discord still delivers the
text of DMs and of messages that mention the bot, so the bot works there; for plain answers in
server threads the intent must be enabled (the README says how).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands

from interviewer.domain import SessionOptions, Turn
from interviewer.interview.channel import OVER, ChatChannel
from interviewer.interview.replies import Reply
from interviewer.interview.session import InterviewError
from interviewer.review.export import to_text
from interviewer_adapters.discord_render import history_line, render

log = logging.getLogger(__name__)

CHANNEL = "discord"
SHOW_MESSAGES = 5
TOPIC_CHOICES = 25  # Discord's most autocomplete choices
# Nothing the bot sends pings anyone: model text (follow-ups, questions from notes) could carry
# @everyone or a role, and the "not yours" note names the owner without calling them.
NO_PINGS = discord.AllowedMentions.none()
CONTROL = re.compile(r"interview:(?P<action>hint|skip|end):(?P<session>[0-9a-f]{32})(?::(?P<prompt>[0-9]{1,9}))?")
BUTTONS = (("hint", "Hint", discord.ButtonStyle.secondary), ("skip", "Skip", discord.ButtonStyle.secondary), ("end", "End", discord.ButtonStyle.danger))


def session_key(channel_id: int) -> str:
    return f"discord:{channel_id}"


def user_key(user_id: int) -> str:
    return f"discord:{user_id}"


class ControlButton(discord.ui.DynamicItem[discord.ui.Button], template=CONTROL):
    """Hint / Skip / End under a question. The custom id carries the session and the prompt the
    button was shown under, so it survives restarts and a press on an old message never acts
    on a later question."""

    def __init__(self, action: str, session_id: str, prompt_seq: int | None = None) -> None:
        label, style = next((label, style) for name, label, style in BUTTONS if name == action)
        shown = f":{prompt_seq}" if prompt_seq is not None else ""
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"interview:{action}:{session_id}{shown}"))
        self.action = action
        self.session_id = session_id
        self.prompt_seq = prompt_seq

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /) -> "ControlButton":
        return cls(match["action"], match["session"], int(match["prompt"]) if match["prompt"] else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        channel: DiscordChannel = interaction.client.interview_channel  # type: ignore[attr-defined]
        await channel.on_button(interaction, self.action, self.session_id, self.prompt_seq)


def controls(session_id: str, prompt_seq: int | None = None) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for name, _, _ in BUTTONS:
        view.add_item(ControlButton(name, session_id, prompt_seq))
    return view


def _where(place: Any) -> str:
    """How to point the user at the place of their interview: a channel or thread by its
    mention; a DM, which has no mention, in words."""
    return "our direct messages" if isinstance(place, discord.DMChannel) else place.mention


class DiscordChannel(ChatChannel):
    """The interview behaviour of the bot, independent of how it is connected (testable alone)."""

    name = CHANNEL

    # slash commands -----------------------------------------------------------------------

    def topic_choices(self, typed: str) -> list[tuple[str, str]]:
        """Autocomplete for the topic option: (shown name, value) of the bank's topics matching the
        last word typed, after the topics already chosen (Discord shows at most 25)."""
        *chosen, last = re.split(r"[,\s]+", typed.strip()) if typed.strip() else [""]
        prefix = " ".join(chosen + [""]).lstrip()
        needle = last.lower()
        matches = [
            (slug, title) for slug, title in self.interviewer.bank.topics.items()
            if slug not in chosen and (needle in slug.lower() or needle in title.lower())
        ]
        return [(f"{title} ({slug})"[:100], f"{prefix}{slug}"[:100]) for slug, title in matches[:TOPIC_CHOICES]]

    async def start(self, interaction: discord.Interaction, topic: str | None = None, questions: int | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        options = SessionOptions(topics=[t for t in re.split(r"[,\s]+", topic or "") if t], questions=questions or self.default_questions)
        try:
            options = self.interviewer.validate(options)
        except InterviewError as exc:
            await interaction.followup.send(f"{exc}.", ephemeral=True)
            return
        place = await self._open_place(interaction)
        if place is None:
            await interaction.followup.send("I can neither open a thread here nor send you a DM. Check my permissions.", ephemeral=True)
            return
        key = session_key(place.id)
        if await self.interviewer.active_session(key) is not None:
            await interaction.followup.send(f"An interview is already running in {_where(place)}.", ephemeral=True)
            return
        _, reply = await self.interviewer.start(user_key=user_key(interaction.user.id), channel=CHANNEL, options=options, session_key=key)
        if not await self.deliver(place, key, reply):  # a DM refused (403: DMs from this server are off)
            await self.interviewer.handle(Turn(session_key=key, user_key=user_key(interaction.user.id), text="end", channel=CHANNEL))
            await interaction.followup.send(
                f"I could not post the first question in {_where(place)}, so the interview is not started. If that was our "
                "direct messages, allow direct messages from this server's members (Privacy Settings) and start again.",
                ephemeral=True,
            )
            return
        await interaction.followup.send(f"Your interview is in {_where(place)}. Answer there.", ephemeral=True)

    async def history(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        records = await self.interviewer.history(user_key(interaction.user.id), 10)
        if not records:
            await interaction.followup.send("You have no saved interviews yet. Start one with `/interview start`.", ephemeral=True)
            return
        embed = discord.Embed(title="Your interviews", description="\n".join(history_line(r) for r in records)[:4096])
        embed.set_footer(text="See one with /interview show id")
        await interaction.followup.send(embed=embed, ephemeral=True)

    async def show(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002 - the option's name in Discord
        await interaction.response.defer(ephemeral=True, thinking=True)
        record = await self.interviewer.transcript_of(user_key(interaction.user.id), id)
        if record is None:  # someone else's id looks exactly like a missing one
            shown = re.sub(r"[^0-9A-Za-z_-]", "?", id[:40])  # never markup, mentions or code-span breaks
            await interaction.followup.send(f"You have no interview `{shown}`. See `/interview history`.", ephemeral=True)
            return
        text = to_text(record)
        pieces = _code_blocks(text)
        if len(pieces) > SHOW_MESSAGES:  # keep the end, which has the summary
            pieces = pieces[-SHOW_MESSAGES:]
        header = f"Interview `{record.id[:8]}` · {record.started_at:%Y-%m-%d %H:%M} UTC · {record.status}"
        if len(pieces) < len(_code_blocks(text)):
            header += " (the latest part; earlier turns left out)"
        await interaction.followup.send(content=header, ephemeral=True)
        for piece in pieces:
            await interaction.followup.send(content=piece, ephemeral=True)

    async def end(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        key = session_key(interaction.channel.id) if interaction.channel is not None else ""
        session = await self.interviewer.active_session(key)
        if session is None:
            await interaction.followup.send("There is no interview running in this channel.", ephemeral=True)
            return
        if session.user_key != user_key(interaction.user.id):
            await interaction.followup.send(self.not_yours(session.user_key), ephemeral=True)
            return
        await self.take_turn(interaction.channel, key, session.user_key, "end", event_id=f"interaction:{interaction.id}")
        await interaction.followup.send("Interview ended; the summary is above.", ephemeral=True)

    # messages and buttons -----------------------------------------------------------------

    async def on_message(self, message: discord.Message, bot_user: Any) -> None:
        if message.author.bot or message.author == bot_user:
            return
        key = session_key(message.channel.id)
        async with self.in_order(key):  # taken before any await: messages are handled in arrival order
            await self._message(message, bot_user, key)

    async def _message(self, message: discord.Message, bot_user: Any, key: str) -> None:
        session = await self.interviewer.active_session(key)
        if session is None:
            return  # not an interview thread
        if session.user_key != user_key(message.author.id):
            await message.reply(self.not_yours(session.user_key), mention_author=False, delete_after=15, allowed_mentions=NO_PINGS)
            return
        text = re.sub(rf"<@!?{getattr(bot_user, 'id', 0)}>", "", message.content or "").strip()
        if not text and not message.content:
            await message.channel.send(
                content="_I can't read that message: Discord hides message text from bots without the Message Content intent. "
                "Mention me in your answer (`@interviewer ...`), or ask the server admin to enable the intent._"
            )
            return
        await self.take_turn(message.channel, key, session.user_key, text, event_id=f"message:{message.id}", in_line=True)

    async def on_button(self, interaction: discord.Interaction, action: str, session_id: str, prompt_seq: int | None = None) -> None:
        await interaction.response.defer()  # the grade may take a while; the button must answer now
        key = session_key(interaction.channel.id) if interaction.channel is not None else ""
        session = await self.interviewer.active_session(key)
        if session is None or session.id != session_id:
            await interaction.followup.send(OVER, ephemeral=True)
            return
        if session.user_key != user_key(interaction.user.id):
            await interaction.followup.send(self.not_yours(session.user_key), ephemeral=True)
            return
        await self.take_turn(interaction.channel, key, session.user_key, action, event_id=f"interaction:{interaction.id}",
                             prompt_seq=prompt_seq, pressed=True)

    # delivery -----------------------------------------------------------------------------

    async def _open_place(self, interaction: discord.Interaction) -> Any:
        """A private thread in the channel, or a DM where threads are not possible."""
        channel = interaction.channel
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await channel.create_thread(
                    name=f"Interview · {interaction.user.display_name}"[:100],
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                    auto_archive_duration=1440,
                )
                await thread.add_user(interaction.user)
                return thread
            except discord.HTTPException:
                log.info("no private thread in %s; using a DM", channel.id)
        try:
            return await interaction.user.create_dm()
        except discord.HTTPException:
            return None

    async def send(self, place: Any, reply: Reply) -> bool:
        """Send every message of the reply; False when Discord refused one (the rest are not sent)."""
        for outgoing in render(reply):
            kwargs: dict[str, Any] = {"content": outgoing.content, "embeds": outgoing.embeds, "allowed_mentions": NO_PINGS}
            if outgoing.controls and reply.session_id:
                kwargs["view"] = controls(reply.session_id, reply.prompt_seq)
            try:
                await place.send(**kwargs)
            except discord.HTTPException:
                log.exception("could not send to Discord")
                return False
        return True

    async def refuse(self, place: Any, user: str, text: str) -> None:
        """A note that clears itself: in a thread there is no private reply to a plain message."""
        try:
            await place.send(content=f"_{text}_", delete_after=15, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.exception("could not send to Discord")

    def not_yours(self, owner_key: str) -> str:
        return f"This is <@{owner_key.removeprefix('discord:')}>'s interview. Start your own with `/interview start`."


def _code_blocks(text: str) -> list[str]:
    from interviewer.text import within_limit

    return [f"```\n{piece}\n```" for piece in within_limit(text.replace("```", "'''"), 1990)]


def interview_commands(channel: DiscordChannel) -> app_commands.Group:
    """The `/interview` command group; each callback hands straight to ``channel``."""
    group = app_commands.Group(name="interview", description="Mock AI/ML interviews graded against rubrics")

    @group.command(name="start", description="Start a mock interview in a private thread")
    @app_commands.describe(topic="Topic(s), e.g. rag or 'rag transformers' (default: all)", questions="How many questions (1-50)")
    async def start(interaction: discord.Interaction, topic: str | None = None, questions: app_commands.Range[int, 1, 50] | None = None) -> None:
        await channel.start(interaction, topic, questions)

    @start.autocomplete("topic")
    async def topic_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=value) for name, value in channel.topic_choices(current)]

    @group.command(name="history", description="Your recent interviews and scores (only you see them)")
    async def history(interaction: discord.Interaction) -> None:
        await channel.history(interaction)

    @group.command(name="show", description="Show one of your interviews")
    @app_commands.describe(id="The id from /interview history")
    async def show(interaction: discord.Interaction, id: str) -> None:  # noqa: A002
        await channel.show(interaction, id)

    @group.command(name="end", description="End the interview running in this thread")
    async def end(interaction: discord.Interaction) -> None:
        await channel.end(interaction)

    return group
