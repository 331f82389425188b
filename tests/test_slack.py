"""The Slack adapter through the real Bolt AsyncApp: signed HTTP requests dispatched to the app,
its WebClient pointed at MockSlackAPI on 127.0.0.1, the core with a scripted engine."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.testing import ScriptedEngine, keyword_rule
from interviewer_adapters.slack import Place, parse_request, session_key
from interviewer_adapters.slack_server import build_slack_app
from interviewer_adapters.slack_blocks import BLOCKS_PER_MESSAGE, SECTION_LIMIT, render
from harness.slack_stub import MockSlackAPI

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "test-signing-secret"
OWNER, OTHER, TEAM, CHANNEL = "U1OWNER", "U2OTHER", "T1", "C1"


@pytest.fixture
def slack():
    mock = MockSlackAPI(team_id=TEAM).start()
    yield mock
    mock.stop()
    assert mock.breaches == [], "a message Slack would refuse, or one that pings a channel"


@pytest.fixture
def rig(slack, store):
    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    engine = ScriptedEngine(rule=keyword_rule)
    interviewer = Interviewer(bank, engine, store)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    app, channel = build_slack_app(interviewer, token="xoxb-test", signing_secret=SECRET, client=client)
    return app, engine, slack, store


def signed(body: str, content_type: str, *, secret: str = SECRET, retry: int | None = None) -> AsyncBoltRequest:
    timestamp = str(int(time.time()))
    headers = {
        "content-type": [content_type],
        "x-slack-request-timestamp": [timestamp],
        "x-slack-signature": [SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)],
    }
    if retry is not None:
        headers["x-slack-retry-num"] = [str(retry)]
        headers["x-slack-retry-reason"] = ["http_timeout"]
    return AsyncBoltRequest(body=body, headers=headers)


def command(slack: MockSlackAPI, text: str, user: str = OWNER) -> AsyncBoltRequest:
    body = urlencode({
        "token": "x", "team_id": TEAM, "channel_id": CHANNEL, "user_id": user, "command": "/interview", "text": text,
        "response_url": f"{slack.url}response_url.{user}", "trigger_id": "trig",
    })
    return signed(body, "application/x-www-form-urlencoded")


def event(event: dict, event_id: str, **kw) -> AsyncBoltRequest:
    body = json.dumps({"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event})
    return signed(body, "application/json", **kw)


def reply_in_thread(thread: str, text: str, user: str = OWNER, ts: str = "1800000000.000001") -> dict:
    return {"type": "message", "channel": CHANNEL, "channel_type": "channel", "user": user, "text": text, "ts": ts, "thread_ts": thread}


def button(session_id: str, thread: str, name: str, user: str = OWNER) -> AsyncBoltRequest:
    payload = {
        "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user}, "channel": {"id": CHANNEL},
        "api_app_id": "A1", "trigger_id": "trig", "response_url": "http://127.0.0.1:9/unused",
        "container": {"type": "message", "message_ts": "x", "channel_id": CHANNEL},
        "message": {"ts": "1700000000.999999", "thread_ts": thread},
        "actions": [{"type": "button", "action_id": f"interview_{name}", "value": session_id, "action_ts": f"{time.time():.6f}"}],
    }
    return signed(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


async def posted(slack: MockSlackAPI, count: int) -> list[dict]:
    return await slack.wait_for_async("chat.postMessage", count)


async def settle() -> None:
    """Let background listener tasks finish what they were doing."""
    await asyncio.sleep(0.2)


async def test_a_full_interview_in_a_thread(rig) -> None:
    app, engine, slack, store = rig
    response = await app.async_dispatch(command(slack, "tiny --questions 1"))
    assert response.status == 200
    root, first = await posted(slack, 2)
    assert root == {"channel": CHANNEL, "team_id": TEAM, "text": f"<@{OWNER}> is practising a mock interview. Answers go in this thread."}
    thread = "1700000000.000101"                                         # the mock's first ts: the root's
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    assert session is not None and session.user_key == f"slack:{TEAM}:{OWNER}" and session.channel == "slack"
    assert first["thread_ts"] == thread
    kinds = [b["type"] for b in first["blocks"]]
    assert kinds == ["section", "context", "section", "actions"]
    assert first["blocks"][0]["text"]["text"].startswith("Mock interview: 1 question on Tiny topic.")
    assert first["blocks"][1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Question 1/1 · Tiny topic · difficulty 2"}]}
    assert first["blocks"][2] == {"type": "section", "text": {"type": "mrkdwn", "text": "*What is omega?*"}}
    controls = first["blocks"][-1]
    assert [e["action_id"] for e in controls["elements"]] == ["interview_hint", "interview_skip", "interview_end"]
    [asked] = [t.seq for t in store.turns(session.id) if t.kind == "question"]
    assert {e["value"] for e in controls["elements"]} == {f"{session.id}:{asked}"}  # the session and the prompt
    assert controls["elements"][2]["style"] == "danger"

    await app.async_dispatch(event(reply_in_thread(thread, "omega is the end"), "Ev1"))   # a partial answer
    follow_up = (await posted(slack, 3))[2]
    assert follow_up["thread_ts"] == thread
    assert follow_up["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": ":speech_balloon: Thanks, that's a start. Which letter is omega?"}}
    assert follow_up["blocks"][-1]["type"] == "actions"

    await app.async_dispatch(button(session.id, thread, "hint"))
    hint = (await posted(slack, 4))[3]
    assert hint["thread_ts"] == thread
    assert hint["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": ":bulb: Hint: Last."}}

    await app.async_dispatch(button(session.id, thread, "end"))
    *_, feedback, = await posted(slack, 5)
    assert feedback["thread_ts"] == thread
    assert feedback["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Score 6.7/10", "emoji": True}}
    texts = [b.get("text", {}).get("text") for b in feedback["blocks"]]
    assert ":white_check_mark: Omega is the end.\n> omega is the end" in texts
    assert ":large_yellow_circle: Omega is the last letter.\n> omega is the end" in texts
    assert any(b["type"] == "header" and b["text"]["text"] == "Interview summary" for b in feedback["blocks"])
    assert not any(b["type"] == "actions" for b in feedback["blocks"])  # no buttons once it is over
    assert store.get_session(session.id).status == "finished"
    assert [c[0] for c in engine.calls] == ["tiny-two"]
    assert all(t == "xoxb-test" for t in slack.tokens)


async def test_a_forged_signature_is_rejected(rig) -> None:
    app, engine, slack, _ = rig
    forged = urlencode({"team_id": TEAM, "channel_id": CHANNEL, "user_id": OWNER, "command": "/interview", "text": "tiny"})
    response = await app.async_dispatch(signed(forged, "application/x-www-form-urlencoded", secret="not-the-secret"))
    assert response.status == 401
    stale = AsyncBoltRequest(body=forged, headers={"content-type": ["application/x-www-form-urlencoded"],
                                                  "x-slack-request-timestamp": ["1000000000"], "x-slack-signature": ["v0=00"]})
    assert (await app.async_dispatch(stale)).status == 401
    await settle()
    assert slack.of("chat.postMessage") == [] and engine.calls == []


async def test_a_retried_event_is_processed_once(rig) -> None:
    app, engine, slack, _ = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    thread = "1700000000.000101"
    answer = reply_in_thread(thread, "omega is the end, the last letter, greek")
    first = await app.async_dispatch(event(answer, "EvSame"))
    again = await app.async_dispatch(event(answer, "EvSame", retry=1))
    assert first.status == again.status == 200
    await posted(slack, 3)
    await settle()
    assert len(engine.calls) == 1
    assert len(slack.of("chat.postMessage")) == 3                          # root, question, feedback+summary


async def test_a_button_pressed_under_an_earlier_prompt_does_not_act_on_the_current_one(rig) -> None:
    app, _, slack, store = rig
    await app.async_dispatch(command(slack, "tiny --questions 1"))
    _, first = await posted(slack, 2)
    thread = first["thread_ts"]
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    stale_skip = first["blocks"][-1]["elements"][1]["value"]                # Skip, under the question
    await app.async_dispatch(event(reply_in_thread(thread, "omega is the end"), "Ev1"))   # a follow-up is asked now
    await posted(slack, 3)
    await app.async_dispatch(button(stale_skip, thread, "skip"))
    notice = (await posted(slack, 4))[3]
    assert "moved on" in json.dumps(notice["blocks"])
    assert [t.kind for t in store.turns(session.id)].count("command") == 0  # nothing was skipped


async def test_someone_else_cannot_answer_or_press_buttons(rig) -> None:
    app, engine, slack, store = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    thread = "1700000000.000101"
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    await app.async_dispatch(event(reply_in_thread(thread, "alpha is beta", user=OTHER), "Ev2"))
    await app.async_dispatch(button(session.id, thread, "skip", user=OTHER))
    refusals = await slack.wait_for_async("chat.postEphemeral", 2)
    for refusal in refusals:
        assert refusal["user"] == OTHER and refusal["thread_ts"] == thread
        assert refusal["text"] == f"This is <@{OWNER}>'s interview. Start your own with `/interview`."
    await settle()
    assert engine.calls == [] and len(slack.of("chat.postMessage")) == 2
    assert [t.kind for t in store.turns(session.id)] == ["question"]


async def test_unrelated_threads_own_messages_and_edits_are_ignored(rig) -> None:
    app, engine, slack, _ = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    thread = "1700000000.000101"
    await app.async_dispatch(event(reply_in_thread("1600000000.000001", "alpha is beta"), "Ev3"))        # another thread
    await app.async_dispatch(event({**reply_in_thread(thread, "alpha"), "bot_id": "BBOT", "user": "UBOT"}, "Ev4"))
    await app.async_dispatch(event({**reply_in_thread(thread, "alpha"), "subtype": "message_changed"}, "Ev5"))
    await app.async_dispatch(event({**reply_in_thread(thread, "alpha"), "thread_ts": None}, "Ev6"))  # channel chatter
    await settle()
    assert engine.calls == [] and len(slack.of("chat.postMessage")) == 2 and slack.of("chat.postEphemeral") == []


async def test_the_ack_does_not_wait_for_a_slow_model(rig) -> None:
    app, engine, slack, _ = rig
    engine.delay = 4.0                                                    # longer than Slack's 3 s
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    started = time.perf_counter()
    response = await app.async_dispatch(event(reply_in_thread("1700000000.000101", "omega is the end, the last letter, greek"), "Ev7"))
    acked = time.perf_counter() - started
    assert response.status == 200 and acked < 1.0
    assert len(slack.of("chat.postMessage")) == 2                          # still grading
    await slack.wait_for_async("chat.postMessage", 3, timeout=10)
    assert engine.calls[0][1] == "omega is the end, the last letter, greek"


async def test_mention_and_direct_message_start_interviews(rig) -> None:
    app, engine, slack, store = rig
    mention = {"type": "app_mention", "channel": CHANNEL, "user": OWNER, "text": "<@UBOT> start tiny -n 1", "ts": "1750000000.000001"}
    await app.async_dispatch(event(mention, "EvM"))
    question = (await posted(slack, 1))[0]
    assert question["thread_ts"] == "1750000000.000001"                  # the mention is the thread's root
    assert store.active_session(session_key(TEAM, CHANNEL, "1750000000.000001")) is not None

    dm = {"type": "message", "channel": "D1", "channel_type": "im", "user": OWNER, "text": "start tiny -n 1", "ts": "1760000000.000001"}
    await app.async_dispatch(event(dm, "EvD"))
    dm_question = (await posted(slack, 2))[1]
    assert dm_question["channel"] == "D1" and dm_question["thread_ts"] == "1760000000.000001"
    top_level = {**dm, "text": "kappa agreement and alpha is beta gamma delta epsilon zeta", "ts": "1760000000.000002"}
    await app.async_dispatch(event(top_level, "EvD2"))                   # answered outside the thread: still routed
    graded = (await posted(slack, 3))[2]
    assert graded["channel"] == "D1" and graded["thread_ts"] == "1760000000.000001"
    assert len(engine.calls) == 1


async def test_history_and_show_are_ephemeral_and_private(rig) -> None:
    app, _, slack, store = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    thread = "1700000000.000101"
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    await app.async_dispatch(event(reply_in_thread(thread, "omega is the end, the last letter, greek"), "Ev8"))
    await posted(slack, 3)
    await app.async_dispatch(command(slack, "history"))
    [history] = await slack.wait_for_async(f"response_url.{OWNER}", 1)
    assert history["response_type"] == "ephemeral"
    listing = " ".join(b["text"]["text"] for b in history["blocks"] if b["type"] == "section")
    assert f"`{session.id[:8]}`" in listing and "*10.0/10*" in listing
    await app.async_dispatch(command(slack, f"show {session.id[:8]}"))
    shown = (await slack.wait_for_async(f"response_url.{OWNER}", 2))[1]
    assert any("omega is the end, the last letter" in b.get("text", {}).get("text", "") for b in shown["blocks"])
    await app.async_dispatch(command(slack, f"show {session.id[:8]}", user=OTHER))   # not theirs
    [refused] = await slack.wait_for_async(f"response_url.{OTHER}", 1)
    assert f"You have no interview `{session.id[:8]}`" in refused["blocks"][0]["text"]["text"]
    await app.async_dispatch(command(slack, "history", user=OTHER))
    empty = (await slack.wait_for_async(f"response_url.{OTHER}", 2))[1]
    assert "no saved interviews" in empty["blocks"][0]["text"]["text"]


async def test_bad_requests_get_a_usage_message(rig) -> None:
    app, engine, slack, _ = rig
    await app.async_dispatch(command(slack, "nosuchtopic"))
    [unknown] = await slack.wait_for_async(f"response_url.{OWNER}", 1)
    assert "unknown topic 'nosuchtopic'" in unknown["text"] and "/interview [topic" in unknown["text"]
    await app.async_dispatch(command(slack, "tiny --questions lots"))
    bad = (await slack.wait_for_async(f"response_url.{OWNER}", 2))[1]
    assert "'lots' is not a number of questions" in bad["text"]
    assert slack.of("chat.postMessage") == [] and engine.calls == []


async def test_a_failing_turn_is_reported_in_the_thread(rig) -> None:
    app, engine, slack, store = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    engine.fail_times = 1
    thread = "1700000000.000101"
    await app.async_dispatch(event(reply_in_thread(thread, "alpha is beta"), "Ev9"))
    error = (await posted(slack, 3))[2]
    assert "Your answer is saved" in error["text"] and error["thread_ts"] == thread
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    assert [t.kind for t in store.turns(session.id)] == ["question", "answer"]   # nothing lost


def test_long_feedback_is_split_within_slack_limits() -> None:
    reply = Reply(session_id="s1", buttons=["hint", "skip", "end"])
    points = [{"id": f"p{n}", "text": f"Point {n} " + "x" * 500, "verdict": "covered", "evidence": "e" * 3500} for n in range(40)]
    reply.add("feedback", "long", score=7.0, points=points, misconceptions=[], notes=[], model_answer="m " * 4000)
    messages = render(reply)
    assert len(messages) >= 2
    for message in messages:
        assert len(message["blocks"]) <= BLOCKS_PER_MESSAGE
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_LIMIT
    assert messages[-1]["blocks"][-1]["type"] == "actions"               # buttons on the last one only
    assert sum(b["type"] == "actions" for m in messages for b in m["blocks"]) == 1


def test_user_text_cannot_ping_or_link() -> None:
    reply = Reply().add("hint", "<!channel> see <http://evil|here> & more")
    [message] = render(reply)
    assert message["blocks"][0]["text"]["text"] == ":bulb: &lt;!channel&gt; see &lt;http://evil|here&gt; &amp; more"


def test_parse_request() -> None:
    assert parse_request("rag transformers --questions 3") == ("start", ["rag", "transformers"], 3)
    assert parse_request("") == ("start", [], None)
    assert parse_request("show abc123") == ("show", ["abc123"], None)
    with pytest.raises(ValueError, match="between 1 and 50"):
        parse_request("-n 99")


def test_the_adapter_stays_thin() -> None:
    """Translation only: the adapter never reaches for grading, scoring or session state."""
    source = (Path(__file__).parents[1] / "adapters" / "slack.py").read_text(encoding="utf-8")
    for forbidden in ("interviewer.grading", "interviewer.grading.scoring", "interviewer.interview.state", "interviewer.interview.feedback", "Verdict"):
        assert forbidden not in source


def test_serve_slack_names_the_missing_variables(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    socket = subprocess.run([sys.executable, "-m", "interviewer", "serve", "slack"], capture_output=True, text=True, env=env, timeout=60)
    assert socket.returncode == 1
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set: Socket Mode needs" in socket.stderr
    http = subprocess.run([sys.executable, "-m", "interviewer", "serve", "slack", "--http"], capture_output=True, text=True,
                          env={**env, "SLACK_BOT_TOKEN": "xoxb-x"}, timeout=60)
    assert http.returncode == 1 and "SLACK_SIGNING_SECRET is not set: the Events API (--http) needs" in http.stderr
    assert "Traceback" not in socket.stderr + http.stderr


def test_the_manifest_asks_for_what_the_adapter_uses() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[1] / "adapters" / "slack_manifest.yaml").read_text(encoding="utf-8"))
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/interview"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "app_mentions:read", "channels:history", "groups:history", "im:history", "im:write",
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "message.channels", "message.groups", "message.im"}
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]


async def test_a_channel_the_bot_cannot_post_in_gets_a_private_explanation(rig) -> None:
    app, engine, slack, store = rig
    slack.fail("chat.postMessage", "not_in_channel")
    await app.async_dispatch(command(slack, "tiny -n 1"))
    [answer] = await slack.wait_for_async(f"response_url.{OWNER}", 1)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "I could not start the interview here (not_in_channel). Invite me first with `/invite @interviewer`, or DM me."
    assert store.list_sessions() == []


async def test_socket_mode_requests_reach_the_same_handlers(slack, store) -> None:
    """In Socket Mode Slack sends no signature; Bolt hands the envelope's payload to the app."""
    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    engine = ScriptedEngine(rule=keyword_rule)
    app, _ = build_slack_app(Interviewer(bank, engine, store), token="xoxb-test", client=AsyncWebClient(token="xoxb-test", base_url=slack.url))
    mention = {"type": "app_mention", "channel": CHANNEL, "user": OWNER, "text": "<@UBOT> start tiny -n 1", "ts": "1750000000.000001"}
    payload = {"team_id": TEAM, "api_app_id": "A1", "type": "event_callback", "event_id": "EvS", "event_time": 1, "event": mention}
    response = await app.async_dispatch(AsyncBoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200
    [question] = await slack.wait_for_async("chat.postMessage", 1)
    assert question["thread_ts"] == "1750000000.000001" and "What is omega?" in question["text"]


def test_serve_slack_over_http_end_to_end(slack, tmp_path: Path) -> None:
    """The real `interviewer serve slack --http` process: signed requests over loopback, posts to the mock."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url,
           "INTERVIEWER_RUBRIC_DIRS": json.dumps([str(FIXTURES / "tiny.yaml")])}
    server = subprocess.Popen([sys.executable, "-m", "interviewer", "serve", "slack", "--http", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/slack/events"
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = urlencode({"team_id": TEAM, "channel_id": CHANNEL, "user_id": OWNER, "command": "/interview", "text": "tiny -n 1",
                          "response_url": f"{slack.url}response_url.{OWNER}"})
        stamp = str(int(time.time()))
        headers = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stamp,
                   "x-slack-signature": SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)}
        assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
        root, question = slack.wait_for("chat.postMessage", 2, timeout=60)
        assert question["thread_ts"] and "What is omega?" in question["text"]
        assert set(slack.tokens) == {"xoxb-e2e"}
        forged = {**headers, "x-slack-signature": "v0=" + "0" * 64}
        assert httpx.post(url, content=body, headers=forged, timeout=10).status_code == 401
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    assert "Traceback" not in err, err


# --- defects found on real payloads (issue: channels as plugins) ---------------------------------


def test_the_notification_text_is_escaped_like_the_blocks() -> None:
    """Slack shows a message's top-level ``text`` in notifications: a quoted answer there must
    not ping the channel, mention someone or hide a link."""
    reply = Reply(session_id="s1")
    hostile = "<!channel> ask <@U999> at <https://evil.example|click>"
    reply.add("feedback", f"You said {hostile}", score=2.0, points=[
        {"id": "p", "text": "Point", "verdict": "partial", "evidence": hostile}], misconceptions=[], notes=[])
    for payload in render(reply):
        assert "<!channel>" not in payload["text"] and "<@U999>" not in payload["text"] and "<https://" not in payload["text"]
    assert "&lt;!channel&gt;" in render(reply)[0]["text"]


async def test_a_hostile_answer_reaches_slack_escaped_in_every_message(rig) -> None:
    """The same through Bolt and the Web API: the candidate's markup comes back quoted in the
    scorecard, and no message Slack receives (blocks or notification text) pings or links."""
    app, _, slack, _ = rig
    await app.async_dispatch(command(slack, "tiny --questions 1"))
    await posted(slack, 2)
    hostile = "<!channel> omega is the end, the last, greek; ask <@U999> at <https://evil.example|click>"
    await app.async_dispatch(event(reply_in_thread("1700000000.000101", hostile), "Ev-hostile"))
    after = await posted(slack, 3)
    sent = json.dumps(after[2:])
    assert "Score 10.0/10" in sent and "&lt;!channel&gt;" in sent
    assert "<!channel>" not in sent and "<@U999>" not in sent and "<https://evil" not in sent
    assert slack.breaches == []


def test_the_mock_refuses_what_slack_refuses() -> None:
    """The recording Web API is as strict as Slack: over-long sections, 51 blocks and broadcast
    pings are refused, so a test that passes sent only messages Slack takes."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    mock = MockSlackAPI().start()
    try:
        client = WebClient(token="xoxb-test", base_url=mock.url)
        cases = [
            ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "ok", "invalid_blocks"),
            ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]}] * 51, "ok", "invalid_blocks"),
            ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "ok", "invalid_blocks"),
            (None, "hey <!here>", "broadcast_mention"),
            (None, "t" * 40_001, "msg_too_long"),
        ]
        for blocks, text, error in cases:
            with pytest.raises(SlackApiError) as refused:
                client.chat_postMessage(channel="C1", text=text, blocks=blocks)
            assert refused.value.response["error"] == error
        assert len(mock.breaches) == len(cases)
        client.chat_postMessage(channel="C1", text="fine", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}])
        assert len(mock.breaches) == len(cases)
    finally:
        mock.stop()


