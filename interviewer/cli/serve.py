"""``interviewer serve slack|discord``: the interviewer as a chat bot."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from interviewer.cli.common import MODEL_HELP, UserError, console, settings_for


serve_app = typer.Typer(help="Run the interviewer as a chat bot.", no_args_is_help=True)


@serve_app.command("slack")
def serve_slack(
    http: Annotated[bool, typer.Option("--http", help="Serve the Events API over HTTP instead of Socket Mode.")] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port (with --http).")] = 3000,
    host: Annotated[str, typer.Option("--host", help="HTTP address to listen on (with --http).")] = "0.0.0.0",
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Slack threads: Socket Mode by default, the Events API with --http."""
    import os

    from interviewer.app import build_app
    from interviewer_adapters.slack import missing_variables, serve

    missing = missing_variables(dict(os.environ), http=http)
    if missing:
        mode = "the Events API (--http) needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" if http else (
            "Socket Mode needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...); "
            "or use --http with SLACK_SIGNING_SECRET"
        )
        raise UserError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: {mode}. See the README's Slack section.")
    settings = settings_for(model=model)
    application = build_app(settings)
    application.warm_up_server()
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")
    where = f"the Events API on http://{host}:{port}/slack/events" if http else "Socket Mode"
    console.print(f"Serving Slack over {where}. Ctrl-C stops.")
    try:
        serve(application.interviewer, dict(os.environ), http=http, host=host, port=port, default_questions=settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")


@serve_app.command("discord")
def serve_discord(
    guild: Annotated[int | None, typer.Option("--guild", help="A server id: its slash commands sync at once (global ones take up to an hour). Default: $DISCORD_GUILD_ID.")] = None,
    no_message_content: Annotated[bool, typer.Option("--no-message-content", help="Run without the privileged Message Content intent (answers must mention the bot, or come by DM).")] = False,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Discord: /interview start opens a private thread."""
    import os

    from interviewer.app import build_app
    from interviewer_adapters.discord import serve

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise UserError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal (Bot > Reset Token). See the README's Discord section.")
    guild_id = guild or (int(os.environ["DISCORD_GUILD_ID"]) if os.environ.get("DISCORD_GUILD_ID", "").isdigit() else None)
    settings = settings_for(model=model)
    application = build_app(settings)
    application.warm_up_server()
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")
    console.print("Connecting to Discord. Ctrl-C stops.")
    try:
        serve(application.interviewer, token, guild_id=guild_id, message_content=not no_message_content, default_questions=settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")
