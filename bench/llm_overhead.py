"""Prints the interviewer core's overhead per candidate turn with the LLM engine, without model latency.

The model is the OpenAI-compatible StubLLMServer on 127.0.0.1 answering instantly with valid
grading JSON (interviewer.testing.grading_rule), reached through litellm exactly as a real model
would be. Each session asks questions of the packaged bank; the first answer to a question is its
"partial" graded example (the stub grades it with that example's verdicts, so a follow-up comes),
the answer to the follow-up is the "strong" example (graded all covered). The time measured is the
wall time of ``Interviewer.handle(...)`` per candidate turn: store reads and writes, retrieval,
prompt rendering, the litellm call and HTTP round trip to the stub, parsing, evidence checks and
the next utterance. Nothing is subtracted; the stub server's own handling time (it runs in this
process) and a bare litellm round trip to the stub with the same prompt are printed alongside.
The first turn (litellm's first import and call) is reported separately as "cold", then a few
warm-up turns are run before timing.

Two configurations: a fixed-passage retriever double (default), or with --material the real
MaterialRetriever over the packaged study notes (indexed before timing starts, so indexing is not
measured). The last turn of each session also asks the stub for the coaching summary.
Target: p95 <= 50 ms per turn.

The material for a question is retrieved once, in the background, as the question is asked; with
--think the candidate takes that long before answering (as a person does), so the retrieval is
done by the time the answer arrives. Without it the first answer to each question waits for it.

Usage: python bench/llm_overhead.py [--turns 200] [--warmup 5] [--material] [--think 0.3]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch litellm's price list
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse  # noqa: E402 - the environment above must be set before any import
import asyncio  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from interviewer.domain import Passage, Question, SessionOptions, Turn  # noqa: E402
from interviewer.grading.llm.client import ModelConfig  # noqa: E402
from interviewer.grading.llm.engine import LLMEngine  # noqa: E402
from interviewer.interview.session import Interviewer  # noqa: E402
from interviewer.rubrics import RubricBank  # noqa: E402
from interviewer.storage.store import Store  # noqa: E402
from interviewer.testing import ScriptedEngine, StubLLMServer, grading_rule  # noqa: E402

TARGET_MS = 50.0
REPLAYS = 30
QUESTIONS_PER_SESSION = 5
MATERIAL_WAIT_S = 120.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class FixedMaterial:
    """A retriever double: the same citations and passages for every query, at no cost."""

    PASSAGES = [
        Passage("notes.md > Overview", "A fixed passage of study material that the model gets as context. " * 4),
        Passage("notes.md > Details", "A second fixed passage, about the details the rubric asks for. " * 4),
        Passage("notes.md > Pitfalls", "A third fixed passage, about common misconceptions. " * 4),
    ]

    def start(self) -> None:
        """Nothing to open: the passages are fixed."""

    def sections(self, query: str, k: int = 2) -> list[str]:
        return [p.citation for p in self.PASSAGES][:k]

    def passages(self, query: str, k: int = 3, topic: str | None = None) -> list[Passage]:
        return self.PASSAGES[:k]


def with_examples(bank: RubricBank) -> list[Question]:
    """Questions that have both a 'partial' and a 'strong' graded example, sorted by id."""
    chosen = []
    for question in sorted(bank.questions.values(), key=lambda q: q.id):
        labels = {e.label for e in question.examples}
        if {"partial", "strong"} <= labels and question.points:
            chosen.append(question)
    return chosen


def example(question: Question, label: str) -> str:
    return next(e.answer for e in question.examples if e.label == label)


def verdict_rule(questions: list[Question]):
    """Verdicts for the stub: a partial example is graded as its label says, anything else is covered."""
    partial = {}
    for question in questions:
        verdicts = next(e.verdicts for e in question.examples if e.label == "partial")
        partial[example(question, "partial")] = {k: getattr(v, "value", v) for k, v in verdicts.items()}

    def verdict(point_id: str, answer: str) -> str:
        known = partial.get(answer)
        return known.get(point_id, "missed") if known is not None else "covered"

    return verdict


@dataclass
class Run:
    """What one configuration measured."""

    cold_ms: float = 0.0
    warm_ms: list[float] = field(default_factory=list)  # warm-up turns, not in the figures
    turn_ms: list[float] = field(default_factory=list)
    finishing_ms: list[float] = field(default_factory=list)  # timed turns that ended a session
    ends: list[bool] = field(default_factory=list)  # per timed turn: did it end the session
    follow_up_turns: int = 0
    assess_requests: int = 0
    coaching_requests: int = 0
    other_requests: int = 0
    stub_ms: list[float] = field(default_factory=list)  # the stub server's own handling, per timed request
    start_ms: list[float] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    timed_seconds: float = 0.0  # wall time of the timed phase, session starts included
    prompt_chars: list[int] = field(default_factory=list)  # per assess request: all message contents
    replay_ms: list[float] = field(default_factory=list)  # bare client round trips with the last prompt


def timed_stub(stub: StubLLMServer, sink: list[float]) -> None:
    """Record how long the stub server itself spends on each request (it runs in this process)."""
    answer = stub._answer

    def timed(handler, request):
        started = time.perf_counter()
        try:
            answer(handler, request)
        finally:
            sink.append((time.perf_counter() - started) * 1000)

    stub._answer = timed  # type: ignore[method-assign]


def request_kind(request: dict) -> str:
    last = str(request["messages"][-1]["content"])
    if "<candidate_answer>" in last:
        return "assess"
    if last.startswith("Results, question by question"):
        return "coaching"
    return "other"


async def drive(interviewer: Interviewer, stub: StubLLMServer, stub_ms: list[float], questions: list[Question],
                turns: int, warmup: int, think: float = 0.0) -> Run:
    """Answer turns candidate turns (after 1 cold + warmup turns), session after session."""
    run = Run()
    by_id = {q.id: q for q in questions}
    total = 1 + warmup + turns
    done = 0
    offset = 0
    timed_from = None
    while done < total:
        ids = [questions[(offset + n) % len(questions)].id for n in range(QUESTIONS_PER_SESSION)]
        offset += QUESTIONS_PER_SESSION
        started = time.perf_counter()
        session, reply = await interviewer.start(
            user_key=f"bench-{len(run.sessions)}", channel="bench",
            options=SessionOptions(question_ids=ids, max_follow_ups=1),
        )
        if done > warmup:
            run.start_ms.append((time.perf_counter() - started) * 1000)
        run.sessions.append(session.id)
        while not reply.finished and done < total:
            asked = [m for m in reply.messages if m.kind in ("question", "follow_up")]
            if not asked:
                raise SystemExit(f"unexpected reply, nothing asked: {[m.kind for m in reply.messages]}")
            prompt = asked[-1]
            if prompt.kind == "question":
                current = by_id[prompt.data["question_id"]]
                text = example(current, "partial")
            else:
                text = example(current, "strong")
            if think:  # the candidate reading and typing; not timed
                await asyncio.sleep(think)
            seen_requests = len(stub.requests)
            seen_stub = len(stub_ms)
            started = time.perf_counter()
            if done == warmup + 1:
                timed_from = started
            reply = await interviewer.handle(Turn(session_key=session.session_key, user_key=session.user_key, text=text))
            elapsed = (time.perf_counter() - started) * 1000
            timed = done > warmup
            if done == 0:
                run.cold_ms = elapsed
            elif not timed:
                run.warm_ms.append(elapsed)
            else:
                run.turn_ms.append(elapsed)
                run.ends.append(reply.finished)
                if reply.finished:
                    run.finishing_ms.append(elapsed)
                if prompt.kind == "follow_up":
                    run.follow_up_turns += 1
                for request in stub.requests[seen_requests:]:
                    kind = request_kind(request)
                    if kind == "assess":
                        run.assess_requests += 1
                        run.prompt_chars.append(sum(len(str(m.get("content") or "")) for m in request["messages"]))
                    elif kind == "coaching":
                        run.coaching_requests += 1
                    else:
                        run.other_requests += 1
                run.stub_ms.extend(stub_ms[seen_stub:])
            done += 1
    run.timed_seconds = time.perf_counter() - (timed_from or time.perf_counter())
    last = next((r for r in reversed(stub.requests) if request_kind(r) == "assess"), None)
    if last is not None:  # the model call alone, same prompt, same client, outside the interviewer
        for _ in range(REPLAYS):
            started = time.perf_counter()
            await interviewer.engine.client.complete(last["messages"], response_format=last.get("response_format"))
            run.replay_ms.append((time.perf_counter() - started) * 1000)
    return run


def wait_for_material(retriever) -> float:
    """Start indexing the study notes and wait for the index, so it is not part of any turn."""
    started = time.perf_counter()
    retriever.start()
    while retriever._kb is None:
        if time.perf_counter() - started > MATERIAL_WAIT_S:
            raise SystemExit(f"the study material was not indexed within {MATERIAL_WAIT_S:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def measure(turns: int, warmup: int, material: bool, think: float = 0.0) -> tuple[Run, list[str]]:
    bank = RubricBank.load()
    questions = with_examples(bank)
    if not questions:
        raise SystemExit("no question in the bank has both a 'partial' and a 'strong' graded example")
    stub_ms: list[float] = []
    stub = StubLLMServer(rule=grading_rule(verdict_rule(questions))).start()
    timed_stub(stub, stub_ms)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if material:
            import bm25s  # noqa: F401 - it sets its own logger to DEBUG on import; quieten it after

            from interviewer.config import load_settings
            from interviewer.knowledge.service import MaterialRetriever

            logging.getLogger("bm25s").setLevel(logging.WARNING)
            retriever = MaterialRetriever(load_settings(config_file=Path(tmp) / "none.toml", data_dir=tmp))
            seconds = wait_for_material(retriever)
            print(f"  study notes indexed in {seconds:.1f} s (before timing)")
        else:
            retriever = FixedMaterial()
        store = Store(f"sqlite:///{tmp}/bench.db")
        engine = LLMEngine(
            ModelConfig(model="openai/bench-model", api_base=stub.url, timeout=10, retries=0, stream=False),
            fallback=ScriptedEngine(rule=lambda q, a: {}, name="offline", model="fallback"),
        )
        interviewer = Interviewer(bank, engine, store, retriever=retriever)
        try:
            run = asyncio.run(drive(interviewer, stub, stub_ms, questions, turns, warmup, think))
            for session_id in run.sessions:
                for seq, grade in store.assessments(session_id).items():
                    if grade.engine != "llm" or grade.fallback:
                        problems.append(f"session {session_id[:8]} turn {seq}: engine {grade.engine} ({grade.fallback})")
        finally:
            store.close()
            stub.stop()
    return run, problems


def report(label: str, run: Run, problems: list[str]) -> bool:
    timed = len(run.turn_ms)
    total_s = sum(run.turn_ms) / 1000
    print(f"  cold first turn (litellm's first import and call): {run.cold_ms:.0f} ms; "
          f"warm-up turns: {', '.join(f'{t:.1f}' for t in run.warm_ms) or '-'} ms")
    print(f"  timed turns: {timed} ({run.follow_up_turns} follow-up answers, {len(run.finishing_ms)} ending a session) "
          f"over {len(run.sessions)} sessions")
    print(f"  handle() per turn: p50 {percentile(run.turn_ms, 50):.1f} ms  p95 {percentile(run.turn_ms, 95):.1f} ms  "
          f"p99 {percentile(run.turn_ms, 99):.1f} ms  max {max(run.turn_ms):.1f} ms  mean {statistics.mean(run.turn_ms):.1f} ms")
    print(f"  throughput: {timed / total_s:.1f} turns/s (sum of handle() times); "
          f"{timed / run.timed_seconds:.1f} turns/s including session starts")
    if run.finishing_ms:
        rest = [t for t, last in zip(run.turn_ms, run.ends) if not last] or run.turn_ms
        print(f"  turns ending a session (+ coaching request): median {statistics.median(run.finishing_ms):.1f} ms; "
              f"other turns: median {statistics.median(rest):.1f} ms, p95 {percentile(rest, 95):.1f} ms")
    if run.start_ms:
        print(f"  start() (not in the figures): median {statistics.median(run.start_ms):.1f} ms")
    print(f"  stub requests per answered turn: {run.assess_requests / timed:.2f} assess "
          f"(+ {run.coaching_requests} coaching, {run.other_requests} other, over {timed} turns)")
    if run.prompt_chars:
        print(f"  assess prompt size: median {statistics.median(run.prompt_chars) / 1000:.1f} k chars, "
              f"max {max(run.prompt_chars) / 1000:.1f} k chars")
    if run.stub_ms:
        print(f"  included, not subtracted: the stub server's own handling (in-process): "
              f"median {statistics.median(run.stub_ms):.2f} ms, max {max(run.stub_ms):.2f} ms per request")
    if run.replay_ms:
        print(f"  included, not subtracted: a bare ModelClient.complete() round trip to the stub with the last "
              f"prompt ({len(run.replay_ms)} calls): median {statistics.median(run.replay_ms):.1f} ms, "
              f"p95 {percentile(run.replay_ms, 95):.1f} ms")
    if problems:
        print(f"  INVALID: {len(problems)} assessments did not come from the LLM engine, e.g. {problems[0]}")
    else:
        print("  every stored grade came from the LLM engine (no fallback)")
    p95 = percentile(run.turn_ms, 95)
    verdict = "PASS" if p95 <= TARGET_MS else "FAIL"
    print(f"core overhead per turn: p95 {p95:.1f} ms (target <= {TARGET_MS:.0f} ms): {verdict}  [{label}]")
    return not problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200, help="timed candidate turns (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed turns after the cold one (default 5)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds the candidate takes before each answer, not timed (default 0: answers at once)")
    parser.add_argument("--material", action="store_true",
                        help="use the real MaterialRetriever over the packaged study notes instead of a fixed double")
    args = parser.parse_args()
    if args.turns < 1:
        parser.error("--turns must be at least 1")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    label = "real study-material retrieval" if args.material else "fixed-passage retriever"
    think = f", candidate answers after {args.think:g} s (not timed)" if args.think else ", candidate answers at once"
    print(f"LLM engine against the instant stub server, {label}{think}:")
    run, problems = measure(args.turns, args.warmup, args.material, args.think)
    valid = report(label, run, problems)
    return 0 if valid else 1  # PASS or FAIL exit 0; only a run whose grades fell back is invalid


if __name__ == "__main__":
    sys.exit(main())
