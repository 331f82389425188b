"""One contract, every channel: the same interview behaves the same in the REPL, Slack and Discord.

Each driver starts an interview and says things the way its platform delivers them (typed lines,
signed Slack events, Discord messages) and returns what the candidate would see as plain text.
The core does the interviewing; these tests prove the adapters only translate.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from rich.console import Console

from interviewer.domain import SessionOptions, Turn
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.testing import ScriptedEngine, keyword_rule
from harness.slack_stub import MockSlackAPI

FIXTURES = Path(__file__).parent / "fixtures"


class ReplDriver:
    chat = False

    def __init__(self, interviewer: Interviewer) -> None:
        from interviewer_adapters.repl import ReplRenderer

        self.interviewer = interviewer
        self.buffer = io.StringIO()
        self.renderer = ReplRenderer(Console(file=self.buffer, width=200, force_terminal=False))
        self.session = None

    async def start(self, user: str) -> str:
        self.session, reply = await self.interviewer.start(user_key=f"repl:{user}", channel="repl", options=SessionOptions(topics=["tiny"], questions=1))
        return self._show(reply)

    async def say(self, user: str, text: str) -> str:
        reply = await self.interviewer.handle(Turn(session_key=self.session.session_key, user_key=f"repl:{user}", text=text))
        return self._show(reply)

    def _show(self, reply) -> str:
        start = self.buffer.tell()
        self.renderer.render(reply)
        return self.buffer.getvalue()[start:]

    async def close(self) -> None:
        return None


class SlackDriver:
    chat = True

    def __init__(self, interviewer: Interviewer) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        from interviewer_adapters.slack_server import build_slack_app

        self.interviewer = interviewer
        self.mock = MockSlackAPI().start()
        self.app, _ = build_slack_app(interviewer, token="xoxb-t", signing_secret="s", client=AsyncWebClient(token="xoxb-t", base_url=self.mock.url))
        self.thread = None
        self.events = 0

    def _request(self, body: str, content_type: str):
        from slack_bolt.request.async_request import AsyncBoltRequest
        from slack_sdk.signature import SignatureVerifier

        ts = str(int(time.time()))
        signature = SignatureVerifier("s").generate_signature(timestamp=ts, body=body)
        return AsyncBoltRequest(body=body, headers={"content-type": [content_type], "x-slack-request-timestamp": [ts], "x-slack-signature": [signature]})

    async def _posted_after(self, seen: int, user: str) -> str:
        """What a user sees after a request: thread posts and ephemerals, once the app goes quiet."""
        for _ in range(200):
            before = len(self.mock.calls)
            await _sleep(0.05)
            if len(self.mock.calls) == before and len(self.mock.calls) > seen:
                break
        texts = []
        for method, params in self.mock.calls[seen:]:
            if method == "chat.postEphemeral" and params.get("user") != user:
                continue
            texts.append(params.get("text", ""))
            texts += [_block_text(b) for b in params.get("blocks") or []]
        return "\n".join(texts)

    async def start(self, user: str) -> str:
        body = urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "command": "/interview", "text": "tiny -n 1",
                          "response_url": f"{self.mock.url}response_url.{user}"})
        await self.app.async_dispatch(self._request(body, "application/x-www-form-urlencoded"))
        shown = await self._posted_after(0, user)
        [summary] = self.interviewer.store.list_sessions()
        self.thread = summary.session.session_key.rsplit(":", 1)[-1]     # the root message's ts
        return shown

    async def say(self, user: str, text: str) -> str:
        self.events += 1
        seen = len(self.mock.calls)
        event = {"type": "message", "channel": "C1", "channel_type": "channel", "user": user, "text": text,
                 "ts": f"1800000000.{self.events:06d}", "thread_ts": self.thread}
        body = json.dumps({"team_id": "T1", "api_app_id": "A1", "type": "event_callback", "event_id": f"Ev{self.events}",
                           "event_time": 1, "event": event})
        await self.app.async_dispatch(self._request(body, "application/json"))
        return await self._posted_after(seen, user)

    async def close(self) -> None:
        self.mock.stop()
        assert self.mock.breaches == [], "a message Slack would refuse, or one that pings a channel"


class DiscordDriver:
    """Real discord.py objects; what the candidate sees is read off the JSON sent (discord_wire)."""

    chat = True

    def __init__(self, interviewer: Interviewer) -> None:
        from discord_wire import open_wire
        from interviewer_adapters.discord import DiscordChannel
        from interviewer_adapters.discord_server import InterviewBot

        self.channel = DiscordChannel(interviewer)
        self.bot = InterviewBot(self.channel)
        self.patches = pytest.MonkeyPatch()
        self.wire = open_wire(self.bot, self.patches)
        self.place = None
        self.users: dict[str, object] = {}

    def _user(self, name: str):
        if name not in self.users:
            self.users[name] = self.wire.member(name=name)
        return self.users[name]

    def _sent_since(self, seen: int, extra: list[str]) -> str:
        return "\n".join(self.wire.sent_texts(self.place)[seen:] + extra)

    async def start(self, user: str) -> str:
        event = self.wire.interaction(self._user(user), self.wire.text_channel())
        await self.bot.tree.get_command("interview").get_command("start").callback(event, topic="tiny", questions=1)
        self.place = self.wire.threads_opened[-1]
        return self._sent_since(0, [body["content"] for body in self.wire.followups(event)])

    async def say(self, user: str, text: str) -> str:
        seen = len(self.wire.posted(self.place))
        await self.channel.on_message(self.wire.message(self._user(user), self.place, text), self.bot.user)
        return self._sent_since(seen, [])

    async def close(self) -> None:
        self.patches.undo()
        assert self.wire.breaches == [], "a message Discord would refuse (400)"


def _block_text(block: dict) -> str:
    if "text" in block and isinstance(block["text"], dict):
        return block["text"].get("text", "")
    return " ".join(e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict) and isinstance(e.get("text"), str))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


DRIVERS = {"repl": ReplDriver, "slack": SlackDriver, "discord": DiscordDriver}


def test_every_channel_this_project_registers_has_a_contract_driver() -> None:
    """A new shipped channel cannot skip the contract: registering it without a driver fails here.
    (A third-party channel proves itself the same way through ``interviewer serve``: test_plugins.)"""
    from interviewer.registry import installed_channels

    plugins, broken = installed_channels()
    shipped = {p.name for p in plugins if p.command.__module__.startswith("interviewer_adapters.")}
    assert broken == [] and {"slack", "discord"} <= shipped
    assert shipped <= set(DRIVERS), f"no contract driver for {sorted(shipped - set(DRIVERS))}"


async def _world(name: str, store):
    engine = ScriptedEngine(rule=keyword_rule)
    interviewer = Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, store)
    return DRIVERS[name](interviewer), engine, store


@pytest.fixture(params=sorted(DRIVERS))
async def world(request, store):
    driver, engine, store = await _world(request.param, store)
    yield driver, engine, store
    await driver.close()


@pytest.fixture(params=sorted(name for name, driver in DRIVERS.items() if driver.chat))
async def chat_world(request, store):
    driver, engine, store = await _world(request.param, store)
    yield driver, engine, store
    await driver.close()


async def test_a_whole_interview(world) -> None:
    driver, engine, store = world
    assert "What is omega?" in await driver.start("ada")
    assert "Which letter is omega?" in await driver.say("ada", "omega is the end")          # the follow-up
    assert "Last." in await driver.say("ada", "hint")
    final = await driver.say("ada", "omega is the last letter, greek")
    assert "Score 10.0/10" in final and "Interview summary" in final
    [summary] = store.list_sessions()
    assert summary.session.status == "finished" and summary.average_score == 10.0
    assert [t.kind for t in store.turns(summary.session.id)].count("answer") == 2
    assert len(engine.calls) == 2


async def test_an_empty_answer_is_asked_again(world) -> None:
    driver, engine, _ = world
    await driver.start("ada")
    assert "didn't catch an answer" in await driver.say("ada", "...")
    assert engine.calls == []


async def test_skip_scores_zero_and_shows_the_model_answer(world) -> None:
    driver, _, _ = world
    await driver.start("ada")
    shown = await driver.say("ada", "skip")
    assert "Score 0.0/10 (skipped)" in shown and "Omega is the last letter of the Greek alphabet" in shown


async def test_a_failed_grade_keeps_the_answer(world) -> None:
    driver, engine, store = world
    await driver.start("ada")
    engine.fail_times = 1
    assert "Your answer is saved" in await driver.say("ada", "omega is the end")
    [summary] = store.list_sessions()
    assert [t.kind for t in store.turns(summary.session.id)] == ["question", "answer"]


async def test_only_the_owner_can_answer(chat_world) -> None:
    driver, engine, store = chat_world                                    # a terminal has one user
    await driver.start("ada")
    refused = await driver.say("eve", "omega is the end")
    assert "This is <@" in refused and "'s interview" in refused
    assert engine.calls == []