def test_a_long_quoted_answer_stays_a_quote_in_every_section() -> None:
    reply = Reply(session_id="s1")
    evidence = "word " * 1500
    reply.add("feedback", "f", score=4.0, points=[{"id": "p", "text": "Point", "verdict": "partial", "evidence": evidence}],
              misconceptions=[], notes=[])
    quoted = [b["text"]["text"] for m in render(reply) for b in m["blocks"] if b["type"] == "section" and "word" in b["text"]["text"]]
    assert len(quoted) >= 2 and all(len(q) <= SECTION_LIMIT for q in quoted)
    assert all(line.startswith("> ") for q in quoted for line in q.split("\n") if "word" in line)


@pytest.mark.parametrize("subtype", ["thread_broadcast", "file_share"])
async def test_an_answer_also_sent_to_the_channel_or_with_a_file_is_graded(rig, subtype: str) -> None:
    app, engine, slack, _ = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    await posted(slack, 2)
    answer = {**reply_in_thread("1700000000.000101", "omega is the end, the last letter, greek"), "subtype": subtype}
    await app.async_dispatch(event(answer, f"Ev-{subtype}"))
    await posted(slack, 3)
    assert engine.calls and engine.calls[0][1] == "omega is the end, the last letter, greek"


async def test_a_rate_limited_post_is_retried_after_retry_after(rig) -> None:
    """One 429 on chat.postMessage used to turn /interview into "I could not start"."""
    app, _, slack, store = rig
    slack.fail("chat.postMessage", "ratelimited", times=1)
    await app.async_dispatch(command(slack, "tiny -n 1"))
    refused, root, question = await slack.wait_for_async("chat.postMessage", 3, timeout=10)  # the mock records the 429 too
    assert refused == root and "is practising a mock interview" in root["text"]
    assert "What is omega?" in json.dumps(question["blocks"])
    assert len(store.list_sessions(f"slack:{TEAM}:{OWNER}")) == 1
    assert not any("could not start" in json.dumps(c) for _, c in slack.calls)


