"""Isolation and secrets: can one user reach another's interview, and does a secret ever leak?

Isolation: user A (alice) has an interview in every channel; user B (mallory) then tries every
way we offer to read, answer, steer or export it: the core API, the CLI run as B, Slack and
Discord. A leak is A's private answer text shown to B, or anything of B's stored into A's session.

Secrets: an interview runs with fake, unique API keys and bot tokens in the environment, through
the error paths too (a provider that echoes the key in its error, 5xx, unusable output, a Slack
call that fails, a forged Slack request); then every log record (DEBUG, litellm's and the SDKs'
loggers included), stdout/stderr, the SQLite file's bytes, every export format, the CLI's output
and log file and every reply is searched for the secrets. The stub model and the mock Slack API
receive the key and token on the wire by design: they are the provider, not our output.

One module although long: every isolation and secret check drives the same rig (one store,
every channel, fake keys set), and a new leak path is one more function beside the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import secrets as random_secrets
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock
from urllib.parse import urlencode

import discord
import discord.http
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from interviewer.domain import Session, SessionOptions, Turn
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, StubLLMServer, StubReply, grading_rule, keyword_rule
from interviewer_adapters import discord as discord_adapter
from interviewer_adapters import discord_server, slack_server

from harness.slack_stub import MockSlackAPI

TEAM, SLACK_CHANNEL = "T1", "C1"
ALICE_SLACK, MALLORY_SLACK = "UALICE", "UMALLORY"
ALICE_DISCORD, MALLORY_DISCORD = 4_100_000_000_000_001, 4_100_000_000_000_002
SETTLE = 0.15


# --- isolation ------------------------------------------------------------------------------------


@dataclass
class IsolationReport:
    """Leaks found per path tried; ``leaks`` must be 0."""

    paths: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> int:
        return sum(self.paths.values())

    def line(self) -> str:
        return f"isolation {self.leaks} leaks ({len(self.paths)} paths tried)"


@dataclass
class Victim:
    """Alice's interview in one channel, and how it looked before mallory tried anything."""

    session: Session
    turns_before: int


@dataclass
class IsolationRig:
    """One store, one core and both adapters; alice has an interview in each channel."""

    store: Store
    interviewer: Interviewer
    folder: Path
    secret: str  # in alice's answers: must never reach mallory
    intruder: str  # in mallory's messages: must never be stored in alice's sessions
    core: Victim | None = None
    slack: Victim | None = None
    discord: Victim | None = None
    slack_app: Any = None
    slack_mock: MockSlackAPI | None = None
    slack_thread: str = ""
    discord_channel: Any = None
    discord_place: Any = None
    _events: int = 0

    def shows(self, text: str) -> bool:
        return self.secret in text

    def tampered(self, victim: Victim) -> list[str]:
        """What changed in alice's session: new turns, mallory's words, a finished state."""
        problems = []
        turns = self.store.turns(victim.session.id)
        if len(turns) != victim.turns_before:
            problems.append(f"{len(turns) - victim.turns_before} turn(s) added to alice's session")
        if any(self.intruder in t.text for t in turns):
            problems.append("mallory's text is stored in alice's session")
        now = self.store.get_session(victim.session.id)
        if now is None or now.status != "active":
            problems.append("alice's session was deleted or ended")
        return problems

    def next_event(self) -> str:
        self._events += 1
        return f"EvIso{self._events}"


def _answer(rig: IsolationRig, who: str) -> str:
    return f"{who} {rig.secret} says retrieval puts relevant passages into the prompt and grounds the answer."


async def _core_victim(rig: IsolationRig) -> None:
    options = SessionOptions(questions=2, max_follow_ups=0)
    session, _ = await rig.interviewer.start(user_key="alice", channel="repl", options=options, session_key="repl:alice")
    await rig.interviewer.handle(Turn(session_key=session.session_key, user_key="alice", text=_answer(rig, "alice")))
    mine, _ = await rig.interviewer.start(user_key="mallory", channel="repl", options=options, session_key="repl:mallory")
    await rig.interviewer.handle(Turn(session_key=mine.session_key, user_key="mallory", text=f"mallory {rig.intruder} on chunking."))
    rig.core = Victim(session, len(rig.store.turns(session.id)))


