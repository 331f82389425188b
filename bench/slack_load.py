"""Prints how 50 concurrent Slack interviews fare through the Bolt dispatcher against a 1 s model.

Acceptance of the Slack channel: 50 concurrent sessions of 5 answers each, driven through one
Bolt AsyncApp (the adapter's ``build_slack_app``) on one event loop, finish within 1.5x of the
model-bound limit (5 answers x 1 s = 5.0 s, so within 7.5 s) with no turn lost or duplicated.

How: all on 127.0.0.1. Slack's side is ``MockSlackAPI`` (the app's ``AsyncWebClient`` points at
it; auth.test answers bot user UBOT). The model is ``StubLLMServer``, reached through litellm
exactly as a real model would be: an assess request (its last message holds
``<candidate_answer>``) is answered after --latency seconds (default 1.0) with valid grading JSON
marking every point covered, so no follow-up is ever asked; the coaching request at the end of a
session is answered at once. A session therefore needs exactly 5 sequential model calls of 1 s:
that is the model-bound limit. The two servers run in a child process by default, as Slack and a
model are other machines in production: their threads would otherwise compete with the app for
this process's GIL. --in-process runs them in this process instead (as the tests do). Every
chat.postMessage reaches the candidates below the moment the mock records it (over a pipe from
the child, or straight from the mock's thread), so they wait on it without polling.

Each of the 50 candidates (users U0001..U0050, each in its own channel, so threads differ)
dispatches a signed ``/interview --questions 5`` slash command, waits for the question in its
thread, answers in the thread with a signed ``message`` event (the question's "strong" graded
example from the packaged bank plus a tag "Ref U0001-1." that ties the model request to the
answer; unique event_id), waits for the feedback and next question, and so on 5 times. All
candidates run at once (asyncio.gather). About 10% of the answer events (--duplicates) are
delivered a second time right after the first is acknowledged, with the same event_id and
``x-slack-retry-num: 1``, as Slack retries; they must be processed once.

Wall time: from the first slash command dispatched to the last summary posted. Before timing,
litellm is imported and one instant request is sent to the stub, and one ignored event is
dispatched (so Bolt's auth.test is done); --cold skips that. Afterwards the store is read back
(turns, assessments, event ids) to count lost turns (answers sent but not stored), duplicated
turns (stored more than once), follow-ups, fallback grades and finished sessions. The ack time of
every dispatch (how long ``async_dispatch`` took to return) must stay far below Slack's 3 s. To
show where time goes, each answer's time is split at its model request's arrival at the stub and
the stub's reply, the CPU this process spent in the timed phase is split by thread, and the store
(a Store subclass handed to the Interviewer) counts its calls and their CPU.

Adjustments to the doubles, in this bench only: the stub's HTTP server listens with
socketserver's default backlog of 5, too small for 50 simultaneous connections (a burst of 50
one-second requests to it takes up to 2.9 s, SYN retransmits), so it is started with a backlog
of --stub-backlog (default 128, like MockSlackAPI's); the app spreads its requests enough that 5
made no visible difference here, but nothing then depends on it. And the stub's grading_reply
quotes the answer's first sentence cut at 200 characters, which can split a word or (for one
bank answer) quote a sentence the evidence check takes for text addressed to the grader; either
would downgrade a point and bring a follow-up, so the quote here is a whole-word, acceptable
sentence (see ``quotable_grading``).

PASS/FAIL exits 0; a run whose setup did not hold (fallback grades, follow-ups, unexpected model
requests) exits 1.

Usage: python bench/slack_load.py [--sessions 50] [--answers 5] [--latency 1.0] [--duplicates 0.1]
           [--seed 1] [--cold] [--in-process] [--stub-backlog 128] [--threads N] [--timeout 60]

One script although long: the stub model, the mock Slack, the replica processes and the load
client must start and stop together; the figures come from this one file's run.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch litellm's price list
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse  # noqa: E402 - the environment above must be set before any import
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from interviewer import testing  # noqa: E402
from interviewer.testing import StubLLMServer, StubReply, prompt_answer  # noqa: E402

from harness.reliability.slack_wire import (  # noqa: E402
    asked_text, command_body, event_body, post_kinds, quotable_grading, request_kind, signed_headers, strong_answer,
    thread_message,
)
from harness.slack_stub import MockSlackAPI  # noqa: E402

SECRET = "bench-signing-secret"
TEAM = "T1"
TARGET_FACTOR = 1.5
ACK_LIMIT_MS = 3000.0
TICK = 0.01
PIPE_LIMIT = 64 * 1024 * 1024


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- the doubles, adjusted for load in this bench only ----------------------------------------------


class WatchedSlackAPI(MockSlackAPI):
    """MockSlackAPI that hands every recorded call to a listener (on the server's thread) and counts connections."""

    listener: Callable[[str, dict, float], None] | None = None
    connections = 0

    def _record(self, method: str, params: dict, token: str) -> str | None:
        error = super()._record(method, params, token)
        listener = self.listener
        if listener is not None:
            listener(method, params, time.perf_counter())
        return error

    def _track(self, connection, *, add: bool) -> None:
        if add:
            self.connections += 1
        super()._track(connection, add=add)


class LoadStub(StubLLMServer):
    """StubLLMServer with a listen backlog for many simultaneous connections, in-flight and connection counts."""

    def __init__(self, rule, backlog: int) -> None:
        super().__init__(rule=rule)
        self.backlog = backlog
        self.in_flight = 0
        self.peak = 0
        self.connections = 0
        self.timeline: list[tuple[str, str, float, float]] = []  # kind, answer's tag, arrived, answered
        self._count_lock = threading.Lock()

    def start(self) -> LoadStub:
        # As StubLLMServer.start, with a server class whose listen() backlog is ours.
        if self._httpd is not None:
            raise RuntimeError("StubLLMServer is already started")
        stub = self

        class BacklogStubHTTPServer(testing.QuietHTTPServer):
            request_queue_size = self.backlog

            def process_request(self, request, client_address):
                with stub._count_lock:
                    stub.connections += 1
                super().process_request(request, client_address)

        self._stopping.clear()
        self._httpd = BacklogStubHTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="stub-llm-server", daemon=True
        )
        self._thread.start()
        return self

    def _answer(self, handler, request: dict) -> None:
        started = time.perf_counter()
        with self._count_lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            super()._answer(handler, request)
        finally:
            answered = time.perf_counter()
            with self._count_lock:
                self.in_flight -= 1
                tag = prompt_answer(request).rsplit(" ", 1)[-1]
                self.timeline.append((request_kind(request), tag, started, answered))


