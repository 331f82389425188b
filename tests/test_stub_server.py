"""The OpenAI-compatible stub server: reply shapes, scripting order, failures, streaming, litellm."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from interviewer.testing import StubLLMServer, StubReply

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[StubLLMServer]:
    with StubLLMServer() as stub:
        yield stub


def chat(server: StubLLMServer, timeout: float = 5.0, **extra) -> httpx.Response:
    body = {"model": "stub-model", "messages": MESSAGES, **extra}
    return httpx.post(f"{server.url}/chat/completions", json=body, timeout=timeout)


def test_normal_reply_is_a_chat_completion_with_usage(server: StubLLMServer) -> None:
    server.push(StubReply(content="Hello there", prompt_tokens=7, completion_tokens=3))
    response = chat(server)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    data = response.json()
    assert data["id"].startswith("chatcmpl-")
    assert data["object"] == "chat.completion"
    assert data["model"] == "stub-model"
    assert isinstance(data["created"], int)
    assert data["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello there"}, "finish_reason": "stop"}
    ]
    assert data["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_queue_is_consumed_before_the_rule_then_the_rule_answers() -> None:
    rule_saw: list[dict] = []

    def rule(request: dict) -> str:
        rule_saw.append(request)
        return f"rule:{request['messages'][-1]['content']}"

    with StubLLMServer(rule=rule) as server:
        server.push("first", StubReply(content="second"))
        contents = [chat(server).json()["choices"][0]["message"]["content"] for _ in range(3)]
    assert contents == ["first", "second", "rule:hi"]
    assert len(rule_saw) == 1


def test_without_script_or_rule_answers_500(server: StubLLMServer) -> None:
    response = chat(server)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "stub server has no scripted reply"


def test_requests_records_every_body_in_order(server: StubLLMServer) -> None:
    server.push("a", "b")
    chat(server, temperature=0.1)
    chat(server, temperature=0.2)
    assert server.calls == 2
    assert [r["temperature"] for r in server.requests] == [0.1, 0.2]
    assert server.requests[0]["messages"] == MESSAGES
    assert server.requests[0]["model"] == "stub-model"


def test_rate_limit_sends_retry_after_and_error_json(server: StubLLMServer) -> None:
    server.push(StubReply(status=429, content="slow down", headers={"Retry-After": "1"}), "ok")
    limited = chat(server)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    error = limited.json()["error"]
    assert error["message"] == "slow down"
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "rate_limit_exceeded"
    assert chat(server).json()["choices"][0]["message"]["content"] == "ok"


@pytest.mark.parametrize("raw", [b'{"id": "chatcmpl-1", "choi', b"", b"x" * (5 * 1024 * 1024)])
def test_raw_body_is_sent_verbatim(server: StubLLMServer, raw: bytes) -> None:
    server.push(StubReply(body=raw, status=200, headers={"X-Stub": "raw"}))
    response = chat(server)
    assert response.status_code == 200
    assert response.content == raw
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-stub"] == "raw"


def test_unknown_paths_are_404_and_models_lists_stub(server: StubLLMServer) -> None:
    missing = httpx.post(f"{server.url}/completions", json={"prompt": "x"}, timeout=5)
    assert missing.status_code == 404
    assert "error" in missing.json()
    assert server.calls == 0
    models = httpx.get(f"{server.url}/models", timeout=5)
    assert models.json() == {"object": "list", "data": [{"id": "stub", "object": "model"}]}


def test_delay_triggers_client_timeout_and_stop_stays_fast(capfd: pytest.CaptureFixture[str]) -> None:
    server = StubLLMServer().start()
    server.push(StubReply(content="too late", delay=30.0))
    with pytest.raises(httpx.TimeoutException):
        chat(server, timeout=0.3)
    assert server.calls == 1  # recorded on arrival, before the delay
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    time.sleep(0.1)  # let the woken handler finish; it must not print a traceback
    assert "Traceback" not in capfd.readouterr().err


def test_streaming_sends_chunks_usage_and_done(server: StubLLMServer) -> None:
    content = "A streamed answer that spans several chunks."
    server.push(StubReply(content=content, prompt_tokens=11, completion_tokens=5))
    with httpx.stream(
        "POST", f"{server.url}/chat/completions",
        json={"model": "stub-model", "messages": MESSAGES, "stream": True}, timeout=5,
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        assert "content-length" not in response.headers
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert len(chunks) >= 4
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == content
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert chunks[-1]["usage"]["total_tokens"] == 16


def _litellm():
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def test_litellm_completion_through_the_stub(server: StubLLMServer) -> None:
    litellm = _litellm()
    server.push(StubReply(content="Hi from the stub", prompt_tokens=42, completion_tokens=4))
    response = litellm.completion(model="openai/stub", api_base=server.url, api_key="sk-test", messages=MESSAGES)
    assert response.choices[0].message.content == "Hi from the stub"
    assert response.usage.prompt_tokens == 42
    assert server.requests[0]["messages"] == MESSAGES


def test_litellm_streaming_through_the_stub(server: StubLLMServer) -> None:
    litellm = _litellm()
    content = "Streaming through litellm works end to end."
    server.push(StubReply(content=content, prompt_tokens=13, completion_tokens=9))
    stream = litellm.completion(
        model="openai/stub", api_base=server.url, api_key="sk-test", messages=MESSAGES,
        stream=True, stream_options={"include_usage": True},
    )
    deltas: list[str] = []
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        usage = getattr(chunk, "usage", None) or usage
    assert "".join(deltas) == content
    assert server.requests[0]["stream"] is True
    assert usage is not None and usage.prompt_tokens == 13