async def test_a_button_that_waited_behind_the_end_still_gets_an_answer(rig) -> None:
    app, _, slack, store = rig
    await app.async_dispatch(command(slack, "tiny -n 1"))
    _, first = await posted(slack, 2)
    thread = first["thread_ts"]
    session = store.active_session(session_key(TEAM, CHANNEL, thread))
    _, channel = build_slack_app(Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), ScriptedEngine(), store), token="x",
                                 client=AsyncWebClient(token="xoxb-test", base_url=slack.url))
    store.finish_session(session.id)                  # the End pressed first finished it meanwhile
    await channel.take_turn(Place(AsyncWebClient(token="xoxb-test", base_url=slack.url), CHANNEL, thread), session.session_key,
                            session.user_key, "hint", event_id="action:1", prompt_seq=1, pressed=True)
    [note] = await slack.wait_for_async("chat.postEphemeral", 1)
    assert note["user"] == OWNER and note["text"] == "That interview is over."


def test_history_counts_one_question_in_the_singular() -> None:
    from datetime import datetime, timezone

    from interviewer.interview.records import SessionRecord
    from interviewer_adapters.slack_blocks import history_blocks

    record = SessionRecord.model_construct(id="a" * 32, started_at=datetime(2026, 12, 1, tzinfo=timezone.utc), topics=["rag"],
                                           questions=[object()], average=5.0, status="finished")
    assert "· 1 question ·" in json.dumps(history_blocks([record]), ensure_ascii=False)


