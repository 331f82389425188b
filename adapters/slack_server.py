"""Running the Slack channel: the Bolt app, over Socket Mode (an outbound WebSocket) or the Events API."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from interviewer.interview.session import Interviewer
from interviewer_adapters.slack import SlackChannel

IO_THREADS = 32
RATE_LIMIT_RETRIES = 2


def build_slack_app(
    interviewer: Interviewer,
    *,
    token: str,
    signing_secret: str | None = None,
    client: AsyncWebClient | None = None,
    default_questions: int = 5,
) -> tuple[AsyncApp, SlackChannel]:
    """A Bolt app serving interviews. Without a signing secret (Socket Mode) requests are not signed."""
    app = AsyncApp(
        token=None if client is not None else token,  # a given client carries the token
        signing_secret=signing_secret,
        client=client,
        request_verification_enabled=signing_secret is not None,
        logger=logging.getLogger("interviewer.slack.bolt"),
    )
    with_rate_limit_retries(app.client)
    return app, SlackChannel(interviewer, app, default_questions=default_questions)


def with_rate_limit_retries(client: AsyncWebClient) -> AsyncWebClient:
    """Slack answers 429 with Retry-After when a workspace posts too fast: wait that long and
    post again (twice at most) instead of telling the candidate the interview could not start."""
    if not any(isinstance(handler, AsyncRateLimitErrorRetryHandler) for handler in client.retry_handlers):
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


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