def model_rule(latency: float):
    def respond(request: dict) -> StubReply:
        kind = request_kind(request)
        if kind == "assess":
            return StubReply(content=quotable_grading(request), delay=latency)
        if kind == "coaching":
            return StubReply(content="coaching", delay=0.0)
        return StubReply(content="ok", delay=0.0)  # the warm-up request

    return respond


@dataclass
class Served:
    """What the two servers saw, read after the run."""

    posts: int = 0
    methods: dict[str, int] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    peak: int = 0
    timeline: list[tuple[str, str, float, float]] = field(default_factory=list)
    model_connections: int = 0
    slack_connections: int = 0
    cpu_s: float | None = None  # the servers' own process CPU, when they ran in a child

    @classmethod
    def of(cls, stub: LoadStub, mock: WatchedSlackAPI, cpu_s: float | None = None) -> Served:
        calls = mock.calls
        return cls(
            posts=sum(1 for name, _ in calls if name == "chat.postMessage"),
            methods=dict(Counter(name for name, _ in calls)),
            tokens=sorted(set(mock.tokens)),
            kinds=dict(Counter(kind for kind, *_ in stub.timeline)),
            peak=stub.peak,
            timeline=list(stub.timeline),
            model_connections=stub.connections,
            slack_connections=mock.connections,
            cpu_s=cpu_s,
        )


def serve_child(latency: float, backlog: int) -> int:
    """--serve: run the two servers; stdout gets one JSON line per post, then what they saw."""
    out = sys.stdout
    lock = threading.Lock()

    def emit(message: dict) -> None:
        line = json.dumps(message)
        with lock:
            out.write(line + "\n")
            out.flush()

    def listener(method: str, params: dict, at: float) -> None:
        if method == "chat.postMessage":
            emit({"post": params, "at": at})

    stub = LoadStub(model_rule(latency), backlog).start()
    mock = WatchedSlackAPI(team_id=TEAM).start()
    mock.listener = listener
    started = time.process_time()
    emit({"ready": {"slack": mock.url, "model": stub.url}})
    sys.stdin.readline()  # "stop", or EOF when the parent is gone
    served = Served.of(stub, mock, cpu_s=time.process_time() - started)
    mock.listener = None
    emit({"done": served.__dict__})
    mock.stop()
    stub.stop()
    return 0