@contextlib.asynccontextmanager
async def isolation_rig(bank: RubricBank | None = None, folder: Path | None = None) -> AsyncIterator[IsolationRig]:
    """A rig with alice's interviews in the core, Slack and Discord (the CLI reads the core's store)."""
    with tempfile.TemporaryDirectory(prefix="interviewer-isolation-") as scratch:
        where = folder or Path(scratch)
        store = Store(f"sqlite:///{where / 'interviewer.db'}")
        interviewer = Interviewer(bank or RubricBank.load(), ScriptedEngine(rule=keyword_rule), store)
        rig = IsolationRig(store, interviewer, where, f"alice-private-{random_secrets.token_hex(6)}",
                           f"mallory-wrote-{random_secrets.token_hex(6)}")
        mock = MockSlackAPI(team_id=TEAM).start()
        try:
            await _core_victim(rig)
            await _slack_victim(rig, mock)
            await _discord_victim(rig)
            yield rig
        finally:
            mock.stop()
            store.close()


# core API probes

async def core_transcript_of(rig: IsolationRig) -> list[str]:
    assert rig.core is not None
    found = []
    for ident in (rig.core.session.id, rig.core.session.id[:8]):
        if await rig.interviewer.transcript_of("mallory", ident) is not None:
            found.append(f"transcript_of('mallory', {ident!r}) returned alice's interview")
    return found


async def core_history(rig: IsolationRig) -> list[str]:
    assert rig.core is not None
    records = await rig.interviewer.history("mallory", 100)
    return ["mallory's history lists alice's interview" for r in records if r.id == rig.core.session.id]


async def core_handle(rig: IsolationRig) -> list[str]:
    """Mallory sends an answer and every command to alice's session key under her own user key."""
    assert rig.core is not None
    found = []
    for text in (f"mallory {rig.intruder} answers for alice.", "hint", "skip", "repeat", "end", "help"):
        reply = await rig.interviewer.handle(Turn(session_key=rig.core.session.session_key, user_key="mallory", text=text))
        if rig.shows(reply.text):
            found.append(f"the reply to mallory's {text!r} shows alice's answer")
        if [m.data.get("reason") for m in reply.messages] != ["not_owner"]:
            found.append(f"mallory's {text!r} in alice's session was not refused")
    return found + rig.tampered(rig.core)


# CLI probes (in process, as INTERVIEWER_USER=mallory)

def _cli(rig: IsolationRig, *args: str, user: str = "mallory") -> tuple[int, str]:
    """The CLI in process, as ``user``, on the rig's store: (exit code, everything it printed)."""
    from typer.testing import CliRunner

    from interviewer.cli import main as cli

    env = {"INTERVIEWER_USER": user, "INTERVIEWER_DATA_DIR": str(rig.folder),
           "INTERVIEWER_DATABASE_URL": f"sqlite:///{rig.folder / 'interviewer.db'}", "COLUMNS": "200"}
    result = CliRunner().invoke(cli.app, list(args), env=env)
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


async def cli_read(rig: IsolationRig) -> list[str]:
    """show, and export in every format, of alice's id (whole and prefix)."""
    assert rig.core is not None
    found = []
    for ident in (rig.core.session.id, rig.core.session.id[:8]):
        for args in (["show", ident], *(["export", ident, "-f", fmt] for fmt in ("md", "json", "html"))):
            code, out = await asyncio.to_thread(_cli, rig, "transcripts", *args)
            if code == 0 or rig.shows(out):
                found.append(f"'interviewer transcripts {' '.join(args)}' as mallory gave alice's interview")
    return found


async def cli_list_and_export_all(rig: IsolationRig) -> list[str]:
    assert rig.core is not None
    found = []
    for args in (["transcripts", "list"], ["transcripts", "export", "--all", "-f", "json"], ["progress"]):
        code, out = await asyncio.to_thread(_cli, rig, *args)
        if rig.shows(out) or rig.core.session.id[:8] in out:
            found.append(f"'interviewer {' '.join(args)}' as mallory shows alice's interview")
    return found


async def cli_delete(rig: IsolationRig) -> list[str]:
    assert rig.core is not None
    code, out = await asyncio.to_thread(_cli, rig, "transcripts", "delete", rig.core.session.id[:8], "--yes")
    found = ["'interviewer transcripts delete' as mallory succeeded"] if code == 0 else []
    await asyncio.to_thread(_cli, rig, "transcripts", "delete", "--all", "--yes")
    return found + rig.tampered(rig.core)


# Slack probes (the real Bolt app; its Web API is MockSlackAPI on 127.0.0.1)

SIGNING = "isolation-signing-secret"


def _signed(body: str, content_type: str, secret: str = SIGNING) -> Any:
    verifier = SignatureVerifier(secret)
    request_class = AsyncBoltRequest
    stamp = str(int(time.time()))
    headers = {"content-type": [content_type], "x-slack-request-timestamp": [stamp],
               "x-slack-signature": [verifier.generate_signature(timestamp=stamp, body=body)]}
    return request_class(body=body, headers=headers)


