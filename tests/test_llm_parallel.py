"""INTERVIEWER_LLM_MAX_PARALLEL: a per-replica cap on model requests in flight, against a slow stub.

The stub on 127.0.0.1 counts the requests it is answering at once (``max_in_flight``); each
check is built so that a leaking limiter makes it fail, not merely run slower.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator

import pytest

from interviewer.app import build_engine, model_config
from interviewer.config import ConfigError, load_settings
from interviewer.grading.llm.client import ModelClient, ModelConfig, RequestLimit
from interviewer.grading.llm.engine import LLMEngine
from interviewer.rubrics import RubricBank
from interviewer.testing import StubLLMServer, StubReply, grading_rule

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SLOW = 0.2  # seconds the stub "thinks" about each request


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def slow(rule: Callable[[dict], str] | None = None, delay: float = SLOW) -> Callable[[dict], StubReply]:
    """A responder that answers (by ``rule``, else with the prompt echoed) after ``delay`` seconds."""

    def respond(request: dict) -> StubReply:
        content = rule(request) if rule else f"re: {request['messages'][-1]['content']}"
        return StubReply(content=content, delay=delay)

    return respond


@pytest.fixture
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer(rule=slow()) as server:
        yield server


def client_for(stub: StubLLMServer, **config: object) -> ModelClient:
    options: dict = {"timeout": 5.0, "retries": 0, "backoff": 0.01, "stream": False, **config}
    return ModelClient(ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-test-not-a-real-key", **options))


@pytest.mark.parametrize("stream", [False, True])
async def test_cap_of_two_keeps_six_calls_to_two_at_once(stub: StubLLMServer, stream: bool) -> None:
    client = client_for(stub, max_parallel=2, stream=stream)
    deltas: list[str] = []
    results = await asyncio.gather(*(client.complete(ask(f"q{n}"), on_delta=deltas.append) for n in range(6)))
    assert [r.content for r in results] == [f"re: q{n}" for n in range(6)]
    assert stub.calls == 6
    assert stub.max_in_flight == 2                                       # never more, and the two slots were used
    waited = [r.queued_ms for r in results]
    assert sum(q >= SLOW * 1000 * 0.5 for q in waited) >= 4, waited      # four had to wait at least one round
    assert all(r.latency_ms >= r.queued_ms for r in results)             # latency includes the queue
    assert client.limit.in_flight == 0
    assert "".join(deltas)                                               # streamed or not, the words came through


async def test_without_a_cap_all_six_go_at_once(stub: StubLLMServer) -> None:
    client = client_for(stub)                                            # max_parallel=0: no limit
    results = await asyncio.gather(*(client.complete(ask(f"q{n}")) for n in range(6)))
    assert len(results) == 6
    assert stub.max_in_flight == 6
    assert all(r.queued_ms == 0.0 for r in results)


async def test_engine_grading_and_coaching_share_one_cap(bank: RubricBank) -> None:
    with StubLLMServer(rule=slow(grading_rule(), delay=0.1)) as server:
        engine = LLMEngine(ModelConfig(model="openai/stub-model", api_base=server.url, api_key="sk-test-not-a-real-key",
                                       timeout=5.0, retries=0, stream=False, max_parallel=1))
        assert engine.client.limit is engine._coach_client.limit
        question = bank.get("rag-what-and-why")
        answer = "RAG retrieves relevant documents and puts them into the prompt."
        assessment, coached, _ = await asyncio.gather(
            engine.assess(question, answer), engine.coach("Results, question by question: ..."), engine.coach("Results, question by question: ...")
        )
        assert assessment.engine == "llm"                                  # graded by the model, not the fallback
        assert coached is not None and coached[0] == "Stub coaching: revise the gaps."
        assert server.calls == 3
        assert server.max_in_flight == 1                                   # one cap over both clients


async def test_backoff_between_retries_does_not_hold_the_slot() -> None:
    """max_parallel=1: A gets a 500 while B waits; B must be sent during A's backoff.

    A's backoff is held open until B's request has reached the stub (or 3 s pass): with a leaking
    slot B cannot get in while A backs off, so the order check fails instead of racing.
    """
    seen_a = 0

    def respond(request: dict) -> StubReply:
        nonlocal seen_a
        who = request["messages"][-1]["content"]
        if who == "A":
            seen_a += 1
            if seen_a == 1:
                return StubReply(status=500, content="overloaded", delay=0.1)
        return StubReply(content=f"ok {who}")

    with StubLLMServer(rule=respond) as server:
        client = client_for(server, max_parallel=1, retries=1)
        b_in_during_backoff: list[bool] = []

        async def pause(seconds: float) -> None:
            for _ in range(300):
                if any(r["messages"][-1]["content"] == "B" for r in server.requests):
                    break
                await asyncio.sleep(0.01)
            b_in_during_backoff.append(any(r["messages"][-1]["content"] == "B" for r in server.requests))

        client._pause = pause  # type: ignore[method-assign]
        a, b = await asyncio.gather(client.complete(ask("A")), client.complete(ask("B")))
    assert (a.content, a.attempts, b.content) == ("ok A", 2, "ok B")
    assert b_in_during_backoff == [True]
    assert [r["messages"][-1]["content"] for r in server.requests] == ["A", "B", "A"]
    assert b.queued_ms >= 50                                              # B really waited for A's first attempt
    assert server.max_in_flight == 1


async def test_queue_wait_is_not_part_of_the_request_timeout() -> None:
    with StubLLMServer(rule=slow(delay=0.25)) as server:
        client = client_for(server, max_parallel=1, timeout=0.6)
        results = await asyncio.gather(*(client.complete(ask(f"q{n}")) for n in range(3)))
    assert [r.attempts for r in results] == [1, 1, 1]                      # nobody timed out, nobody retried
    assert max(r.latency_ms for r in results) > 600                        # the last one waited longer than the timeout
    assert max(r.queued_ms for r in results) >= 400


async def test_a_cancelled_call_gives_its_slot_back(stub: StubLLMServer) -> None:
    client = client_for(stub, max_parallel=1)
    holder = asyncio.ensure_future(client.complete(ask("holder")))
    await asyncio.sleep(0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(client.complete(ask("impatient")), 0.05)     # cancelled while queued
    await holder
    late = await client.complete(ask("late"))
    assert late.content == "re: late"
    assert client.limit.in_flight == 0
    assert [r["messages"][-1]["content"] for r in stub.requests] == ["holder", "late"]


async def test_a_waiter_cancelled_as_the_slot_reaches_it_passes_the_slot_on() -> None:
    limit = RequestLimit(1)

    async def wait_for_slot() -> None:
        async with limit.slot():
            pass

    async with limit.slot():
        waiter = asyncio.ensure_future(wait_for_slot())
        await asyncio.sleep(0)                                             # queued behind us
    waiter.cancel()                                                        # the slot was handed to it just now
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limit.in_flight == 0
    async with limit.slot() as waited:                                     # free again, at once
        assert waited < 0.05


def test_one_cap_over_successive_and_concurrent_event_loops() -> None:
    with StubLLMServer(rule=slow(delay=0.1)) as stub:
        one_cap_over_loops(stub)


def one_cap_over_loops(stub: StubLLMServer) -> None:
    client = client_for(stub, max_parallel=2)

    async def three(tag: str) -> list[str]:
        return [r.content for r in await asyncio.gather(*(client.complete(ask(f"{tag}{n}")) for n in range(3)))]

    assert asyncio.run(three("a")) == ["re: a0", "re: a1", "re: a2"]     # one loop, then another
    assert asyncio.run(three("b")) == ["re: b0", "re: b1", "re: b2"]
    outcomes: dict[str, list[str]] = {}
    threads = [threading.Thread(target=lambda t=t: outcomes.__setitem__(t, asyncio.run(three(t)))) for t in "cd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["c", "d"]
    assert stub.max_in_flight == 2                                         # two loops at once, still one cap
    assert client.limit.in_flight == 0


def test_settings_read_the_cap_and_pass_it_to_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().llm_max_parallel == 0
    monkeypatch.setenv("INTERVIEWER_LLM_MAX_PARALLEL", "4")
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/stub-model")
    monkeypatch.setenv("INTERVIEWER_API_BASE", "http://127.0.0.1:9/v1")
    settings = load_settings()
    assert settings.llm_max_parallel == 4
    assert model_config(settings).max_parallel == 4
    engine = build_engine(settings)
    assert isinstance(engine, LLMEngine) and engine.limit.size == 4


@pytest.mark.parametrize("value", ["-1", "1001", "lots"])
def test_settings_reject_a_bad_cap(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("INTERVIEWER_LLM_MAX_PARALLEL", value)
    with pytest.raises(ConfigError, match="invalid setting 'llm_max_parallel'"):
        load_settings()


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RequestLimit(-1)
