"""A fleet of Slack replicas over shared services: does every turn happen exactly once, in order?

N real ``interviewer serve slack --http`` processes share one PostgreSQL database and one Chroma
server, as a scaled-out deployment does. This process plays everyone else, all on 127.0.0.1:

- Slack's Web API (``MockSlackAPI``): the replicas post questions and feedback to it, and every
  post is handed to the candidate whose channel it is in;
- the model gateway (``StubLLMServer``): grades every point covered after a fixed latency, and
  counts which replica asked (each replica uses its own model name) and whether the prompt carried
  study material retrieved from the Chroma server;
- Slack's Events API and the load balancer: each candidate's slash command and answers are signed
  and posted to a replica picked per request (round-robin over all requests, as most load
  balancers do, or at random), so one interview's turns land on different replicas. A share of the answers is delivered to
  two replicas at once (same event_id, same body), the way an event retried by Slack while the
  first delivery is still in flight lands on another replica behind a load balancer.

Afterwards the database is read back: every answer stored once, graded once, in the order it was
sent, every session finished, and every thread got exactly one reply per answer. The timed phase
(first command to last summary) gives the fleet's throughput in answers per second.

One module although long: starting the fleet, driving it and reading the database back are one
campaign with one set of processes to clean up.
"""

from __future__ import annotations

import asyncio
import html
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.testing import QuietHTTPServer, StubLLMServer, StubReply

from harness.reliability.services import free_port, quiet_env, stop_process
from harness.reliability.slack_wire import (
    TEAM, asked_text, command_body, event_body, post_kinds, quotable_grading, request_kind, signed_headers,
    strong_answer, thread_message,
)
from harness.slack_stub import MockSlackAPI

SECRET = "fleet-signing-secret"
BOT_TOKEN = "xoxb-fleet"
MODEL_PREFIX = "replica-"
CITATION = re.compile(r"^\[1\] (\S+\.md > .+)$", re.M)
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class FleetSpec:
    """What to run: how many replicas and candidates, and how the model and Slack behave."""

    replicas: int = 3
    sessions: int = 60
    answers: int = 2
    latency: float = 0.2  # the stub model's seconds per grading request
    duplicates: float = 0.2  # share of answers delivered to two replicas at once
    max_parallel: int = 0  # each replica's INTERVIEWER_LLM_MAX_PARALLEL (0: no cap)
    seed: int = 1
    balance: str = "round-robin"  # how requests are spread: "round-robin" (most load balancers) or "random"
    post_timeout: float = 120.0  # the longest a candidate waits for any one reply


@dataclass
class FleetReport:
    """The counts of one run; ``clean`` says whether every turn happened exactly once, in order."""

    replicas: int = 0
    sessions: int = 0
    answers_sent: int = 0
    duplicate_deliveries: int = 0
    answers_stored: int = 0
    graded: int = 0
    finished: int = 0
    lost: int = 0
    duplicated: int = 0
    double_graded: int = 0
    out_of_order: int = 0
    extra_posts: int = 0
    fallbacks: int = 0
    follow_ups: int = 0
    rejected_requests: int = 0
    by_replica: dict[str, int] = field(default_factory=dict)  # grading requests per replica
    with_material: int = 0
    material_chunks: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds in the timed phase: each replica, driver, machine
    problems: list[str] = field(default_factory=list)

    @property
    def turns_per_second(self) -> float:
        return self.graded / self.seconds if self.seconds else 0.0

    @property
    def clean(self) -> bool:
        return (self.lost == self.duplicated == self.double_graded == self.out_of_order == self.extra_posts == 0
                and self.rejected_requests == 0 and self.finished == self.sessions
                and self.answers_stored == self.graded == self.answers_sent and not self.problems)

    def line(self) -> str:
        spread = ", ".join(f"{name} {n}" for name, n in sorted(self.by_replica.items()))
        plural = "s" if self.replicas != 1 else ""
        return (f"fleet of {self.replicas} replica{plural}, {self.sessions} sessions, {self.answers_sent} answers sent "
                f"(+{self.duplicate_deliveries} delivered to two replicas at once): {self.answers_stored} stored, "
                f"{self.graded} graded, {self.finished} finished; {self.lost} lost, {self.duplicated} duplicated, "
                f"{self.double_graded} graded twice, {self.out_of_order} out of order, {self.extra_posts} extra replies; "
                f"graded by {spread}; material in {self.with_material}/{self.graded} prompts; "
                f"{self.turns_per_second:.1f} answers/s")