def _slash(mock: MockSlackAPI, user: str, text: str, secret: str = SIGNING) -> Any:
    body = urlencode({"team_id": TEAM, "channel_id": SLACK_CHANNEL, "user_id": user, "command": "/interview", "text": text,
                      "response_url": f"{mock.url}response_url.{user}", "trigger_id": "trig"})
    return _signed(body, "application/x-www-form-urlencoded", secret)


def _slack_event(event: dict, event_id: str, secret: str = SIGNING) -> Any:
    body = json.dumps({"team_id": TEAM, "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event})
    return _signed(body, "application/json", secret)


def _in_thread(thread: str, user: str, text: str, ts: str) -> dict:
    return {"type": "message", "channel": SLACK_CHANNEL, "channel_type": "channel", "user": user, "text": text, "ts": ts, "thread_ts": thread}


def _slack_button(session_id: str, thread: str, user: str, name: str, secret: str = SIGNING) -> Any:
    payload = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "channel": {"id": SLACK_CHANNEL},
               "api_app_id": "A1", "trigger_id": "trig", "response_url": "http://127.0.0.1:9/unused",
               "container": {"type": "message", "message_ts": "x", "channel_id": SLACK_CHANNEL},
               "message": {"ts": "1700000000.999999", "thread_ts": thread},
               "actions": [{"type": "button", "action_id": f"interview_{name}", "value": session_id, "action_ts": f"{time.time():.6f}"}]}
    return _signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", secret)


def _slack_app(interviewer: Interviewer, mock: MockSlackAPI, token: str, signing: str) -> Any:
    client = AsyncWebClient(token=token, base_url=mock.url)
    app, _ = slack_server.build_slack_app(interviewer, token=token, signing_secret=signing, client=client)
    return app


async def _slack_victim(rig: IsolationRig, mock: MockSlackAPI) -> None:
    app = _slack_app(rig.interviewer, mock, "xoxb-isolation", SIGNING)
    await app.async_dispatch(_slash(mock, ALICE_SLACK, "--questions 2"))
    await mock.wait_for_async("chat.postMessage", 2)
    key_prefix = f"slack:{TEAM}:{SLACK_CHANNEL}:"
    session = rig.store.latest_unfinished(f"slack:{TEAM}:{ALICE_SLACK}", "slack")
    assert session is not None and session.session_key.startswith(key_prefix)
    thread = session.session_key.removeprefix(key_prefix)
    await app.async_dispatch(_slack_event(_in_thread(thread, ALICE_SLACK, _answer(rig, "alice"), "1800000000.000001"), rig.next_event()))
    await mock.wait_for_async("chat.postMessage", 3)
    await asyncio.sleep(SETTLE)
    rig.slack_app, rig.slack_mock, rig.slack_thread = app, mock, thread
    rig.slack = Victim(session, len(rig.store.turns(session.id)))


def _to_mallory(rig: IsolationRig, since: int) -> list[str]:
    """Everything Slack was asked to show mallory (ephemerals, her response_url) or post in alice's thread."""
    assert rig.slack_mock is not None
    texts = []
    for method, params in rig.slack_mock.calls[since:]:
        visible = (method == f"response_url.{MALLORY_SLACK}" or params.get("user") == MALLORY_SLACK
                   or params.get("thread_ts") == rig.slack_thread or method == "chat.postMessage")
        if visible:
            texts.append(json.dumps(params))
    return texts


async def _slack_try(rig: IsolationRig, requests: list[Any], expect: str | None, count: int) -> list[str]:
    assert rig.slack_mock is not None and rig.slack is not None
    since = len(rig.slack_mock.calls)
    posts_before = len(rig.slack_mock.of("chat.postMessage"))
    expected_before = len(rig.slack_mock.of(expect)) if expect else 0
    for request in requests:
        await rig.slack_app.async_dispatch(request)
    if expect:  # the listeners run as background tasks: wait for their answers, then a little more
        await rig.slack_mock.wait_for_async(expect, expected_before + count)
    await asyncio.sleep(SETTLE)
    found = [f"Slack showed mallory alice's answer: {t[:120]}" for t in _to_mallory(rig, since) if rig.shows(t)]
    posted = len(rig.slack_mock.of("chat.postMessage")) - posts_before
    if posted and expect != "chat.postMessage":
        found.append(f"{posted} message(s) posted in Slack on mallory's behalf")
    return found + rig.tampered(rig.slack)


async def slack_show_and_history(rig: IsolationRig) -> list[str]:
    assert rig.slack is not None and rig.slack_mock is not None
    ident = rig.slack.session.id
    requests = [_slash(rig.slack_mock, MALLORY_SLACK, f"show {ident}"), _slash(rig.slack_mock, MALLORY_SLACK, f"show {ident[:8]}"),
                _slash(rig.slack_mock, MALLORY_SLACK, "history")]
    found = await _slack_try(rig, requests, f"response_url.{MALLORY_SLACK}", 3)
    listing = " ".join(json.dumps(p) for p in rig.slack_mock.of(f"response_url.{MALLORY_SLACK}")[-1:])
    if ident[:8] in listing:
        found.append("mallory's Slack history lists alice's interview")
    return found


async def slack_thread_reply(rig: IsolationRig) -> list[str]:
    """Mallory answers in alice's thread, plainly and by mentioning the bot."""
    assert rig.slack_mock is not None
    said = _in_thread(rig.slack_thread, MALLORY_SLACK, f"mallory {rig.intruder} answers for alice", "1800000000.000009")
    mention = {**said, "type": "app_mention", "text": f"<@UBOT> {said['text']}", "ts": "1800000000.000010"}
    commands = [_slack_event({**said, "text": word, "ts": f"1800000000.00002{n}"}, rig.next_event()) for n, word in enumerate(("hint", "skip", "end"))]
    requests = [_slack_event(said, rig.next_event()), _slack_event(mention, rig.next_event()), *commands]
    return await _slack_try(rig, requests, "chat.postEphemeral", 4)


async def slack_buttons(rig: IsolationRig) -> list[str]:
    assert rig.slack is not None
    requests = [_slack_button(rig.slack.session.id, rig.slack_thread, MALLORY_SLACK, name) for name in ("hint", "skip", "end")]
    return await _slack_try(rig, requests, "chat.postEphemeral", 3)


async def slack_direct_message(rig: IsolationRig) -> list[str]:
    """A top-level DM from mallory must not be routed into any interview of alice's."""
    dm = {"type": "message", "channel": f"D{MALLORY_SLACK}", "channel_type": "im", "user": MALLORY_SLACK,
          "text": f"mallory {rig.intruder} answers", "ts": "1810000000.000001"}
    found = await _slack_try(rig, [_slack_event(dm, rig.next_event())], "chat.postMessage", 1)
    return found


# Discord probes (discord.py objects as spec'd mocks, the real DiscordChannel and core)

def _discord_member(user_id: int, name: str) -> MagicMock:
    user = MagicMock(spec=discord.Member)
    user.id, user.display_name, user.name, user.mention, user.bot = user_id, name, name, f"<@{user_id}>", False
    return user


def _discord_thread(thread_id: int) -> MagicMock:
    place = MagicMock(spec=discord.Thread)
    place.id, place.mention = thread_id, f"<#{thread_id}>"
    place.send, place.add_user = AsyncMock(), AsyncMock()
    return place


def _discord_interaction(user: MagicMock, channel: MagicMock) -> MagicMock:
    event = MagicMock(spec=discord.Interaction)
    event.id, event.user, event.channel = int(time.time_ns() % 10**15), user, channel
    event.response = MagicMock(spec=discord.InteractionResponse)
    event.response.defer = AsyncMock()
    event.followup = MagicMock(spec=discord.Webhook)
    event.followup.send = AsyncMock()
    return event


def _discord_message(author: MagicMock, channel: MagicMock, content: str) -> MagicMock:
    sent = MagicMock(spec=discord.Message)
    sent.id, sent.author, sent.channel, sent.content = time.time_ns() % 10**15, author, channel, content
    sent.reply = AsyncMock()
    return sent


def _discord_said(*mocks: MagicMock) -> str:
    """Every argument the bot handed to Discord through these mocks, as one text."""
    parts = []
    for mock in mocks:
        for call in mock.await_args_list:
            parts += [repr(a) for a in call.args]
            for value in call.kwargs.values():
                parts.append(repr(value))
                for embed in value if isinstance(value, list) else []:
                    parts.append(json.dumps(embed.to_dict()) if hasattr(embed, "to_dict") else repr(embed))
    return "\n".join(parts)


async def _discord_victim(rig: IsolationRig) -> None:
    channel = discord_adapter.DiscordChannel(rig.interviewer)
    alice = _discord_member(ALICE_DISCORD, "alice")
    place = _discord_thread(4_200_000_000_000_001)
    start = _discord_interaction(alice, MagicMock(spec=discord.TextChannel))
    start.channel.create_thread = AsyncMock(return_value=place)
    await channel.start(start, None, 2)
    await channel.on_message(_discord_message(alice, place, _answer(rig, "alice")), _discord_member(999, "bot"))
    session = rig.store.active_session(discord_adapter.session_key(place.id))
    assert session is not None
    rig.discord_channel, rig.discord_place = channel, place
    rig.discord = Victim(session, len(rig.store.turns(session.id)))


def _mallory_discord() -> MagicMock:
    return _discord_member(MALLORY_DISCORD, "mallory")


async def discord_show_and_history(rig: IsolationRig) -> list[str]:
    assert rig.discord is not None
    found = []
    for ident in (rig.discord.session.id, rig.discord.session.id[:8]):
        asked = _discord_interaction(_mallory_discord(), rig.discord_place)
        await rig.discord_channel.show(asked, ident)
        if rig.shows(_discord_said(asked.followup.send)):
            found.append(f"Discord /interview show {ident} showed mallory alice's answer")
    asked = _discord_interaction(_mallory_discord(), rig.discord_place)
    await rig.discord_channel.history(asked)
    said = _discord_said(asked.followup.send)
    if rig.shows(said) or rig.discord.session.id[:8] in said:
        found.append("mallory's Discord history lists alice's interview")
    return found + rig.tampered(rig.discord)


async def _discord_try(rig: IsolationRig, act: Callable[[], Awaitable[list[MagicMock]]]) -> list[str]:
    assert rig.discord is not None
    sends = len(rig.discord_place.send.await_args_list)
    seen = await act()
    found = ["Discord showed mallory alice's answer" for m in seen if rig.shows(_discord_said(m))]
    if len(rig.discord_place.send.await_args_list) != sends:
        found.append("the bot posted in alice's thread on mallory's behalf")
    return found + rig.tampered(rig.discord)


async def discord_thread_message(rig: IsolationRig) -> list[str]:
    async def act() -> list[MagicMock]:
        replies = []
        for text in (f"mallory {rig.intruder} answers for alice", "hint", "skip", "end", f"<@999> {rig.intruder}"):
            said = _discord_message(_mallory_discord(), rig.discord_place, text)
            await rig.discord_channel.on_message(said, _discord_member(999, "bot"))
            replies.append(said.reply)
        return replies

    return await _discord_try(rig, act)


async def discord_buttons_and_end(rig: IsolationRig) -> list[str]:
    assert rig.discord is not None

    async def act() -> list[MagicMock]:
        seen = []
        for action in ("hint", "skip", "end"):
            press = _discord_interaction(_mallory_discord(), rig.discord_place)
            await rig.discord_channel.on_button(press, action, rig.discord.session.id)
            seen.append(press.followup.send)
        ended = _discord_interaction(_mallory_discord(), rig.discord_place)
        await rig.discord_channel.end(ended)
        return [*seen, ended.followup.send]

    return await _discord_try(rig, act)


async def owner_views(rig: IsolationRig) -> dict[str, bool]:
    """The same read paths used by alice herself: each must show her answer, or the probes above
    would report 0 leaks for a path that shows nothing to anyone."""
    assert rig.core is not None and rig.slack is not None and rig.discord is not None and rig.slack_mock is not None
    views: dict[str, bool] = {}
    record = await rig.interviewer.transcript_of("alice", rig.core.session.id[:8])
    views["core.transcript_of"] = record is not None and rig.shows(json.dumps(record.model_dump(mode="json")))
    code, out = await asyncio.to_thread(_cli, rig, "transcripts", "export", rig.core.session.id[:8], "-f", "json", user="alice")
    views["cli.export"] = code == 0 and rig.shows(out)
    before = len(rig.slack_mock.of(f"response_url.{ALICE_SLACK}"))
    await rig.slack_app.async_dispatch(_slash(rig.slack_mock, ALICE_SLACK, f"show {rig.slack.session.id[:8]}"))
    shown = await rig.slack_mock.wait_for_async(f"response_url.{ALICE_SLACK}", before + 1)
    views["slack.show"] = rig.shows(json.dumps(shown[-1]))
    asked = _discord_interaction(_discord_member(ALICE_DISCORD, "alice"), rig.discord_place)
    await rig.discord_channel.show(asked, rig.discord.session.id[:8])
    views["discord.show"] = rig.shows(_discord_said(asked.followup.send))
    return views


Probe = Callable[[IsolationRig], Awaitable[list[str]]]
ISOLATION_PATHS: dict[str, Probe] = {
    "core.transcript_of": core_transcript_of,
    "core.history": core_history,
    "core.handle": core_handle,
    "cli.show_export": cli_read,
    "cli.list_export_all_progress": cli_list_and_export_all,
    "cli.delete": cli_delete,
    "slack.show_history": slack_show_and_history,
    "slack.thread_reply": slack_thread_reply,
    "slack.buttons": slack_buttons,
    "slack.direct_message": slack_direct_message,
    "discord.show_history": discord_show_and_history,
    "discord.thread_message": discord_thread_message,
    "discord.buttons_end": discord_buttons_and_end,
}


async def check_isolation_async(bank: RubricBank | None = None, paths: list[str] | None = None) -> IsolationReport:
    """Try every path (or the named ones) on one rig; each path's leaks are counted separately."""
    report = IsolationReport()
    async with isolation_rig(bank) as rig:
        for name in paths or list(ISOLATION_PATHS):
            found = await ISOLATION_PATHS[name](rig)
            report.paths[name] = len(found)
            report.details += [f"{name}: {problem}" for problem in found]
    return report


def check_isolation(bank: RubricBank | None = None) -> IsolationReport:
    """Mallory against alice's interviews on every path; see the module docstring."""
    return asyncio.run(check_isolation_async(bank))


# --- secrets --------------------------------------------------------------------------------------


SECRET_VARIABLES = ("INTERVIEWER_API_KEY", "OPENAI_API_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                    "SLACK_APP_TOKEN", "DISCORD_TOKEN")
LOGGERS = ("", "interviewer", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "httpcore", "openai",
           "slack_bolt", "slack_sdk", "interviewer.slack.bolt", "discord", "aiohttp", "asyncio", "sqlalchemy")


def fake_secrets() -> dict[str, str]:
    """Unique, realistic-looking fake secrets: a hit can only come from this run."""
    tail = lambda: random_secrets.token_hex(16)  # noqa: E731 - a one-line helper
    return {
        "INTERVIEWER_API_KEY": f"sk-fake-{tail()}",
        "OPENAI_API_KEY": f"sk-fake-openai-{tail()}",
        "SLACK_BOT_TOKEN": f"xoxb-fake-{tail()}",
        "SLACK_SIGNING_SECRET": f"fake-signing-{tail()}",
        "SLACK_APP_TOKEN": f"xapp-fake-{tail()}",
        "DISCORD_TOKEN": f"fake-discord.{tail()}.{tail()}",
    }


def _needles(secrets: Mapping[str, str]) -> dict[str, str]:
    """What to look for: each secret's random part (32 hex characters), which also catches a
    secret whose prefix was rewritten; a masked form (``sk-fa...cdef``) does not match."""
    return {name: value.rsplit("-", 1)[-1].split(".")[-1] for name, value in secrets.items()}


def count_secrets(outputs: Mapping[str, str | bytes], secrets: Mapping[str, str]) -> dict[str, int]:
    """Occurrences of any secret per output (only outputs with a hit are listed)."""
    found: dict[str, int] = {}
    for source, content in outputs.items():
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        hits = sum(text.count(needle) for needle in _needles(secrets).values())
        if hits:
            found[source] = hits
    return found


@dataclass
class SecretReport:
    """Secrets found in our outputs after a run with fake ones set; ``found`` must be 0."""

    found: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    outputs: int = 0
    bytes_scanned: int = 0
    log_records: int = 0
    seconds: float = 0.0
    exercised: dict[str, bool] = field(default_factory=dict)  # which error paths really ran

    def line(self) -> str:
        return f"secrets {self.found} found ({self.outputs} outputs, {self.log_records} log records, {self.bytes_scanned:,} bytes scanned)"


class _Collect(logging.Handler):
    """Every record, formatted with its traceback, as a handler in production would write it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is itself worth seeing
            self.lines.append(f"unformattable record from {record.name}: {record.msg!r} {record.args!r}")


@contextlib.contextmanager
def captured_logs() -> Iterator[_Collect]:
    """All loggers at DEBUG into one collector (litellm's included), restored afterwards."""
    from interviewer.grading.llm.client import litellm_module

    litellm_module()  # it lowers LiteLLM's logger to WARNING on first use: raise it again after
    handler = _Collect()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    # Libraries' own stream handlers (litellm has one) write to the stderr they saw at import:
    # point them at a buffer, so what they print is scanned too and not shown.
    streams = [h for name in LOGGERS if name for h in logging.getLogger(name).handlers  # root's belong to the host
               if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    buffer = io.StringIO()
    previous = [h.stream for h in streams]
    for h in streams:  # not setStream: it flushes the old stream, which a test runner may have closed
        h.stream = buffer
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        for name in LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        for stream_handler, stream in zip(streams, previous):
            stream_handler.stream = stream
        handler.lines.append(buffer.getvalue())


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Outputs(dict):
    """Named outputs of a run, to be scanned."""

    def add(self, name: str, content: str | bytes) -> None:
        self[name if name not in self else f"{name}#{len(self)}"] = content


def _script_failures(stub: StubLLMServer, key: str) -> None:
    """The error paths: a provider echoing the key (as OpenAI's 401 does), 5xx with the key in
    the body twice (first try and retry), then an unusable reply that needs the repair request."""
    stub.push(
        StubReply(status=401, content=f"Incorrect API key provided: {key}. You can find your API key at the dashboard."),
        StubReply(status=500, content=f"upstream failed for key {key}"),
        StubReply(status=500, content=f"upstream failed again for Bearer {key}"),
        StubReply(content="this is not the JSON object you asked for"),  # a model never sees the key to echo it
    )


async def _core_run(settings: Any, bank: RubricBank, store: Store, stub: StubLLMServer, outputs: _Outputs) -> Interviewer:
    """Three answers through the LLM engine configured from the environment, failures scripted."""
    from interviewer.app import model_config
    from interviewer.grading.llm.engine import LLMEngine

    config = model_config(settings)
    outputs.add("repr(settings, config)", f"{settings!r} {config!r} {settings.engine_label}")
    engine = LLMEngine(config, fallback=ScriptedEngine(rule=keyword_rule, name="offline", model="fallback"))
    interviewer = Interviewer(bank, engine, store)
    _script_failures(stub, config.api_key or "")
    options = SessionOptions(questions=3, max_follow_ups=0)
    session, reply = await interviewer.start(user_key=settings.user, channel="repl", options=options)
    outputs.add("reply", reply.text + json.dumps([m.data for m in reply.messages], default=str))
    for n in range(3):
        reply = await interviewer.handle(Turn(session_key=session.session_key, user_key=settings.user,
                                              text=f"Answer {n}: retrieval grounds the model in passages."))
        outputs.add("reply", reply.text + json.dumps([m.data for m in reply.messages], default=str))
    return interviewer


async def _slack_run(interviewer: Interviewer, secrets: Mapping[str, str], outputs: _Outputs) -> None:
    """An interview in Slack with the fake token and signing secret, a forged request and a failing post."""
    with MockSlackAPI(team_id=TEAM) as mock:
        app = _slack_app(interviewer, mock, secrets["SLACK_BOT_TOKEN"], secrets["SLACK_SIGNING_SECRET"])
        forged = await app.async_dispatch(_slash(mock, ALICE_SLACK, "--questions 1", secret="wrong-secret"))
        outputs.add("slack forged response", f"{forged.status} {forged.body} {forged.headers}")
        response = await app.async_dispatch(_slash(mock, ALICE_SLACK, "--questions 1", secret=secrets["SLACK_SIGNING_SECRET"]))
        outputs.add("slack response", f"{response.status} {response.body} {response.headers}")
        await mock.wait_for_async("chat.postMessage", 2)
        session = interviewer.store.latest_unfinished(f"slack:{TEAM}:{ALICE_SLACK}", "slack")
        assert session is not None
        thread = session.session_key.rsplit(":", 1)[-1]
        mock.fail("chat.postMessage", "invalid_auth")  # the reply's post fails: the error path logs
        said = _in_thread(thread, ALICE_SLACK, "retrieval grounds answers in passages", "1800000000.000001")
        await app.async_dispatch(_slack_event(said, "EvSecret1", secret=secrets["SLACK_SIGNING_SECRET"]))
        await mock.wait_for_async("chat.postMessage", 4)
        await asyncio.sleep(SETTLE)
        assert mock.tokens and set(mock.tokens) == {secrets["SLACK_BOT_TOKEN"]}  # the wire carries it, as it must
        outputs.add("slack posts", json.dumps(mock.calls))


def _cli_outputs(folder: Path, session_ids: list[str], outputs: _Outputs) -> None:
    """show and export (md, json, html, to stdout and to a file) through the CLI, in process."""
    from typer.testing import CliRunner

    from interviewer.cli import main as cli

    for ident in session_ids:
        for args in (["show", ident], *(["export", ident, "-f", fmt] for fmt in ("md", "json", "html"))):
            result = CliRunner().invoke(cli.app, ["transcripts", *args], env={"COLUMNS": "200"})
            outputs.add(f"cli transcripts {args[0]} {args[-1]}", result.output + repr(result.exception))
    for fmt in ("md", "json", "html"):
        target = folder / f"export-all.{fmt}"
        result = CliRunner().invoke(cli.app, ["transcripts", "export", "--all", "-f", fmt, "-o", str(target)])
        outputs.add(f"cli export --all {fmt}", result.output)
        outputs.add(f"export file {fmt}", target.read_bytes() if target.exists() else b"")


class _RefuseEveryToken(BaseHTTPRequestHandler):
    """A stand-in for discord.com's API that answers every request 401, as for a revoked token."""

    def _refuse(self) -> None:
        body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: its access log is not our output."""


def _discord_login_failure(secrets: Mapping[str, str], outputs: _Outputs, interviewer: Interviewer) -> None:
    """Discord rejecting the token (a local server answering 401): the error we show, and what
    discord.py logged on the way, are scanned."""
    discord_http = discord.http
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefuseEveryToken)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base, discord_http.Route.BASE = discord_http.Route.BASE, f"http://127.0.0.1:{server.server_address[1]}/api/v10"
    try:
        discord_server.serve(interviewer, secrets["DISCORD_TOKEN"], guild_id=None,
                                                     message_content=True, default_questions=1)
        outputs.add("discord login error", "no error: the fake token was accepted")
    except Exception as exc:  # ConfigError is expected; whatever it is, its text is scanned
        outputs.add("discord login error", f"{type(exc).__name__}: {exc}")
    finally:
        discord_http.Route.BASE = base
        server.shutdown()
        server.server_close()


async def scan_for_secrets_async(bank: RubricBank | None = None, folder: Path | None = None) -> SecretReport:
    """Run the interview paths with fake secrets set and count the secrets in what we produced."""
    from interviewer.config import load_settings
    from interviewer.interview.records import load_records
    from interviewer.review.export import FORMATS, render

    started = time.perf_counter()
    secrets = fake_secrets()
    bank = bank or RubricBank.load()
    outputs = _Outputs()
    with tempfile.TemporaryDirectory(prefix="interviewer-secrets-") as scratch:
        where = folder or Path(scratch)
        stub = StubLLMServer(rule=grading_rule("partial")).start()
        env = {**secrets, "INTERVIEWER_MODEL": "openai/stub-model", "INTERVIEWER_API_BASE": stub.url,
               "INTERVIEWER_DATA_DIR": str(where), "INTERVIEWER_DATABASE_URL": f"sqlite:///{where / 'interviewer.db'}",
               "INTERVIEWER_USER": "alice", "INTERVIEWER_LLM_RETRIES": "1", "INTERVIEWER_LLM_TIMEOUT": "5"}
        stdout, stderr = io.StringIO(), io.StringIO()
        try:
            with environment(env), captured_logs() as logs, contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                settings = load_settings()
                store = Store(settings.resolved_database_url)
                try:
                    interviewer = await _core_run(settings, bank, store, stub, outputs)
                    await _slack_run(interviewer, secrets, outputs)
                    await asyncio.to_thread(_discord_login_failure, secrets, outputs, interviewer)
                    records = load_records(store, bank, user="alice")
                    for fmt in FORMATS:
                        outputs.add(f"export {fmt}", render(records, fmt, "alice"))
                    await asyncio.to_thread(_cli_outputs, where, [s.id for s in store.sessions("alice")], outputs)
                finally:
                    store.close()
        finally:
            stub.stop()
        outputs.add("logs", "\n".join(logs.lines))
        outputs.add("stdout", stdout.getvalue())
        outputs.add("stderr", stderr.getvalue())
        for path in sorted(where.rglob("*")):  # the SQLite file (and any journal), log files, exports
            if path.is_file():
                outputs.add(f"file {path.name}", path.read_bytes())
    by_source = count_secrets(outputs, secrets)
    return SecretReport(found=sum(by_source.values()), by_source=by_source, outputs=len(outputs),
                        bytes_scanned=sum(len(v) for v in outputs.values()), log_records=len(logs.lines),
                        seconds=time.perf_counter() - started, exercised=_exercised(outputs))


def _exercised(outputs: Mapping[str, str | bytes]) -> dict[str, bool]:
    """Evidence that the run went down each error path: a scan of a path not taken proves nothing."""
    logs = str(outputs.get("logs", ""))
    return {
        "provider error echoing the key (scrubbed)": "Incorrect API key provided: ***" in logs,
        "5xx retried, then the offline fallback": "model call failed (server, attempt 2)" in logs,
        "unusable output and the repair request": "asking once for a repair" in logs,
        "litellm's own DEBUG records": " DEBUG LiteLLM: " in logs,
        "a Slack post failing": "could not post to Slack" in logs,
        "a forged Slack request refused": str(outputs.get("slack forged response", "")).startswith("401"),
        "Discord refusing the token": "Discord rejected DISCORD_TOKEN" in str(outputs.get("discord login error", "")),
        "exports in md, json and html": all(outputs.get(f"export {fmt}") for fmt in ("md", "json", "html")),
        "the SQLite file": any(name.startswith("file interviewer.db") for name in outputs),
    }


def scan_for_secrets(bank: RubricBank | None = None) -> SecretReport:
    """See ``scan_for_secrets_async``."""
    return asyncio.run(scan_for_secrets_async(bank))


if __name__ == "__main__":
    isolation = check_isolation()
    print(isolation.line())
    for detail in isolation.details:
        print("  ", detail)
    scan = scan_for_secrets()
    print(scan.line(), f"({scan.seconds:.1f} s)")
    for source, hits in scan.by_source.items():
        print("  ", source, hits)
