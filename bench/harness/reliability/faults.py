"""Fault injection in the model path: every candidate turn meets a broken model, none is lost.

``run_fault_campaign`` drives scripted interviews through the real ``Interviewer`` and
``LLMEngine`` against ``StubLLMServer`` and breaks the model once per candidate turn, cycling
through timeouts, refused connections, 429s with Retry-After, 500s, truncated JSON, JSON of the
wrong shape, empty content and a 5 MB reply. A fault is either *persistent* (every request of
the turn fails, so the offline grader must take over) or *transient* (only the first request
fails, so a retry or the repair request must recover). Each turn is then checked from the
outside: a reply came, the store holds the answer once with a grade, the grade says what
happened, and the candidate saw at most one short, clean notice.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from interviewer.domain import Assessment, Question, SessionOptions, Turn
from interviewer.grading.base import Engine
from interviewer.grading.llm.client import ModelClient, ModelConfig
from interviewer.grading.llm.engine import LLMEngine
from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import StubLLMServer, StubReply, grading_reply

FAULT_KINDS: tuple[str, ...] = (
    "timeout",
    "connection_refused",
    "rate_limit",
    "server_error",
    "truncated_json",
    "wrong_schema",
    "empty_content",
    "huge_response",
)

# The phrase each fault leaves in the stored reason (the fallback, or the note of a recovery).
RECORDED_AS: dict[str, str] = {
    "timeout": "did not answer within",
    "connection_refused": "could not be reached",
    "rate_limit": "rate limit",
    "server_error": "HTTP 500",
    "truncated_json": "not valid JSON",
    "wrong_schema": "does not match the schema",
    "empty_content": "was empty",
    "huge_response": "characters long",
}

HUGE_BYTES = 5 * 1024 * 1024
HUGE_FILLER = "FILLER "  # marks the 5 MB reply, so any echo of it is easy to spot
MAX_NOTICE_CHARS = 200
MAX_ECHO_CHARS = 4_000  # what the engine may send back of a bad reply in its repair request
# The dead-port client's own time limit. That client is new each turn and so, unlike the warmed-up
# one, builds litellm's HTTP clients on its first request; under the campaign's sub-second limit
# that setup alone can run out the clock on a busy machine and record a timeout instead of the
# refusal. A refused connection fails at once, so this limit never ends a healthy run.
DEAD_PORT_TIMEOUT = 10.0
API_KEY = "sk-fault-campaign-not-a-real-key"
_NEXT_STEP = frozenset({"feedback", "follow_up", "question", "summary"})
_LEAK = re.compile(r"Traceback|File \"|[{}]|sk-[A-Za-z0-9]")


@dataclass
class TurnOutcome:
    """What one faulted candidate turn came to."""

    kind: str
    persistent: bool
    variant: int = 0
    injected: bool = False
    completed: bool = False
    lost: bool = False
    engine: str | None = None
    recorded: str | None = None
    notices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    requests: list[float] = field(default_factory=list)  # arrival of each grading request, from the first
    echoed: int = 0


@dataclass
class FaultReport:
    """The campaign's figures; ``problems`` names every check that failed, turn by turn."""

    injected: int = 0
    completed: int = 0
    lost: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    recovered: int = 0
    notices: int = 0
    problems: list[str] = field(default_factory=list)
    outcomes: list[TurnOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        survived = sum(1 for o in self.outcomes if o.completed and not o.problems)
        return f"faults {survived}/{self.injected} survived, {self.lost} turns lost"

    def add(self, outcome: TurnOutcome) -> None:
        self.outcomes.append(outcome)
        self.injected += outcome.injected
        self.completed += outcome.completed
        self.lost += outcome.lost
        self.by_kind[outcome.kind] = self.by_kind.get(outcome.kind, 0) + outcome.injected
        self.fallbacks += outcome.engine == "offline"
        self.recovered += outcome.engine == "llm"
        self.notices += len(outcome.notices)
        self.problems.extend(f"turn {len(self.outcomes)} ({outcome.kind}): {p}" for p in outcome.problems)


# --- the faulty model ---------------------------------------------------------------------------


def _grading_request(request: dict) -> dict | None:
    """The request cut back to its assess message: a repair request carries it further up."""
    messages = request.get("messages") or []
    for n in range(len(messages) - 1, -1, -1):
        if messages[n].get("role") == "user" and "<candidate_answer>" in str(messages[n].get("content")):
            return {**request, "messages": messages[: n + 1]}
    return None


def _huge_content() -> str:
    """A grading-shaped JSON object padded to about 5 MB: big enough to hurt if echoed or stored."""
    padding = HUGE_FILLER * (HUGE_BYTES // len(HUGE_FILLER))
    return json.dumps({"analysis": padding, "points": [], "utterance": "ok"})


def _cut_body(content: str) -> bytes:
    """A chat completion whose HTTP body stops halfway: the connection dropped mid-reply."""
    whole = json.dumps({"id": "chatcmpl-cut", "object": "chat.completion", "created": 0, "model": "stub-model",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
    return whole[: len(whole) // 2].encode()


def _wrong_schema(variant: int) -> str:
    """Valid JSON that is not a grading: another shape altogether, or points with made-up verdicts."""
    if variant == 0:
        return json.dumps({"grade": 7, "comment": "a fine answer", "verdicts": "all good"})
    return json.dumps({"points": [{"point_id": "a", "verdict": "great"}, {"point_id": "b", "verdict": "fine"},
                                  {"point_id": "c"}, {"verdict": "covered"}], "utterance": 3})


def fault_reply(kind: str, request: dict, *, timeout: float, retry_after: str, variant: int = 0) -> StubReply:
    """The broken answer the stub gives for ``kind`` (connection_refused never reaches the stub).

    ``variant`` picks between two forms of the same fault: truncation of the model's text or of
    the HTTP body itself, and the two wrong shapes of ``_wrong_schema``.
    """
    if kind == "timeout":
        return StubReply(content=grading_reply(request), delay=timeout + 0.7)
    if kind == "rate_limit":
        return StubReply(status=429, content="rate limit reached, slow down", headers={"Retry-After": retry_after})
    if kind == "server_error":
        return StubReply(status=500, content="the model server crashed")
    if kind == "truncated_json":
        whole = grading_reply(request)
        return StubReply(body=_cut_body(whole)) if variant else StubReply(content=whole[: len(whole) // 2])
    if kind == "wrong_schema":
        return StubReply(content=_wrong_schema(variant))
    if kind == "empty_content":
        return StubReply(content="")
    if kind == "huge_response":
        return StubReply(content=_huge_content())
    raise ValueError(f"unknown fault kind {kind!r}")


class FaultyModel:
    """The stub's responder: grades like a good model, except while a fault is armed."""

    def __init__(self, *, timeout: float, retry_after: str) -> None:
        self.timeout = timeout
        self.retry_after = retry_after
        self.kind: str | None = None
        self.remaining: int | None = None  # faulted requests left this turn; None = all of them
        self.variant = 0
        self.served = 0
        self.arrivals: list[float] = []  # when each grading request of the turn came in
        self.echoed = 0  # the longest earlier model reply sent back to the model (the repair request)
        self._lock = threading.Lock()

    def arm(self, kind: str | None, *, persistent: bool, variant: int = 0) -> None:
        """Set the fault for the next turn; ``None`` disarms and clears the turn's observations."""
        with self._lock:
            self.kind, self.remaining, self.served = kind, (None if persistent else 1), 0
            self.variant, self.arrivals, self.echoed = variant, [], 0

    def __call__(self, request: dict) -> StubReply | str:
        grading = _grading_request(request)
        if grading is None:  # the coaching note or a generated question: not part of the campaign
            return "Revise the points you missed."
        echoed = max((len(str(m.get("content"))) for m in request["messages"] if m.get("role") == "assistant"), default=0)
        with self._lock:
            self.arrivals.append(time.monotonic())
            self.echoed = max(self.echoed, echoed)
            faulty = self.kind is not None and self.kind != "connection_refused" and self.remaining != 0
            if faulty:
                self.served += 1
                self.remaining = None if self.remaining is None else self.remaining - 1
        if faulty:
            assert self.kind is not None
            return fault_reply(self.kind, grading, timeout=self.timeout, retry_after=self.retry_after, variant=self.variant)
        return grading_reply(grading, verdict=_some_gaps)


def _some_gaps(point_id: str, answer: str) -> str:
    """Verdicts that vary with the point, so some turns get follow-ups and some move on."""
    return ("covered", "partial", "missed")[sum(map(ord, point_id + answer[:3])) % 3]


def closed_port_url() -> str:
    """An api_base on a loopback port nobody listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --- the campaign ---------------------------------------------------------------------------------


@dataclass
class _Rig:
    """Everything one campaign runs on."""

    interviewer: Interviewer
    engine: LLMEngine
    stub: StubLLMServer
    model: FaultyModel
    store: Store
    bank: RubricBank


def _answer_for(question: Question, asked: str, rng: random.Random, n: int) -> str:
    """A plausible answer with a unique tag, so the store can be searched for exactly this one."""
    source = question.model_answer or " ".join(p.text for p in question.points)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", source.strip()) if s] or [question.text]
    picked = rng.sample(sentences, min(len(sentences), rng.randint(1, 2)))
    return f"{' '.join(picked)} (candidate turn {n}, on: {asked[:40]})"


def _asked(reply: Reply) -> tuple[str | None, str]:
    """The question id and text the candidate is now expected to answer, if any."""
    for message in reversed(reply.messages):
        if message.kind in ("question", "follow_up"):
            return message.data.get("question_id"), message.text
    return None, ""


def _check_notices(reply: Reply) -> tuple[list[str], list[str]]:
    """The notices the candidate saw, and what is wrong with them."""
    notices = [m.text for m in reply.messages if m.kind in ("notice", "error")]
    problems = []
    if len(notices) > 1:
        problems.append(f"{len(notices)} notices for one fault")
    for text in notices:
        if len(text) > MAX_NOTICE_CHARS:
            problems.append(f"notice is {len(text)} chars: {text[:80]!r}...")
        if _LEAK.search(text):
            problems.append(f"notice leaks internals: {text[:120]!r}")
    for message in reply.messages:
        if HUGE_FILLER.strip() in message.text or len(message.text) > 5_000:
            problems.append(f"a {message.kind} message echoes the model's reply ({len(message.text)} chars)")
    return notices, problems


def _recorded(grade: Assessment, earlier: list[Assessment]) -> str:
    """What the grade says about this turn: the fallback reason, else the notes it added.

    A follow-up's grade is merged with the question's earlier grade and inherits its notes;
    only the ones that are new belong to this turn.
    """
    if grade.fallback:
        return grade.fallback
    seen = {note for e in earlier for note in e.notes}
    return " | ".join(n for n in grade.notes if n not in seen)


def _check_store(rig: _Rig, session_id: str, answer: str, outcome: TurnOutcome) -> None:
    """The answer is stored once, graded, and the grade names the fault."""
    turns, grades = rig.store.transcript(session_id)
    stored = [t for t in turns if t.role == "candidate" and t.kind == "answer" and t.text == answer]
    if len(stored) != 1:
        outcome.problems.append(f"the answer is stored {len(stored)} times")
    grade = grades.get(stored[0].seq) if stored else None
    if grade is None:
        outcome.lost = True
        outcome.problems.append("no stored answer with a grade: the turn is lost")
        return
    earlier = [grades[t.seq] for t in turns if t.role == "candidate" and t.kind == "answer" and t.seq < stored[0].seq
               and t.question_id == stored[0].question_id and t.seq in grades]
    outcome.engine = grade.engine
    outcome.recorded = _recorded(grade, earlier)
    wanted_engine = "offline" if outcome.persistent else "llm"
    if grade.engine != wanted_engine:
        outcome.problems.append(f"graded by {grade.engine!r}, expected {wanted_engine!r} ({outcome.recorded[:120]})")
    if RECORDED_AS[outcome.kind] not in outcome.recorded:
        outcome.problems.append(f"the grade does not record the {outcome.kind}: {outcome.recorded[:160]!r}")
    if len(outcome.recorded) > 1_000 or HUGE_FILLER.strip() in outcome.recorded:
        outcome.problems.append("the stored reason echoes the model's reply")


async def _faulted_turn(rig: _Rig, session_key: str, user_key: str, answer: str, outcome: TurnOutcome) -> Reply | None:
    """Send one answer with the fault armed; connection_refused swaps in a client aimed at a dead port."""
    rig.model.arm(outcome.kind, persistent=outcome.persistent, variant=outcome.variant)
    healthy = rig.engine.client
    if outcome.kind == "connection_refused":
        rig.engine.client = ModelClient(replace(healthy.config, api_base=closed_port_url(),
                                                timeout=max(healthy.config.timeout, DEAD_PORT_TIMEOUT)))
    started = time.perf_counter()
    try:
        return await rig.interviewer.handle(Turn(session_key=session_key, user_key=user_key, text=answer, channel="faults"))
    except Exception as exc:  # the core must never raise for a model fault: count it, keep going
        outcome.problems.append(f"handle raised {type(exc).__name__}: {str(exc)[:120]}")
        return None
    finally:
        outcome.seconds = round(time.perf_counter() - started, 3)
        rig.engine.client = healthy
        outcome.injected = outcome.kind == "connection_refused" or rig.model.served > 0
        outcome.requests = [round(t - rig.model.arrivals[0], 3) for t in rig.model.arrivals]
        outcome.echoed = rig.model.echoed
        rig.model.arm(None, persistent=False)


async def run_turn(rig: _Rig, session_key: str, session_id: str, user_key: str, answer: str, outcome: TurnOutcome) -> Reply | None:
    """One candidate turn under one fault, checked from the outside; fills in ``outcome``."""
    reply = await _faulted_turn(rig, session_key, user_key, answer, outcome)
    if reply is not None:
        outcome.notices, problems = _check_notices(reply)
        outcome.problems.extend(problems)
        outcome.completed = bool(_NEXT_STEP & {m.kind for m in reply.messages})
        if not outcome.completed:
            outcome.problems.append(f"no next step in the reply: {[m.kind for m in reply.messages]}")
    _check_store(rig, session_id, answer, outcome)
    if outcome.kind == "connection_refused" and outcome.recorded and RECORDED_AS[outcome.kind] not in outcome.recorded:
        outcome.injected = False  # the dead port was not what the engine met
    if outcome.echoed > MAX_ECHO_CHARS:
        outcome.problems.append(f"{outcome.echoed:,} chars of a model reply were sent back to the model")
    return reply


def plan(n: int, kinds: tuple[str, ...]) -> TurnOutcome:
    """The fault of the n-th turn: kinds in turn; each pass through them changes mode and form.

    Passes go persistent/form 0, transient/form 1, persistent/form 1, transient/form 0, so four
    passes meet every combination. A dead port stays dead for the whole turn (always persistent).
    """
    kind = kinds[n % len(kinds)]
    lap = n // len(kinds)
    return TurnOutcome(kind=kind, persistent=kind == "connection_refused" or lap % 2 == 0, variant=(lap + lap // 2) % 2)


async def _campaign(rig: _Rig, n_faults: int, rng: random.Random, questions: int, kinds: tuple[str, ...], report: FaultReport) -> None:
    """Interviews one after another until ``n_faults`` candidate turns have met a fault."""
    pool = [q.id for q in rig.bank.select([]) if q.points]
    n, session_no = 0, 0
    while n < n_faults:
        user = f"fault-user-{session_no % 4}"
        options = SessionOptions(question_ids=rng.sample(pool, min(questions, len(pool))), max_follow_ups=1)
        session, reply = await rig.interviewer.start(user_key=user, channel="faults", options=options,
                                                     session_key=f"faults:{session_no}")
        session_no += 1
        while n < n_faults and not reply.finished:
            question_id, asked = _asked(reply)
            if question_id is None:
                break
            outcome = plan(n, kinds)
            answer = _answer_for(rig.bank.get(question_id), asked, rng, n)
            next_reply = await run_turn(rig, session.session_key, session.id, user, answer, outcome)
            report.add(outcome)
            n += 1
            if next_reply is None:
                break
            reply = next_reply


def build_rig(
    stub: StubLLMServer,
    model: FaultyModel,
    *,
    store: Store,
    bank: RubricBank,
    fallback: Engine | None,
    timeout: float,
    retries: int,
) -> _Rig:
    """The real core and LLM engine, aimed at the stub, with fast timeouts and backoff."""
    config = ModelConfig(model="openai/stub-model", api_base=stub.url, api_key=API_KEY,
                         timeout=timeout, retries=retries, backoff=0.01, stream=False)
    engine = LLMEngine(config, fallback=fallback)
    return _Rig(Interviewer(bank, engine, store), engine, stub, model, store, bank)


async def _warm(rig: _Rig) -> None:
    """One clean call first: litellm's first request builds clients, which a short timeout would hit."""
    question = next(q for q in rig.bank.select([]) if q.points)
    await rig.engine.assess(question, "A warm-up answer.")


_BACKGROUND = ("prepare-", "embedder-load", "detector-load", "few-shot-")


def _settle_background(timeout: float = 120.0) -> None:
    """Wait for the engines' warm-up threads: one still inside torch at exit aborts the process."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.daemon and thread.name.startswith(_BACKGROUND):
            thread.join(timeout=timeout)


async def run_fault_campaign_async(
    n_faults: int,
    seed: int = 0,
    *,
    store: Store | None = None,
    bank: RubricBank | None = None,
    fallback: Engine | None = None,
    timeout: float = 0.3,
    retries: int = 1,
    retry_after: str = "0.1",
    questions: int = 3,
    kinds: tuple[str, ...] = FAULT_KINDS,
) -> FaultReport:
    """``run_fault_campaign`` for callers already on an event loop (pytest-asyncio, the bench)."""
    unknown = sorted(set(kinds) - set(FAULT_KINDS))
    if unknown or not kinds:
        raise ValueError(f"unknown fault kinds {unknown}; choose from {', '.join(FAULT_KINDS)}")
    bank = bank or RubricBank.load()
    scratch = tempfile.TemporaryDirectory(prefix="fault-campaign-") if store is None else None
    owned = Store(f"sqlite:///{Path(scratch.name) / 'faults.db'}") if scratch else None
    model = FaultyModel(timeout=timeout, retry_after=retry_after)
    report = FaultReport()
    started = time.perf_counter()
    try:
        with StubLLMServer(rule=model) as stub:
            rig = build_rig(stub, model, store=store or owned, bank=bank, fallback=fallback,  # type: ignore[arg-type]
                            timeout=timeout, retries=retries)
            await _warm(rig)
            await _campaign(rig, n_faults, random.Random(seed), questions, kinds, report)
    finally:
        await asyncio.to_thread(_settle_background)
        if owned is not None:
            owned.close()
        if scratch is not None:
            scratch.cleanup()
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def run_fault_campaign(n_faults: int, seed: int = 0, **options: Any) -> FaultReport:
    """Inject ``n_faults`` model faults, one per candidate turn, and report what survived."""
    return asyncio.run(run_fault_campaign_async(n_faults, seed, **options))