# --- the doubles: Slack's Web API and the model gateway -------------------------------------------


class _Posts(MockSlackAPI):
    """MockSlackAPI that hands every chat.postMessage to the waiting candidate's queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(team_id=TEAM)
        self._loop = loop
        self.queues: defaultdict[str, asyncio.Queue] = defaultdict(asyncio.Queue)

    def _record(self, method: str, params: dict, token: str) -> str | None:
        error = super()._record(method, params, token)
        if method == "chat.postMessage":
            self._loop.call_soon_threadsafe(self.queues[str(params.get("channel"))].put_nowait, params)
        return error

    async def next(self, channel: str, timeout: float) -> dict:
        return await asyncio.wait_for(self.queues[channel].get(), timeout)


class _BackloggedHTTPServer(QuietHTTPServer):
    request_queue_size = 128  # every replica opens its connections at once; 5 costs SYN retries


class _Gateway(StubLLMServer):
    """The model gateway: grading after a fixed latency, and who asked, with what context."""

    def __init__(self, latency: float) -> None:
        super().__init__(rule=self._respond)
        self.latency = latency
        self.by_replica: Counter[str] = Counter()
        self.with_material = 0
        self.citations: Counter[str] = Counter()
        self.material_by: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self._count = threading.Lock()

    def _new_server(self) -> _BackloggedHTTPServer:
        return _BackloggedHTTPServer(self)

    def material_from(self, replica: str) -> int:
        """How many of the replica's grading requests carried retrieved study material."""
        with self._count:
            return self.material_by[replica]

    def forget(self) -> None:
        """Start counting afresh (after the warm-up)."""
        with self._count:
            self.by_replica.clear()
            self.citations.clear()
            self.material_by.clear()
            self.kinds.clear()
            self.with_material = 0

    def _respond(self, request: dict) -> StubReply:
        kind = request_kind(request)
        with self._count:
            self.kinds[kind] += 1
            if kind == "assess":
                self.by_replica[str(request.get("model"))] += 1
                prompt = "\n".join(str(m.get("content")) for m in request.get("messages") or [])
                found = CITATION.search(prompt.split("Study material retrieved", 1)[-1])
                if found:
                    self.with_material += 1
                    self.material_by[str(request.get("model"))] += 1
                    self.citations[found.group(1)] += 1
        if kind == "assess":
            return StubReply(content=quotable_grading(request), delay=self.latency)
        return StubReply(content="Stub coaching: keep practising.")


# --- the replicas --------------------------------------------------------------------------------


@dataclass
class _Replica:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


def _replica_env(name: str, root: Path, database_url: str, chroma_url: str, gateway: str, slack: str, spec: FleetSpec) -> dict[str, str]:
    env = quiet_env()
    env.pop("INTERVIEWER_CONFIG", None)
    env.update(
        INTERVIEWER_DATA_DIR=str(root / name), INTERVIEWER_CONFIG=str(root / "no-config.toml"),
        INTERVIEWER_DATABASE_URL=database_url, INTERVIEWER_CHROMA_URL=chroma_url,
        INTERVIEWER_MODEL=f"openai/{name}", INTERVIEWER_API_BASE=gateway, INTERVIEWER_LLM_RETRIES="0",
        INTERVIEWER_LLM_MAX_PARALLEL=str(spec.max_parallel), INTERVIEWER_LLM_STREAM="false",
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack,
        # One torch thread each, as in a container of one core: replicas sharing the cores of one
        # machine would otherwise each start a thread per core for every embedding.
        OMP_NUM_THREADS="1",
    )
    return env


@contextmanager
def _replicas(spec: FleetSpec, root: Path, database_url: str, chroma_url: str, gateway: str, slack: str) -> Iterator[list[_Replica]]:
    """Start every replica at once (so they also migrate the empty database at once)."""
    started: list[_Replica] = []
    try:
        for n in range(1, spec.replicas + 1):
            name, port = f"{MODEL_PREFIX}{n}", free_port()
            log = root / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "interviewer", "serve", "slack", "--http", "--host", "127.0.0.1", "--port", str(port)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=_replica_env(name, root, database_url, chroma_url, gateway, slack, spec),
                )
            started.append(_Replica(name, port, process, log))
        yield started
    finally:
        for replica in started:
            stop_process(replica.process)