async def test_a_retry_on_another_replica_starts_no_second_interview(slack, tmp_path: Path) -> None:
    """Two replicas on one PostgreSQL behind a load balancer: Slack retries a mention that was
    slow to be acknowledged, and the retry lands on the other replica."""
    from conftest import fresh_postgres_database
    from interviewer.storage.store import Store

    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    with fresh_postgres_database() as url:
        stores = [Store(url), Store(url)]
        try:
            apps = [build_slack_app(Interviewer(bank, ScriptedEngine(rule=keyword_rule), s), token="xoxb-test", signing_secret=SECRET,
                                    client=AsyncWebClient(token="xoxb-test", base_url=slack.url))[0] for s in stores]
            mention = {"type": "app_mention", "channel": CHANNEL, "user": OWNER, "text": "<@UBOT> start tiny -n 1", "ts": "1750000000.000001"}
            await apps[0].async_dispatch(event(mention, "EvMention"))
            await apps[1].async_dispatch(event(mention, "EvMention", retry=1))
            await slack.wait_for_async("chat.postMessage", 1)
            await settle()
            sessions = stores[0].list_sessions(f"slack:{TEAM}:{OWNER}")
            assert len(sessions) == 1
            questions = [c for c in slack.of("chat.postMessage") if "What is" in json.dumps(c.get("blocks", []))]
            assert len(questions) == 1
            assert stores[1].claim_delivery("slack:EvMention") is False       # known to every replica
        finally:
            for s in stores:
                s.close()
