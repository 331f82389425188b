"""A channel plugin in 30 lines: answers come from stdin, one per line; replies go to stdout."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer

from interviewer.domain import SessionOptions, Turn
from interviewer.plugins import ChannelPlugin, serving


def serve_echo(
    questions: Annotated[int, typer.Option("--questions", min=1, help="How many questions.")] = 1,
    topic: Annotated[str, typer.Option("--topic", help="A topic of the bank.")] = "rag",
) -> None:
    """Interview over stdin and stdout until the summary."""
    interviewer = serving().interviewer

    async def run() -> None:
        options = SessionOptions(topics=[topic], questions=questions)
        session, reply = await interviewer.start(user_key="echo:me", channel="echo", options=options, session_key="echo:stdin")
        print(reply.text, flush=True)
        for line in sys.stdin:
            reply = await interviewer.handle(Turn(session_key=session.session_key, user_key="echo:me", text=line.strip(), channel="echo"))
            print(reply.text, flush=True)
            if reply.finished:
                return

    asyncio.run(run())


plugin = ChannelPlugin(name="echo", command=serve_echo, help="Practise over stdin and stdout (a test plugin).")