class Servers:
    """The mock Slack Web API and the stub model, in a child process or in this one."""

    def __init__(self, latency: float, backlog: int, *, in_process: bool) -> None:
        self.latency, self.backlog, self.in_process = latency, backlog, in_process
        self.slack_url = self.model_url = ""
        self.on_post: Callable[[dict, float], None] = lambda params, at: None
        self._stub: LoadStub | None = None
        self._mock: WatchedSlackAPI | None = None
        self._child: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._done: asyncio.Future | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.in_process:
            self._stub = LoadStub(model_rule(self.latency), self.backlog).start()
            self._mock = WatchedSlackAPI(team_id=TEAM).start()
            self._mock.listener = lambda method, params, at: (
                loop.call_soon_threadsafe(self.on_post, params, at) if method == "chat.postMessage" else None
            )
            self.slack_url, self.model_url = self._mock.url, self._stub.url
            return
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "--serve", "--latency", str(self.latency),
            "--stub-backlog", str(self.backlog),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=PIPE_LIMIT,
        )
        ready = json.loads(await asyncio.wait_for(self._child.stdout.readline(), 60))["ready"]
        self.slack_url, self.model_url = ready["slack"], ready["model"]
        self._done = loop.create_future()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._child is not None and self._done is not None
        while line := await self._child.stdout.readline():
            message = json.loads(line)
            if "post" in message:
                self.on_post(message["post"], message["at"])
            elif "done" in message:
                done = message["done"]
                done["timeline"] = [tuple(row) for row in done["timeline"]]
                self._done.set_result(Served(**done))
                return
        if not self._done.done():
            self._done.set_exception(RuntimeError("the server process ended without a report"))

    async def finish(self) -> Served:
        if self.in_process:
            assert self._stub is not None and self._mock is not None
            served = Served.of(self._stub, self._mock)
            self._mock.stop()
            self._stub.stop()
            return served
        assert self._child is not None and self._done is not None
        self._child.stdin.write(b"stop\n")
        await self._child.stdin.drain()
        served = await asyncio.wait_for(self._done, 30)
        await self._child.wait()
        return served

    async def kill(self) -> None:
        if self._child is not None and self._child.returncode is None:
            self._child.kill()
            await self._child.wait()
        if self._mock is not None:
            self._mock.stop()
        if self._stub is not None:
            self._stub.stop()


# --- signed Slack requests -----------------------------------------------------------------------


def signed(body: str, content_type: str, *, retry: int | None = None):
    from slack_bolt.request.async_request import AsyncBoltRequest

    headers = {"content-type": [content_type]}
    headers.update({name: [value] for name, value in signed_headers(SECRET, body, retry=retry).items()})
    return AsyncBoltRequest(body=body, headers=headers)


def command(slack_url: str, channel: str, user: str, text: str):
    return signed(command_body(slack_url, channel, user, text, team=TEAM), "application/x-www-form-urlencoded")


def event(payload: dict, event_id: str, *, retry: int | None = None):
    return signed(event_body(payload, event_id, team=TEAM), "application/json", retry=retry)


