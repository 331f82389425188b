"""``interviewer serve discord``: the Discord channel as a plugin (entry point ``interviewer.channels``)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from interviewer.config import ConfigError
from interviewer.plugins import MODEL_HELP, ChannelPlugin, serving

console = Console()


def serve_discord(
    guild: Annotated[int | None, typer.Option("--guild", help="A server id: its slash commands sync at once (global ones take up to an hour). Default: $DISCORD_GUILD_ID.")] = None,
    no_message_content: Annotated[bool, typer.Option("--no-message-content", help="Run without the privileged Message Content intent (answers must mention the bot, or come by DM).")] = False,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Discord: /interview start opens a private thread."""
    try:
        from interviewer_adapters.discord_server import serve
    except ImportError as exc:  # the SDK is an extra: interviewer[discord]
        raise ConfigError(f"the Discord channel needs its SDK, and {exc.name or 'part of it'} is not installed: "
                          "pip install 'interviewer[discord]'") from None

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal (Bot > Reset Token). See the README's Discord section.")
    guild_id = guild or (int(os.environ["DISCORD_GUILD_ID"]) if os.environ.get("DISCORD_GUILD_ID", "").isdigit() else None)
    application = serving(model=model)
    console.print(f"[dim]Engine: {escape(application.settings.engine_label)}[/dim]")
    console.print("Connecting to Discord. Ctrl-C stops.")
    try:
        serve(application.interviewer, token, guild_id=guild_id, message_content=not no_message_content, default_questions=application.settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")


plugin = ChannelPlugin(name="discord", command=serve_discord, help="Practise in Discord: /interview start opens a private thread.")
