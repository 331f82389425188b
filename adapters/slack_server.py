"""Running the Slack channel: Socket Mode (an outbound WebSocket) or the Events API over HTTP."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from slack_sdk.web.async_client import AsyncWebClient

from interviewer.interview.session import Interviewer
from interviewer_adapters.slack import build_slack_app

IO_THREADS = 32


def missing_variables(environ: dict[str, str], *, http: bool) -> list[str]:
    """The Slack variables a mode needs that the environment lacks, in the order to fix them."""
    needed = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"] if http else ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"]
    return [name for name in needed if not environ.get(name, "").strip()]


def serve(interviewer: Interviewer, environ: dict[str, str], *, http: bool, host: str, port: int, default_questions: int) -> None:
    """Run until interrupted: Socket Mode (an outbound WebSocket) or the Events API over HTTP.

    One aiohttp session carries every Web API call, so posts reuse a connection to Slack
    instead of opening a new TLS connection each time.
    """
    import aiohttp
    from aiohttp import web

    async def run() -> None:
        # Store calls wait on the database, not the CPU: more threads than asyncio's default
        # (cpus + 4) keep many concurrent interviews from queueing behind each other.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="interviewer-io"))
        async with aiohttp.ClientSession() as session:
            base_url = environ.get("SLACK_API_URL") or AsyncWebClient.BASE_URL  # a proxy, or a mock in tests
            client = AsyncWebClient(token=environ["SLACK_BOT_TOKEN"], session=session, base_url=base_url)
            if http:
                app, _ = build_slack_app(interviewer, token="", signing_secret=environ["SLACK_SIGNING_SECRET"], client=client,
                                         default_questions=default_questions)
                runner = web.AppRunner(app.web_app(path="/slack/events", port=port))
                await runner.setup()
                await web.TCPSite(runner, host=host, port=port).start()
                try:
                    await asyncio.Event().wait()  # Slack posts to /slack/events until we are stopped
                finally:
                    await runner.cleanup()
            else:
                from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

                app, _ = build_slack_app(interviewer, token="", client=client, default_questions=default_questions)
                await AsyncSocketModeHandler(app, environ["SLACK_APP_TOKEN"]).start_async()

    asyncio.run(run())
