"""``interviewer serve slack``: the Slack channel as a plugin (entry point ``interviewer.channels``)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from interviewer.config import ConfigError
from interviewer.plugins import MODEL_HELP, ChannelPlugin, serving

console = Console()


def serve_slack(
    http: Annotated[bool, typer.Option("--http", help="Serve the Events API over HTTP instead of Socket Mode.")] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port (with --http).")] = 3000,
    host: Annotated[str, typer.Option("--host", help="HTTP address to listen on (with --http).")] = "0.0.0.0",
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Slack threads: Socket Mode by default, the Events API with --http."""
    try:
        from interviewer_adapters.slack_server import missing_variables, serve
    except ImportError as exc:  # the SDK is an extra: interviewer[slack]
        raise ConfigError(f"the Slack channel needs its SDK, and {exc.name or 'part of it'} is not installed: "
                          "pip install 'interviewer[slack]'") from None

    missing = missing_variables(dict(os.environ), http=http)
    if missing:
        mode = "the Events API (--http) needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" if http else (
            "Socket Mode needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...); "
            "or use --http with SLACK_SIGNING_SECRET"
        )
        raise ConfigError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: {mode}. See the README's Slack section.")
    application = serving(model=model)
    console.print(f"[dim]Engine: {escape(application.settings.engine_label)}[/dim]")
    where = f"the Events API on http://{host}:{port}/slack/events" if http else "Socket Mode"
    console.print(f"Serving Slack over {where}. Ctrl-C stops.")
    try:
        serve(application.interviewer, dict(os.environ), http=http, host=host, port=port, default_questions=application.settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")


plugin = ChannelPlugin(name="slack", command=serve_slack, help="Practise in Slack threads (Socket Mode, or the Events API with --http).")
