"""Many interviews at once in one process: does every reply reach the session it belongs to?

Each simulated candidate tags every answer with a marker (``user-017 answer-03``). The stub model
echoes the marker in the words it writes for the interviewer, and the feedback quotes the answer
as evidence, so a reply sent to the wrong session, a turn stored in the wrong transcript, a lost,
doubled or reordered turn all show up as a marker in the wrong place. The stub answers after a
small random delay so that turns of different sessions interleave the way they do in production.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.domain import Session, SessionOptions, Turn
from interviewer.grading.llm.client import ModelConfig
from interviewer.grading.llm.engine import LLMEngine
from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import QuietHTTPServer, ScriptedEngine, StubLLMServer, StubReply, prompt_answer, prompt_points

MARKER = re.compile(r"\buser-(\d{3}) answer-(\d{2})\b")
COACHING = "Stub coaching: keep practising."
MAX_PROBLEMS = 20


@dataclass
class ConcurrencyReport:
    """What a concurrent run delivered, counted per turn; every count but the first three must be 0."""

    sessions: int = 0
    turns: int = 0
    replies: int = 0
    cross_talk: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    fallbacks: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.cross_talk or self.lost or self.duplicated or self.out_of_order)

    def line(self) -> str:
        return (f"concurrency {self.sessions} sessions, {self.turns} turns, {self.cross_talk} cross-talk, "
                f"{self.lost} lost, {self.duplicated} duplicated, {self.out_of_order} out of order")

    def note(self, problem: str) -> None:
        """Keep the first few problems verbatim: enough to debug, never a flood."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


# --- the stub model --------------------------------------------------------------------------------


class _BacklogHTTPServer(QuietHTTPServer):
    """The stub's server with a listen backlog for a hundred clients connecting at once
    (the default of 5 makes the kernel drop SYNs, which costs a one-second retry each)."""

    request_queue_size = 256


class WideStubLLMServer(StubLLMServer):
    """``StubLLMServer`` that accepts many simultaneous connections."""

    def _new_server(self) -> _BacklogHTTPServer:
        return _BacklogHTTPServer(self)


def marker(user: int, answer: int) -> str:
    return f"user-{user:03d} answer-{answer:02d}"


def markers_in(text: str) -> list[tuple[int, int]]:
    return [(int(u), int(a)) for u, a in MARKER.findall(text)]


def echo_rule(max_latency: float = 0.03, seed: int = 0):
    """A stub grader that covers every point, quotes the answer's first sentence and says the
    answer's marker back in its utterance, after a random delay of up to ``max_latency``."""
    rng = random.Random(seed)

    def respond(request: dict) -> StubReply:
        delay = rng.uniform(0, max_latency)
        text = str(request["messages"][-1]["content"])
        if "<candidate_answer>" not in text:
            return StubReply(content=COACHING, delay=delay)
        answer = prompt_answer(request)
        first = re.split(r"(?<=[.!?])\s", answer.strip())[0]
        found = MARKER.search(answer)
        said = found.group(0) if found else "no marker"
        points = [{"point_id": p, "reasoning": "stub", "verdict": "covered", "evidence": first} for p in prompt_points(request)]
        content = json.dumps({"analysis": "stub", "points": points, "misconceptions": [], "follow_up_point": None,
                              "utterance": f"Noted your answer, {said}."})
        return StubReply(content=content, delay=delay)

    return respond


# --- the run --------------------------------------------------------------------------------------


@dataclass
class _UserRun:
    user: int
    session: Session
    replies: list[Reply]
    streamed: list[str]
    streaming: bool = False


def answer_text(user: int, n: int) -> str:
    return (f"{marker(user, n)} says retrieval puts relevant passages into the prompt. "
            "Chunks are embedded, the closest ones are retrieved and the model grounds its answer in them.")


async def _one_user(interviewer: Interviewer, user: int, answers: int, pipelined: bool, stream: bool) -> _UserRun:
    """Start a session and send its answers: all at once (queued by the core) or one by one;
    with ``stream`` the model's words arrive through this session's own utterance sink."""
    key = f"user-{user:03d}"
    options = SessionOptions(questions=answers, max_follow_ups=0)
    session, _ = await interviewer.start(user_key=key, channel="reliability", options=options, session_key=f"conc:{key}")
    streamed: list[list[str]] = [[] for _ in range(answers)]

    def turn(n: int):
        sink = streamed[n - 1].append if stream else None
        return interviewer.handle(Turn(session_key=session.session_key, user_key=key, text=answer_text(user, n),
                                       channel="reliability"), event_id=f"{key}:{n}", on_utterance=sink)

    if pipelined:  # tasks start in creation order, so the core sees the answers in the order sent
        replies = list(await asyncio.gather(*[asyncio.ensure_future(turn(n)) for n in range(1, answers + 1)]))
    else:
        replies = [await turn(n) for n in range(1, answers + 1)]
    return _UserRun(user, session, replies, ["".join(s) for s in streamed], stream)