# --- measuring ---------------------------------------------------------------------------------------


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each live thread of this process, by native id (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    seconds = {}
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            seconds[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks
    except OSError:
        return {}
    return seconds


@dataclass
class CpuWindow:
    """This process's CPU over the timed phase, split by thread."""

    wall: float = 0.0
    process: float = 0.0
    loop: float = 0.0  # the event loop's thread
    workers: float = 0.0  # asyncio.to_thread's pool: the store's reads and writes
    start: dict[int, float] = field(default_factory=dict)
    started_process: float = 0.0
    started_wall: float = 0.0

    def begin(self) -> None:
        self.start = thread_cpu()
        self.started_process = time.process_time()
        self.started_wall = time.perf_counter()

    def end(self) -> None:
        now = thread_cpu()
        self.wall = time.perf_counter() - self.started_wall
        self.process = time.process_time() - self.started_process
        names = {t.native_id: t.name for t in threading.enumerate()}
        main = threading.main_thread().native_id
        for tid, cpu in now.items():
            spent = cpu - self.start.get(tid, 0.0)
            if tid == main:
                self.loop += spent
            elif str(names.get(tid, "")).startswith(("asyncio_", "bench-to-thread")):
                self.workers += spent


async def loop_lag(sink: list[float]) -> None:
    """How busy the event loop is: the delay of a 10 ms timer, over and over."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        sink.append((time.perf_counter() - started - TICK) * 1000)


STORE_METHODS = ("active_session", "create_session", "seen_questions", "append_turn", "turns", "add_assessment",
                 "assessments", "finish_session")


def counting_store(url: str):
    """A Store that counts its calls and the CPU they take (the core reaches it through asyncio.to_thread)."""
    from interviewer.storage.store import Store

    class CountingStore(Store):
        counting = False

        def __init__(self, url: str) -> None:
            super().__init__(url)
            self.calls: Counter[str] = Counter()
            self.cpu_s: Counter[str] = Counter()
            self._count_lock = threading.Lock()

    def counted(name: str):
        method = getattr(Store, name)

        def call(self, *args, **kwargs):
            if not self.counting:
                return method(self, *args, **kwargs)
            started = time.thread_time()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._count_lock:
                    self.calls[name] += 1
                    self.cpu_s[name] += spent

        call.__name__ = name
        return call

    for name in STORE_METHODS:
        setattr(CountingStore, name, counted(name))
    return CountingStore(url)


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    n: int
    user: str
    channel: str
    thread: str | None = None
    sent: list[str] = field(default_factory=list)  # event ids of answers sent (first deliveries)
    answered: int = 0
    follow_ups: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    first_question_at: float | None = None
    summary_at: float | None = None
    turn_s: list[float] = field(default_factory=list)  # answer dispatched -> next question/summary posted
    tags: list[tuple[str, float]] = field(default_factory=list)  # (tag ending the answer, dispatched at)
    posted_at: list[float] = field(default_factory=list)  # when the reply to each answer was posted


@dataclass
class Run:
    candidates: list[Candidate] = field(default_factory=list)
    ack_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    duplicates_sent: list[str] = field(default_factory=list)
    started: float = 0.0
    warm_up_s: float | None = None
    lag_ms: list[float] = field(default_factory=list)  # how late a 10 ms timer fired, all through the timed phase
    cpu: CpuWindow = field(default_factory=CpuWindow)


class Posts:
    """chat.postMessage calls per channel, as the mock records them, for the candidates to wait on."""

    def __init__(self) -> None:
        self.queues: defaultdict[str, asyncio.Queue] = defaultdict(asyncio.Queue)

    def put(self, params: dict, at: float) -> None:  # on the event loop
        self.queues[str(params.get("channel"))].put_nowait((at, params))

    async def next(self, channel: str, timeout: float) -> tuple[float, dict]:
        return await asyncio.wait_for(self.queues[channel].get(), timeout)


async def acked(app, request, sink: list[float]) -> int:
    started = time.perf_counter()
    response = await app.async_dispatch(request)
    sink.append((time.perf_counter() - started) * 1000)
    return response.status


async def interview(app, slack_url: str, posts: Posts, run: Run, who: Candidate, *, answers: int,
                    by_text: dict, duplicate: set[tuple[int, int]], timeout: float) -> None:
    who.started = time.perf_counter()
    status = await acked(app, command(slack_url, who.channel, who.user, f"--questions {answers}"), run.ack_ms["command"])
    if status != 200:
        who.errors.append(f"command answered HTTP {status}")
        return
    asked: str | None = None
    try:
        while asked is None:  # the root announcement (no thread) first, then the question in its thread
            at, post = await posts.next(who.channel, timeout)
            if post.get("thread_ts") and "question" in post_kinds(post):
                who.thread, asked, who.first_question_at = post["thread_ts"], asked_text(post), at
        turn = 0
        while True:
            turn += 1
            event_id = f"Ev{who.n:04d}x{turn:02d}"
            ts = f"1800000000.{who.n * 100 + turn:06d}"
            tag = f"{who.user}-{turn}."  # ends the answer: ties the model request to it
            text = f"{strong_answer(by_text.get(asked or ''), asked or '')} Ref {tag}"
            payload = thread_message(who.channel, who.user, who.thread, text, ts)
            sent_at = time.perf_counter()
            status = await acked(app, event(payload, event_id), run.ack_ms["answer"])
            if status != 200:
                who.errors.append(f"answer {turn} answered HTTP {status}")
                return
            who.sent.append(event_id)
            who.tags.append((tag, sent_at))
            if (who.n, turn) in duplicate:  # Slack's retry: same event_id, retry header
                status = await acked(app, event(payload, event_id, retry=1), run.ack_ms["retry"])
                run.duplicates_sent.append(event_id)
                if status != 200:
                    who.errors.append(f"retry of answer {turn} answered HTTP {status}")
            asked = None
            while True:  # feedback, then the next question or the summary (possibly over several posts)
                at, post = await posts.next(who.channel, timeout)
                if post.get("thread_ts") != who.thread:
                    who.errors.append(f"a post outside the thread: {post.get('text', '')[:60]!r}")
                    continue
                kinds = post_kinds(post)
                if "error" in kinds:
                    who.errors.append(f"error posted: {post.get('text', '')[:80]!r}")
                if "summary" in kinds:
                    who.answered, who.summary_at = turn, at
                    who.turn_s.append(at - sent_at)
                    who.posted_at.append(at)
                    return
                if "question" in kinds:
                    asked = asked_text(post)
                    break
                if "follow_up" in kinds:
                    who.follow_ups += 1
                    asked = asked or ""
                    break
            who.answered = turn
            who.turn_s.append(at - sent_at)
            who.posted_at.append(at)
    except asyncio.TimeoutError:
        who.errors.append(f"nothing posted for {timeout:g} s after answer {who.answered + 1}")


async def warm_up(app, config) -> float:
    """litellm's import and first call, and Bolt's auth.test, before timing starts."""
    from interviewer.grading.llm.client import ModelClient, litellm_module

    started = time.perf_counter()
    await asyncio.to_thread(litellm_module)
    await ModelClient(config).complete([{"role": "user", "content": "warm-up"}])
    chatter = {"type": "message", "channel": "C0000", "channel_type": "channel", "user": "U0000", "text": "hello",
               "ts": "1799999999.000001"}  # channel chatter outside any thread: ignored by the adapter
    await app.async_dispatch(event(chatter, "EvWarm"))
    await asyncio.sleep(0.1)
    return time.perf_counter() - started


@dataclass
class Stored:
    sessions: int = 0
    finished: int = 0
    answer_turns: int = 0
    assessments: int = 0
    summaries: int = 0
    follow_up_turns: int = 0
    fallbacks: int = 0
    not_llm: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)  # answers stored with an event id we never sent
    bad_sessions: list[str] = field(default_factory=list)


def read_back(store, run: Run, answers: int) -> Stored:
    from sqlalchemy import text as sql

    stored = Stored()
    sent = {event_id for who in run.candidates for event_id in who.sent}
    with store.engine.connect() as db:
        rows = db.execute(sql("SELECT event_id, COUNT(*) FROM turns WHERE kind = 'answer' GROUP BY event_id")).all()
    counts = Counter({event_id: n for event_id, n in rows})
    stored.lost = sorted(sent - counts.keys())
    stored.duplicated = sorted(e for e, n in counts.items() if n > 1)
    stored.unexpected = sorted(str(e) for e in counts.keys() - sent)
    for who in run.candidates:
        for summary in store.list_sessions(f"slack:{TEAM}:{who.user}", 10):
            session = summary.session
            stored.sessions += 1
            stored.finished += session.status == "finished"
            turns = store.turns(session.id)
            grades = store.assessments(session.id)
            kinds = Counter(t.kind for t in turns)
            stored.answer_turns += kinds["answer"]
            stored.summaries += kinds["summary"]
            stored.follow_up_turns += kinds["follow_up"]
            stored.assessments += len(grades)
            stored.fallbacks += sum(1 for g in grades.values() if g.fallback)
            stored.not_llm += sum(1 for g in grades.values() if g.engine != "llm")
            if (kinds["answer"], len(grades), kinds["summary"], session.status) != (answers, answers, 1, "finished"):
                stored.bad_sessions.append(
                    f"{who.user}: {kinds['answer']} answers, {len(grades)} assessments, {kinds['summary']} summaries, "
                    f"{session.status}"
                )
    return stored


async def drive(args, bank, store) -> tuple[Run, Served]:
    from slack_sdk.web.async_client import AsyncWebClient

    from interviewer.grading.llm.client import ModelConfig
    from interviewer.grading.llm.engine import LLMEngine
    from interviewer.interview.session import Interviewer
    from interviewer.testing import ScriptedEngine
    from interviewer_adapters.slack_server import build_slack_app
    from interviewer_adapters.slack_blocks import escape

    loop = asyncio.get_running_loop()
    if args.threads:
        loop.set_default_executor(ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="bench-to-thread"))
    servers = Servers(args.latency, args.stub_backlog, in_process=args.in_process)
    posts = Posts()
    servers.on_post = posts.put
    await servers.start()
    try:
        config = ModelConfig(model="openai/bench", api_base=servers.model_url, timeout=30, retries=0, stream=False)
        engine = LLMEngine(config, fallback=ScriptedEngine(rule=lambda q, a: {}, name="offline", model="fallback"))
        interviewer = Interviewer(bank, engine, store)
        import aiohttp

        http_session = aiohttp.ClientSession()  # one connection pool for every Web API call, as `serve` does
        client = AsyncWebClient(token="xoxb-bench", base_url=servers.slack_url, session=http_session)
        app, _ = build_slack_app(interviewer, token="xoxb-bench", signing_secret=SECRET, client=client)
        by_text = {escape(q.text): q for q in bank.questions.values()}

        run = Run()
        if not args.cold:
            run.warm_up_s = await warm_up(app, config)
        rng = random.Random(args.seed)
        pairs = [(n, t) for n in range(1, args.sessions + 1) for t in range(1, args.answers + 1)]
        duplicate = set(rng.sample(pairs, round(len(pairs) * args.duplicates)))
        run.candidates = [Candidate(n=n, user=f"U{n:04d}", channel=f"C{n:04d}") for n in range(1, args.sessions + 1)]
        store.counting = True
        run.cpu.begin()
        run.started = time.perf_counter()
        ticker = asyncio.create_task(loop_lag(run.lag_ms))
        await asyncio.gather(*(
            interview(app, servers.slack_url, posts, run, who, answers=args.answers, by_text=by_text,
                      duplicate=duplicate, timeout=args.timeout)
            for who in run.candidates
        ))
        run.cpu.end()
        store.counting = False
        ticker.cancel()
        await asyncio.sleep(0.3)  # late duplicates would show up here
        served = await servers.finish()
        await http_session.close()
    finally:
        await servers.kill()
    return run, served


# --- the report --------------------------------------------------------------------------------------


def phases(run: Run, served: Served) -> tuple[list[float], list[float], list[float]]:
    """Per answer: dispatch -> its model request arrived, the model's time, model reply -> post (seconds)."""
    requests = {}
    for kind, tag, arrived, answered in served.timeline:
        if kind == "assess":
            requests.setdefault(tag, (arrived, answered))
    before, model, after = [], [], []
    for who in run.candidates:
        for (tag, sent_at), posted_at in zip(who.tags, who.posted_at):
            found = requests.get(tag)
            if found is None:
                continue
            arrived, answered = found
            before.append(arrived - sent_at)
            model.append(answered - arrived)
            after.append(posted_at - answered)
    return before, model, after


def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    return (f"p50 {percentile(values, 50):.{digits}f} {unit}  p95 {percentile(values, 95):.{digits}f} {unit}  "
            f"max {max(values):.{digits}f} {unit}")


def report(run: Run, stored: Stored, served: Served, args, store) -> bool:
    sessions, answers = args.sessions, args.answers
    limit = answers * args.latency
    target = TARGET_FACTOR * limit
    ends = [who.summary_at for who in run.candidates if who.summary_at is not None]
    complete = len(ends) == sessions
    wall = (max(ends) - run.started) if ends else float("nan")
    per_session = [who.summary_at - who.started for who in run.candidates if who.summary_at is not None]
    first = [who.first_question_at - who.started for who in run.candidates if who.first_question_at is not None]
    turn_s = [t for who in run.candidates for t in who.turn_s]
    kinds = Counter(served.kinds)
    answered = sum(len(who.sent) for who in run.candidates)
    follow_ups = sum(who.follow_ups for who in run.candidates)
    errors = [f"{who.user}: {e}" for who in run.candidates for e in who.errors]
    expected_posts = sessions * (2 + answers)  # root, first question, then one post per answer

    if run.warm_up_s is not None:
        print(f"  warm-up before timing (litellm import + first call, Bolt auth.test): {run.warm_up_s:.1f} s")
    else:
        print("  cold: no warm-up; litellm's import and first call and Bolt's auth.test are inside the wall time")
    print(f"  wall time, first command -> last summary posted: {wall:.2f} s "
          f"(model-bound limit {answers} x {args.latency:g} s = {limit:.1f} s; target <= {target:.1f} s)")
    if per_session:
        print(f"  per session, command -> summary: min {min(per_session):.2f} s  p50 {statistics.median(per_session):.2f} s  "
              f"max {max(per_session):.2f} s; command -> first question: {spread(first)}")
    if turn_s:
        print(f"  per answer, answer dispatched -> next question/summary posted: {spread(turn_s)} (model {args.latency:g} s)")
    before, model, after = phases(run, served)
    if before:
        print(f"    answer dispatched -> its model request reached the stub: {spread(before)}")
        print(f"    the stub model, request arrived -> reply written:       {spread(model)}")
        print(f"    model reply written -> next question/summary posted:    {spread(after)}")
    cpu = run.cpu
    if cpu.wall:
        rest = cpu.process - cpu.loop - cpu.workers
        where = "in a child process" if served.cpu_s is not None else "in this process (counted under other threads)"
        print(f"  this process's CPU over the timed phase ({cpu.wall:.1f} s): {cpu.process:.1f} s = event loop thread "
              f"{cpu.loop:.1f} s + to_thread workers {cpu.workers:.1f} s + other threads {rest:.1f} s; servers {where}"
              + (f" used {served.cpu_s:.1f} s" if served.cpu_s is not None else ""))
    if store.calls:
        turns = max(1, sum(len(who.sent) for who in run.candidates))
        listing = ", ".join(f"{name} {n / turns:.1f}" for name, n in store.calls.most_common())
        calls = sum(store.calls.values())
        print(f"  store calls in the timed phase: {calls} ({calls / turns:.1f} per answer, starts and ends included: "
              f"{listing}), their CPU {sum(store.cpu_s.values()):.1f} s")
    if run.lag_ms:
        late = sum(1 for v in run.lag_ms if v > 50)
        print(f"  event loop lag (lateness of a 10 ms timer, {len(run.lag_ms)} ticks): {spread(run.lag_ms, 'ms', 0)}; "
              f"{late} ticks late by > 50 ms")
    print(f"  sessions finished: {stored.finished}/{sessions} (stored {stored.sessions}); "
          f"summaries posted: {len(ends)}, stored: {stored.summaries}")
    print(f"  turns answered: {answered}; answer turns stored: {stored.answer_turns}; assessments stored: {stored.assessments}")
    print(f"  lost turns (sent, not stored): {len(stored.lost)}; duplicated turns (stored twice): {len(stored.duplicated)}"
          + (f"; stored with an unknown event id: {len(stored.unexpected)}" if stored.unexpected else ""))
    extra_turns = stored.answer_turns - (answered - len(stored.lost))
    extra_assess = kinds["assess"] - answered
    print(f"  duplicates delivered (same event_id, x-slack-retry-num: 1): {len(run.duplicates_sent)}; "
          f"processed: {max(0, extra_turns)} extra turns, {max(0, extra_assess)} extra model calls")
    print(f"  follow-ups asked: {follow_ups} posted, {stored.follow_up_turns} stored (expected 0: every point covered)")
    warm = " + 1 warm-up" if run.warm_up_s is not None else ""
    print(f"  stub model requests: {kinds['assess']} assess + {kinds['coaching']} coaching + {kinds['other']} other "
          f"(expected {sessions * answers} + {sessions}{warm}); peak {served.peak} in flight at once, "
          f"over {served.model_connections} connections")
    print(f"  chat.postMessage calls: {served.posts} (expected {expected_posts}: root, question, then one per answer); "
          f"Slack API calls {sum(served.methods.values())} over {served.slack_connections} connections; "
          f"tokens seen: {', '.join(served.tokens)}")
    for name in ("command", "answer", "retry"):
        values = run.ack_ms.get(name) or []
        if values:
            print(f"  ack of {name} dispatches ({len(values)}): {spread(values, 'ms', 1)}")
    every = [v for values in run.ack_ms.values() for v in values]
    slowest_ack = max(every) if every else float("nan")
    print(f"  ack of all {len(every)} dispatches: {spread(every, 'ms', 1)} (Slack's limit {ACK_LIMIT_MS:.0f} ms)")
    print(f"  grades: {stored.fallbacks} fell back, {stored.not_llm} not from the LLM engine")
    problems = errors + stored.bad_sessions
    for line in problems[:5]:
        print(f"  problem: {line}")
    if len(problems) > 5:
        print(f"  ... {len(problems) - 5} more problems")

    never_sent = sum(max(0, answers - len(who.sent)) for who in run.candidates if who.summary_at is None)
    lost = len(stored.lost) + never_sent  # sent and not stored, or never sent because a session stalled
    duplicated = len(stored.duplicated) + max(0, extra_turns)
    ok = (complete and wall <= target and lost == 0 and duplicated == 0 and stored.finished == sessions
          and not stored.bad_sessions and slowest_ack < ACK_LIMIT_MS and served.posts == expected_posts
          and extra_assess <= 0)
    verdict = "PASS" if ok else "FAIL"
    print(f"{sessions} sessions x {answers} answers: wall {wall:.1f} s (limit {limit:.1f} s, target <= {target:.1f} s): "
          f"{verdict}; {lost} lost, {duplicated} duplicated")
    valid = (stored.fallbacks == 0 and stored.not_llm == 0 and follow_ups == 0 and stored.follow_up_turns == 0
             and kinds["other"] <= (1 if run.warm_up_s is not None else 0))
    if not valid:
        print("INVALID: the setup did not hold (fallback grades, follow-ups or unexpected model requests)")
    return valid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=50, help="concurrent Slack sessions (default 50)")
    parser.add_argument("--answers", type=int, default=5, help="questions, so answers, per session (default 5)")
    parser.add_argument("--latency", type=float, default=1.0, help="the stub model's latency per assess call in s (default 1.0)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of answer events delivered twice (default 0.1)")
    parser.add_argument("--seed", type=int, default=1, help="which answers are delivered twice (default 1)")
    parser.add_argument("--cold", action="store_true", help="no warm-up: litellm's import is inside the wall time")
    parser.add_argument("--in-process", action="store_true",
                        help="run the mock Slack API and the stub model in this process (default: a child process)")
    parser.add_argument("--stub-backlog", type=int, default=128,
                        help="listen backlog of the stub model server (default 128; the stub's own default is 5)")
    parser.add_argument("--threads", type=int, default=32,
                        help="size of the loop's default executor (asyncio.to_thread); default 32, as `interviewer serve slack` "
                             f"sets it; 0: asyncio's own, min(32, cpus + 4) = {min(32, (os.cpu_count() or 1) + 4)} here")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any one post (default 60)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        return serve_child(args.latency, args.stub_backlog)
    if args.sessions < 1 or not 1 <= args.answers <= 50 or not 0 <= args.duplicates <= 1:
        parser.error("--sessions >= 1, 1 <= --answers <= 50, 0 <= --duplicates <= 1")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    executor = args.threads or min(32, (os.cpu_count() or 1) + 4)
    where = "in this process" if args.in_process else "in a child process"
    print(f"{args.sessions} concurrent Slack sessions x {args.answers} answers through one Bolt AsyncApp, "
          f"stub model {args.latency:g} s per assess call, {args.duplicates:.0%} of answers delivered twice; "
          f"mock Slack API and stub model {where}; to_thread pool {executor} threads, {os.cpu_count()} cpus:")
    with tempfile.TemporaryDirectory() as tmp:
        store = counting_store(f"sqlite:///{tmp}/bench.db")
        try:
            run, served = asyncio.run(drive(args, bank, store))
            stored = read_back(store, run, args.answers)
        finally:
            store.close()
    valid = report(run, stored, served, args, store)
    return 0 if valid else 1  # PASS or FAIL exit 0; only a run whose setup did not hold is invalid


if __name__ == "__main__":
    sys.exit(main())