async def _listening(replica: _Replica, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(f"{replica.name} exited with {replica.process.returncode}: "
                               f"{replica.log.read_text(errors='replace')[-1500:]}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", replica.port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    raise RuntimeError(f"{replica.name} did not listen within {timeout:.0f} s: {replica.log.read_text(errors='replace')[-1500:]}")


# --- the candidates ------------------------------------------------------------------------------


@dataclass
class _Candidate:
    n: int
    user: str
    channel: str
    thread: str | None = None
    sent: list[str] = field(default_factory=list)  # event ids, in the order sent
    tags: list[str] = field(default_factory=list)
    posts: int = 0
    follow_ups: int = 0
    summary_at: float | None = None
    errors: list[str] = field(default_factory=list)


class _Driver:
    """Plays Slack and the load balancer for every candidate."""

    def __init__(self, spec: FleetSpec, replicas: list[_Replica], posts: _Posts, gateway: _Gateway, bank: Any) -> None:
        self.spec, self.replicas, self.posts, self.gateway = spec, replicas, posts, gateway
        self.started = 0.0
        self.cpu_at_start: dict[str, float] = {}
        self._next = 0  # the round-robin position
        self.rng = random.Random(spec.seed)
        self.by_text = {q.text: q for q in bank.questions.values()}
        self.duplicates_sent = 0
        self.rejected: list[str] = []
        self._http: Any = None

    async def run(self) -> list[_Candidate]:
        import aiohttp

        candidates = [_Candidate(n=n, user=f"U{n:04d}", channel=f"C{n:04d}") for n in range(1, self.spec.sessions + 1)]
        pairs = [(c.n, t) for c in candidates for t in range(1, self.spec.answers + 1)]
        self.twice = set(self.rng.sample(pairs, round(len(pairs) * self.spec.duplicates)))
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as self._http:
            await self._warm_up()
            self.cpu_at_start = _cpu_now(self.replicas)
            self.started = time.perf_counter()
            # Each candidate draws from a generator of its own: with random balancing the same
            # requests go to the same replicas whatever order the event loop runs candidates in.
            await asyncio.gather(*(self._interview(who, random.Random(f"{self.spec.seed}-{who.n}")) for who in candidates))
        return candidates

    async def _warm_up(self) -> None:
        """One short interview on each replica before timing: litellm's import and first call,
        Bolt's auth.test and the study material's first query happen here, not in the figures."""
        await asyncio.gather(*(self._warm(n, replica) for n, replica in enumerate(self.replicas)))
        self.gateway.forget()

    async def _warm(self, n: int, replica: _Replica, tries: int = 10) -> None:
        """Interviews on one replica until its grading request carries study material (the
        replica opens the material in the background as it starts)."""
        for attempt in range(tries):
            who = _Candidate(n=9000 + 100 * n + attempt, user=f"UW{n:03d}{attempt:02d}", channel=f"CW{n:03d}{attempt:02d}")
            await self._interview(who, random.Random(0), answers=1, only=replica, twice=False)
            if who.errors or who.summary_at is None:
                raise RuntimeError(f"{replica.name} failed its warm-up interview: {who.errors or 'no summary'}")
            if self.gateway.material_from(replica.name):
                return
        raise RuntimeError(f"{replica.name} graded {tries} warm-up answers without study material from the Chroma server")

    async def _deliver(self, who: _Candidate, replica: _Replica, body: str, content_type: str) -> None:
        headers = {"content-type": content_type, **signed_headers(SECRET, body)}
        async with self._http.post(replica.events_url, data=body.encode(), headers=headers) as response:
            await response.read()
            if response.status != 200:
                self.rejected.append(f"{who.user} -> {replica.name}: HTTP {response.status}")

    async def _interview(self, who: _Candidate, rng: random.Random, *, answers: int | None = None,
                         only: _Replica | None = None, twice: bool = True) -> None:
        """One candidate's interview: each request to a replica picked at random (or ``only``)."""
        spec = self.spec
        answers = answers or spec.answers
        replicas = [only] if only is not None else self.replicas
        try:
            body = command_body(self.posts.url, who.channel, who.user, f"--questions {answers}")
            await self._deliver(who, self._pick(replicas, rng, 1)[0], body, "application/x-www-form-urlencoded")
            asked = None
            while asked is None:  # the root announcement (no thread) first, then the question in its thread
                post = await self.posts.next(who.channel, spec.post_timeout)
                who.posts += 1
                if post.get("thread_ts") and "question" in post_kinds(post):
                    who.thread, asked = post["thread_ts"], asked_text(post)
            for turn in range(1, answers + 1):
                event_id, tag = f"Ev{who.n:04d}x{turn:02d}", f"{who.user}-{turn}."
                text = f"{strong_answer(self.by_text.get(html.unescape(asked or '')), asked or '')} Ref {tag}"  # posts escape &, <, >
                ts = f"1800000000.{who.n * 100 + turn:06d}"
                body = event_body(thread_message(who.channel, who.user, who.thread or "", text, ts), event_id)
                doubled = twice and (who.n, turn) in self.twice and len(replicas) > 1
                targets = self._pick(replicas, rng, 2 if doubled else 1)
                await asyncio.gather(*(self._deliver(who, r, body, "application/json") for r in targets))
                self.duplicates_sent += len(targets) - 1
                who.sent.append(event_id)
                who.tags.append(tag)
                asked = await self._reply(who)
                if asked is None:
                    return
        except asyncio.TimeoutError:
            who.errors.append(f"nothing posted for {spec.post_timeout:g} s after answer {len(who.sent)}")

    def _pick(self, replicas: list[_Replica], rng: random.Random, count: int) -> list[_Replica]:
        """Where the load balancer sends a request: ``count`` distinct replicas."""
        if self.spec.balance == "random" or len(replicas) == 1:
            return rng.sample(replicas, count)
        picked = [replicas[(self._next + k) % len(replicas)] for k in range(count)]
        self._next += count
        return picked

    async def _reply(self, who: _Candidate) -> str | None:
        """Wait for the reply to an answer; the next question's text, or None after the summary."""
        while True:
            post = await self.posts.next(who.channel, self.spec.post_timeout)
            who.posts += 1
            if post.get("thread_ts") != who.thread:
                who.errors.append(f"a post outside the thread: {str(post.get('text'))[:60]!r}")
                continue
            kinds = post_kinds(post)
            if "error" in kinds:
                who.errors.append(f"error posted: {str(post.get('text'))[:80]!r}")
            if "summary" in kinds:
                who.summary_at = time.perf_counter()
                return None
            if "question" in kinds:
                return asked_text(post)
            if "follow_up" in kinds:
                who.follow_ups += 1
                return ""


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds all cores of the machine have been busy so far (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- reading back --------------------------------------------------------------------------------


def _read_back(database_url: str, candidates: list[_Candidate], report: FleetReport) -> None:
    from sqlalchemy import text

    from interviewer.storage.store import Store

    store = Store(database_url, auto_migrate=False)
    try:
        for who in candidates:
            sessions = store.list_sessions(f"slack:{TEAM}:{who.user}", 10)
            if len(sessions) != 1:
                report.problems.append(f"{who.user}: {len(sessions)} sessions stored")
            for summary in sessions:
                _check_session(store, summary.session, who, report)
        with store.engine.connect() as db:
            rows = db.execute(text("SELECT event_id, COUNT(*) FROM turns WHERE kind = 'answer' GROUP BY event_id")).all()
        seen_events = Counter({str(event_id): n for event_id, n in rows})
        sent = {e for who in candidates for e in who.sent}
        report.lost += len(sent - seen_events.keys())
        report.duplicated += sum(1 for n in seen_events.values() if n > 1)
    finally:
        store.close()


def _check_session(store: Any, session: Any, who: _Candidate, report: FleetReport) -> None:
    turns = store.turns(session.id)
    grades = store.assessments(session.id)
    answers = [t for t in turns if t.kind == "answer"]
    report.answers_stored += len(answers)
    report.graded += sum(1 for t in answers if t.seq in grades)
    report.double_graded += max(0, len(grades) - len({t.seq for t in answers} & grades.keys()))
    report.fallbacks += sum(1 for g in grades.values() if g.fallback)
    report.finished += session.status == "finished"
    tags = [t.text.rsplit(" ", 1)[-1] for t in answers]
    if tags != who.tags:
        report.out_of_order += 1
        report.problems.append(f"{who.user}: answers stored as {tags}, sent as {who.tags}")
    seqs = [t.seq for t in turns]
    if seqs != sorted(set(seqs)):
        report.out_of_order += 1
        report.problems.append(f"{who.user}: turn numbers {seqs}")
    for before, after in zip(turns, turns[1:]):
        if before.role == after.role == "candidate":
            report.out_of_order += 1
            report.problems.append(f"{who.user}: two candidate turns in a row at {before.seq}, {after.seq}")
            break


# --- the run -------------------------------------------------------------------------------------


def _cpu_now(replicas: list[_Replica]) -> dict[str, float]:
    """CPU seconds used so far by each replica, this process and the whole machine."""
    cpu = {r.name.removeprefix(MODEL_PREFIX): _process_cpu(r.process.pid) for r in replicas}
    cpu["driver"] = time.process_time()
    cpu["machine"] = _machine_busy()
    return cpu


def _index_material(chroma_url: str, root: Path) -> int:
    """The packaged study material, indexed on the server once before any replica asks for it."""
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase, ensure_material
    from interviewer.knowledge.service import MATERIAL

    kb = KnowledgeBase(make_client(root / "indexer", chroma_url), MATERIAL)
    ensure_material(kb)
    return kb.count()


async def _run(spec: FleetSpec, root: Path, database_url: str, chroma_url: str, bank: Any) -> FleetReport:
    report = FleetReport(replicas=spec.replicas, sessions=spec.sessions)
    loop = asyncio.get_running_loop()
    posts = _Posts(loop)
    gateway = _Gateway(spec.latency)
    with ExitStack() as stack:
        stack.enter_context(posts)
        stack.enter_context(gateway)
        setup = time.perf_counter()
        # Indexed before the replicas start: one of them would otherwise spend its first
        # half-minute embedding the material while the others wait for it.
        report.material_chunks = await asyncio.to_thread(_index_material, chroma_url, root)
        replicas = stack.enter_context(_replicas(spec, root, database_url, chroma_url, gateway.url, posts.url))
        await asyncio.gather(*(_listening(r, 180) for r in replicas))
        report.startup_seconds = time.perf_counter() - setup

        driver = _Driver(spec, replicas, posts, gateway, bank)
        candidates = await driver.run()
        before = driver.cpu_at_start
        report.cpu = {name: round(after - before.get(name, 0.0), 1) for name, after in _cpu_now(replicas).items()}
        ends = [who.summary_at for who in candidates if who.summary_at is not None]
        report.seconds = (max(ends) if ends else time.perf_counter()) - driver.started
        await asyncio.sleep(1.0)  # a reply to a duplicate would arrive now
        for who in candidates:
            queue = posts.queues[who.channel]
            while not queue.empty():
                post = queue.get_nowait()
                report.extra_posts += 1
                report.problems.append(f"{who.user}: an extra reply {sorted(post_kinds(post))}: {str(post.get('text'))[:120]!r}")
        await asyncio.to_thread(_read_back, database_url, candidates, report)
    report.answers_sent = sum(len(who.sent) for who in candidates)
    report.duplicate_deliveries = driver.duplicates_sent
    report.follow_ups = sum(who.follow_ups for who in candidates)
    report.rejected_requests = len(driver.rejected)
    report.by_replica = {name.removeprefix(MODEL_PREFIX): n for name, n in gateway.by_replica.items()}
    report.with_material = gateway.with_material
    report.problems = (driver.rejected + [f"{w.user}: {e}" for w in candidates for e in w.errors] + report.problems)[:MAX_PROBLEMS]
    return report


def run_fleet(spec: FleetSpec, *, database_url: str, chroma_url: str, root: Path, bank: Any = None) -> FleetReport:
    """Run the fleet against an empty database and a running Chroma server; files go in ``root``."""
    from interviewer.rubrics import RubricBank

    root.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(spec, root, database_url, chroma_url, bank or RubricBank.load()))


def replica_logs(root: Path) -> str:
    """The tail of every replica's log, for a failure message."""
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(root.glob(f"{MODEL_PREFIX}*.log")))