def _check_replies(run: _UserRun, report: ConcurrencyReport) -> None:
    """Reply n must be for this session and quote this user's answer n, and nobody else's."""
    for n, (reply, streamed) in enumerate(zip(run.replies, run.streamed), start=1):
        report.replies += 1
        if reply.session_id != run.session.id:
            report.cross_talk += 1
            report.note(f"user {run.user} turn {n}: reply for session {reply.session_id}, not {run.session.id}")
        seen = markers_in(reply.text + "\n" + streamed)
        foreign = {m for m in seen if m[0] != run.user}
        if foreign:
            report.cross_talk += 1
            report.note(f"user {run.user} turn {n}: reply shows {sorted(foreign)}")
        own = {a for u, a in seen if u == run.user}
        if run.streaming and (run.user, n) not in markers_in(streamed):
            report.lost += 1
            report.note(f"user {run.user} turn {n}: the model's streamed words never reached this session")
        if n not in own:
            report.lost += 1
            report.note(f"user {run.user} turn {n}: reply does not answer it ({reply.text[:80]!r})")
        if own - {n}:
            report.out_of_order += 1
            report.note(f"user {run.user} turn {n}: reply answers turns {sorted(own - {n})}")


def _check_transcript(run: _UserRun, store: Store, answers: int, report: ConcurrencyReport) -> None:
    """The stored session holds this user's answers only, each once, in the order sent."""
    turns = store.turns(run.session.id)
    for turn in turns:
        foreign = {m for m in markers_in(turn.text) if m[0] != run.user}
        if foreign:
            report.cross_talk += 1
            report.note(f"user {run.user}: stored {turn.kind} turn {turn.seq} shows {sorted(foreign)}")
    stored = [a for t in turns if t.role == "candidate" and t.kind == "answer" for u, a in markers_in(t.text) if u == run.user]
    counts = Counter(stored)
    report.lost += sum(1 for n in range(1, answers + 1) if counts[n] == 0)
    report.duplicated += sum(c - 1 for c in counts.values() if c > 1)
    report.out_of_order += sum(1 for before, after in zip(stored, stored[1:]) if after < before)
    if [n for n in dict.fromkeys(stored)] != list(range(1, answers + 1)):
        report.note(f"user {run.user}: stored answers {stored}")


def _check_requests(stub: StubLLMServer, report: ConcurrencyReport) -> None:
    """No prompt sent to the model mixes two users' words (a shared context would)."""
    for request in list(stub.requests):
        users = {u for m in request.get("messages", []) for u, _ in markers_in(str(m.get("content")))}
        if len(users) > 1:
            report.cross_talk += 1
            report.note(f"one model request carries the answers of users {sorted(users)}")


def _interviewer(stub: StubLLMServer, store: Store, bank: RubricBank) -> Interviewer:
    """The real core and LLM engine; a turn streams when its caller passes an utterance sink."""
    config = ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-stub", timeout=20.0, retries=2,
                         backoff=0.05, stream=True)
    fallback = ScriptedEngine(rule=lambda q, a: {p.id: "covered" for p in q.points}, name="offline", model="fallback")
    return Interviewer(bank, LLMEngine(config, fallback=fallback), store)


async def run_concurrent_sessions_async(
    n_users: int = 100,
    answers: int = 4,
    *,
    max_latency: float = 0.03,
    pipelined: bool = True,
    stream_every: int = 4,
    bank: RubricBank | None = None,
    data_dir: Path | None = None,
    seed: int = 0,
) -> ConcurrencyReport:
    """``run_concurrent_sessions`` on the running event loop."""
    report = ConcurrencyReport(sessions=n_users, turns=n_users * answers)
    bank = bank or RubricBank.load()
    with tempfile.TemporaryDirectory(prefix="interviewer-concurrency-") as scratch:
        folder = data_dir or Path(scratch)
        store = Store(f"sqlite:///{folder / 'concurrency.db'}")
        stub = WideStubLLMServer(rule=echo_rule(max_latency, seed)).start()
        try:
            interviewer = _interviewer(stub, store, bank)
            started = time.perf_counter()
            runs = await asyncio.gather(*[
                _one_user(interviewer, u, answers, pipelined, bool(stream_every) and u % stream_every == 0)
                for u in range(1, n_users + 1)
            ])
            report.seconds = time.perf_counter() - started
            for run in runs:
                _check_replies(run, report)
                _check_transcript(run, store, answers, report)
                report.fallbacks += sum(1 for g in store.assessments(run.session.id).values() if g.fallback)
            _check_requests(stub, report)
            report.model_calls = stub.calls
        finally:
            stub.stop()
            store.close()
    return report


def run_concurrent_sessions(n_users: int = 100, answers: int = 4, **options: Any) -> ConcurrencyReport:
    """Drive ``n_users`` interviews of ``answers`` answers each concurrently through the real core
    and the LLM engine (against a stub model on 127.0.0.1) in one event loop, and count what
    went astray. Options: ``max_latency``, ``pipelined``, ``stream_every`` (every n-th user's
    turns stream the model's words; 0: none), ``bank``, ``data_dir``, ``seed``."""
    return asyncio.run(run_concurrent_sessions_async(n_users, answers, **options))


if __name__ == "__main__":
    result = run_concurrent_sessions()
    print(result.line(), f"({result.seconds:.1f} s, {result.model_calls} model calls, {result.fallbacks} fallbacks)")
    for problem in result.problems:
        print("  ", problem)
