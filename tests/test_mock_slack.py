"""MockSlackAPI driven by the real slack_sdk clients: answers, recording, parsing, failures, waiting."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from harness.slack_stub import MockSlackAPI

BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Question 1*"}},
    {"type": "actions", "elements": [{"type": "button", "action_id": "hint", "text": {"type": "plain_text", "text": "Hint"}}]},
]


@pytest.fixture
def mock() -> Iterator[MockSlackAPI]:
    with MockSlackAPI(team_id="T42", bot_user_id="UBOT42", bot_id="BBOT42") as api:
        yield api


def client(mock: MockSlackAPI, **extra) -> WebClient:
    return WebClient(token="xoxb-test", base_url=mock.url, timeout=5, **extra)


def test_url_is_slack_sdk_base_url_form(mock: MockSlackAPI) -> None:
    assert mock.url.startswith("http://127.0.0.1:")
    assert mock.url.endswith("/api/")
    assert int(mock.url.split(":")[2].split("/")[0]) > 0


def test_auth_test_answer_is_read_by_the_client(mock: MockSlackAPI) -> None:
    response = client(mock).auth_test()
    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == ("T42", "UBOT42", "BBOT42")
    assert response["url"] == "https://mock.slack.test/"
    assert response["is_enterprise_install"] is False
    assert mock.calls == [("auth.test", {})]
    assert mock.tokens == ["xoxb-test"]


def test_post_message_records_decoded_blocks_thread_and_increasing_ts(mock: MockSlackAPI) -> None:
    web = client(mock)
    first = web.chat_postMessage(channel="C1", text="Q1", blocks=BLOCKS, thread_ts="1699999999.000001")
    second = web.chat_postMessage(channel="C1", text="Q2")
    assert first["channel"] == "C1"
    assert first["message"] == {"text": "Q1", "ts": first["ts"], "thread_ts": "1699999999.000001",
                                "user": "UBOT42", "bot_id": "BBOT42"}
    assert second["message"]["thread_ts"] is None
    assert first["ts"] == "1700000000.000101"
    assert second["ts"] == "1700000000.000102"
    assert float(second["ts"]) > float(first["ts"])
    posted = mock.of("chat.postMessage")
    assert posted[0]["blocks"] == BLOCKS  # a structure, not a JSON string
    assert posted[0]["thread_ts"] == "1699999999.000001"
    assert posted[1]["text"] == "Q2"
    assert [name for name, _ in mock.calls] == ["chat.postMessage", "chat.postMessage"]


def test_ts_values_are_unique_under_concurrency(mock: MockSlackAPI) -> None:
    web = client(mock)
    seen: list[str] = []

    def post(n: int) -> None:
        seen.append(web.chat_postMessage(channel="C1", text=f"m{n}")["ts"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(seen) == 20
    assert len(set(seen)) == 20


def test_form_encoded_call_is_parsed_and_json_string_fields_decoded(mock: MockSlackAPI) -> None:
    web = client(mock)
    response = web.api_call(
        "chat.postEphemeral",
        data={"channel": "C9", "user": "U7", "text": "only you", "blocks": json.dumps(BLOCKS)},
    )
    assert response["ok"] is True
    assert response["message_ts"] == "1700000000.000101"
    (params,) = mock.of("chat.postEphemeral")
    assert params == {"channel": "C9", "user": "U7", "text": "only you", "blocks": BLOCKS}
    assert mock.tokens == ["xoxb-test"]


def test_query_form_and_json_params_are_merged() -> None:
    with MockSlackAPI() as api:
        request = urllib.request.Request(
            api.url + "chat.update?channel=C3", data=json.dumps({"ts": "1.2", "text": "edited"}).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"}, method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = json.loads(response.read())
    assert body == {"ok": True, "channel": "C3", "ts": "1.2"}
    assert api.calls == [("chat.update", {"channel": "C3", "ts": "1.2", "text": "edited"})]
    assert api.tokens == [""]  # no Authorization header and no token param


def test_other_canned_answers(mock: MockSlackAPI) -> None:
    web = client(mock)
    assert web.conversations_open(users="U5")["channel"] == {"id": "DU5"}
    assert web.users_info(user="U5")["user"] == {"id": "U5", "name": "u5", "real_name": "User U5"}
    updated = web.chat_update(channel="C1", ts="1700000000.000101", text="edited")
    assert (updated["channel"], updated["ts"]) == ("C1", "1700000000.000101")
    assert web.reactions_add(channel="C1", timestamp="1.1", name="tada").data == {"ok": True}
    assert [name for name, _ in mock.calls] == ["conversations.open", "users.info", "chat.update", "reactions.add"]


def test_each_call_records_its_own_token(mock: MockSlackAPI) -> None:
    WebClient(token="xoxb-one", base_url=mock.url).auth_test()
    WebClient(token="xoxp-two", base_url=mock.url).auth_test()
    assert mock.tokens == ["xoxb-one", "xoxp-two"]


def test_fail_raises_slack_api_error_once_then_succeeds(mock: MockSlackAPI) -> None:
    web = client(mock)
    mock.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C404", text="x")
    assert caught.value.response["error"] == "channel_not_found"
    assert caught.value.response.status_code == 200
    assert web.chat_postMessage(channel="C404", text="x")["ok"] is True
    assert len(mock.of("chat.postMessage")) == 2  # the failed call is recorded too


def test_fail_times_and_other_methods_unaffected(mock: MockSlackAPI) -> None:
    web = client(mock)
    mock.fail("users.info", times=2)
    assert web.auth_test()["ok"] is True
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            web.users_info(user="U1")
        assert caught.value.response["error"] == "internal_error"
    assert web.users_info(user="U1")["ok"] is True


def test_ratelimited_is_http_429_with_retry_after(mock: MockSlackAPI) -> None:
    web = client(mock, retry_handlers=[])  # no RateLimitErrorRetryHandler: the 429 surfaces
    mock.fail("chat.postMessage", "ratelimited")
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C1", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    assert web.chat_postMessage(channel="C1", text="x")["ok"] is True


async def test_async_client_posts_and_fails(mock: MockSlackAPI) -> None:
    web = AsyncWebClient(token="xoxb-async", base_url=mock.url, timeout=5)
    assert (await web.auth_test())["user_id"] == "UBOT42"
    mock.fail("chat.postMessage", "not_in_channel")
    with pytest.raises(SlackApiError) as caught:
        await web.chat_postMessage(channel="C1", text="x")
    assert caught.value.response["error"] == "not_in_channel"
    posted = await web.chat_postMessage(channel="C1", text="hello", blocks=BLOCKS)
    assert posted["message"]["text"] == "hello"
    assert mock.of("chat.postMessage")[-1]["blocks"] == BLOCKS
    assert mock.tokens == ["xoxb-async"] * 3


def test_wait_for_returns_when_calls_arrive_from_another_thread(mock: MockSlackAPI) -> None:
    web = client(mock)
    poster = threading.Timer(0.1, lambda: [web.chat_postMessage(channel="C1", text=t) for t in ("a", "b")])
    poster.start()
    try:
        posted = mock.wait_for("chat.postMessage", count=2, timeout=5)
    finally:
        poster.join()
    assert [p["text"] for p in posted] == ["a", "b"]


def test_wait_for_timeout_names_the_methods_seen(mock: MockSlackAPI) -> None:
    web = client(mock)
    web.auth_test()
    web.users_info(user="U1")
    web.users_info(user="U2")
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        mock.wait_for("chat.postMessage", timeout=0.2)
    assert 0.15 <= time.monotonic() - started < 2
    message = str(caught.value)
    assert "chat.postMessage" in message
    assert "auth.test x1" in message and "users.info x2" in message


async def test_wait_for_async_returns_while_a_background_task_posts(mock: MockSlackAPI) -> None:
    web = AsyncWebClient(token="xoxb-test", base_url=mock.url, timeout=5)

    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await web.chat_postMessage(channel="C1", text="from task")

    task = asyncio.create_task(post_later())  # only makes progress if wait_for_async yields the loop
    posted = await mock.wait_for_async("chat.postMessage", timeout=5)
    await task
    assert posted[0]["text"] == "from task"


async def test_wait_for_async_times_out_with_assertion(mock: MockSlackAPI) -> None:
    with pytest.raises(AssertionError, match="methods seen: none"):
        await mock.wait_for_async("chat.update", timeout=0.1)


def test_reset_forgets_calls_but_ts_keeps_increasing(mock: MockSlackAPI) -> None:
    web = client(mock)
    first = web.chat_postMessage(channel="C1", text="a")["ts"]
    mock.reset()
    assert mock.calls == [] and mock.tokens == [] and mock.of("chat.postMessage") == []
    second = web.chat_postMessage(channel="C1", text="b")["ts"]
    assert float(second) > float(first)
    assert len(mock.calls) == 1


def test_delay_slows_every_answer() -> None:
    with MockSlackAPI(delay=0.3) as api:
        started = time.monotonic()
        WebClient(token="xoxb-test", base_url=api.url, timeout=5).auth_test()
        assert time.monotonic() - started >= 0.3


def test_stop_is_prompt_even_with_a_call_in_flight() -> None:
    api = MockSlackAPI(delay=10).start()
    url = api.url
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            WebClient(token="xoxb-test", base_url=url, timeout=15, retry_handlers=[]).auth_test()
        except BaseException as exc:  # noqa: BLE001 - the dropped reply is expected
            errors.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    api.wait_for("auth.test", timeout=5)
    started = time.monotonic()
    api.stop()
    assert time.monotonic() - started < 1.5
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert errors  # the in-flight call got no answer
    with pytest.raises(RuntimeError):
        _ = api.url
    api.stop()  # idempotent


def test_unknown_path_is_404_and_not_recorded(mock: MockSlackAPI) -> None:
    base = mock.url.removesuffix("/api/")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base + "/other", timeout=5)
    assert caught.value.code == 404
    assert mock.calls == []


def test_bolt_app_replies_through_the_mock(mock: MockSlackAPI) -> None:
    from slack_bolt import App, BoltRequest

    app = App(client=client(mock), signing_secret="unused", request_verification_enabled=False)
    assert mock.of("auth.test")  # Bolt verified the token against the mock at construction

    @app.event("app_mention")
    def mentioned(event, say) -> None:
        say(text="Let's start the interview.", thread_ts=event["ts"])

    body = {
        "token": "verification", "team_id": "T42", "api_app_id": "A1", "type": "event_callback",
        "event_id": "Ev1", "event_time": 1700000000,
        "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT42> start", "ts": "1700000000.000001",
                  "channel": "C1", "event_ts": "1700000000.000001"},
    }
    response = app.dispatch(BoltRequest(body=json.dumps(body), headers={"content-type": ["application/json"]}))
    assert response.status == 200
    (posted,) = mock.wait_for("chat.postMessage", timeout=5)
    assert posted["channel"] == "C1"
    assert posted["text"] == "Let's start the interview."
    assert posted["thread_ts"] == "1700000000.000001"
    assert set(mock.tokens) == {"xoxb-test"}


def test_the_stubs_do_not_import_platform_sdks() -> None:
    """The mock stands in for Slack with the standard library only: a test of an adapter must not
    pass because the mock borrowed the SDK's own behaviour."""
    import harness.slack_stub
    import interviewer.testing

    modules = [Path(harness.slack_stub.__file__), *Path(interviewer.testing.__file__).parent.glob("*.py")]
    assert len(modules) >= 4
    for module in modules:
        source = module.read_text(encoding="utf-8")
        assert "import slack" not in source and "from slack" not in source, module


def test_a_response_url_under_the_mock_is_recorded(mock: MockSlackAPI) -> None:
    from slack_sdk.webhook import WebhookClient

    response = WebhookClient(mock.url + "respond/U1").send(text="only you", response_type="ephemeral")
    assert response.status_code == 200
    assert mock.wait_for("respond/U1", timeout=5) == [{"text": "only you", "response_type": "ephemeral"}]
