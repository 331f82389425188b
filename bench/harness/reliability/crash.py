"""Crash safety: SIGKILL the interviewer at chosen points of a scripted session, restart it, check the store.

The parent (``run_crash_campaign``) starts a child process (``python -m
harness.reliability.crash --child``) that plays a scripted candidate through the real core
(``Interviewer`` over a SQLite ``Store``, a ``ScriptedEngine`` with a short grading delay so that
grading is a real window). The child behaves like a client that resends what it has not seen
acknowledged: every answer carries a stable event id, and after a restart it resumes the open
session and resends from the first answer it has no "committed" marker for.

Kill points: ``grading`` (during the engine's assess), ``write-answer`` / ``write-grade`` /
``write-reply`` (inside the store's transaction, after the INSERT ran and before COMMIT), and
``timer`` (the parent's SIGKILL at a random moment). The named points are hooks of this harness
only; the product code is not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import with_harness_path

USER = "crash-tester"
CHANNEL = "crash"
GRADING_DELAY = 0.03  # seconds the scripted engine "thinks": the mid-grading window
WRITE_POINTS = ("write-answer", "write-grade", "write-reply")
FINISH_POINT = "write-finish"  # the session row marked finished, after the summary turn is committed
NAMED_POINTS = ("grading", *WRITE_POINTS, FINISH_POINT)
CHILD_TIMEOUT = 60.0

# files -------------------------------------------------------------------------------------


def db_path(workdir: Path) -> Path:
    return workdir / "crash.db"


def progress_path(workdir: Path) -> Path:
    return workdir / "progress.log"


def _bank_path(workdir: Path) -> Path:
    return workdir / "crash-bank.yaml"


def _script_path(workdir: Path) -> Path:
    return workdir / "script.json"


def answer_text(k: int, question: int) -> str:
    """Answer ``k`` (1-based). Odd answers cover the first point only, so a follow-up comes on
    the second; even answers cover it: two answers per question, whatever the crashes."""
    words = "alpha beta" if k % 2 else "gamma delta"
    return f"answer {k} for question {question}: {words}."


def prepare(workdir: Path, questions: int) -> list[str]:
    """Write the question bank and the candidate's script; returns the answers in order."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = ["version: 1", "topic: crash", "title: Crash drill", "questions:"]
    for q in range(1, questions + 1):
        lines += [
            f"  - id: crash-{q:02d}",
            f"    text: Question {q}, what are alpha and gamma?",
            "    difficulty: 1",
            "    points:",
            "      - {id: alpha-beta, text: Alpha is beta., weight: 2, follow_up: What is alpha?, hint: Beta.}",
            "      - {id: gamma-delta, text: Gamma is delta., weight: 1, follow_up: What is gamma?, hint: Delta.}",
            "    model_answer: Alpha is beta and gamma is delta.",
        ]
    _bank_path(workdir).write_text("\n".join(lines) + "\n")
    answers = [answer_text(k, (k + 1) // 2) for k in range(1, 2 * questions + 1)]
    _script_path(workdir).write_text(json.dumps({"questions": questions, "answers": answers}))
    return answers


# progress markers --------------------------------------------------------------------------


@dataclass
class Marker:
    run: int
    event: str
    args: list[str]


def read_markers(workdir: Path) -> list[Marker]:
    """Every progress line written so far; a line cut by a kill mid-write is ignored."""
    path = progress_path(workdir)
    if not path.exists():
        return []
    markers = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit():
            markers.append(Marker(int(parts[0]), parts[1], parts[2:]))
    return markers


def _committed(markers: list[Marker]) -> set[int]:
    return {int(m.args[0]) for m in markers if m.event == "committed"}


class _Progress:
    """Appends one marker line per write(2): each line lands whole or not at all."""

    def __init__(self, workdir: Path, run: int) -> None:
        self.fd = os.open(progress_path(workdir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.run = run

    def mark(self, event: str, *args: object) -> None:
        os.write(self.fd, (" ".join([str(self.run), event, *map(str, args)]) + "\n").encode())


# the child ---------------------------------------------------------------------------------


@dataclass
class _DeathPlan:
    """Die at the ``nth`` event of kind ``point`` seen while an answer is being handled."""

    point: str | None
    nth: int
    progress: _Progress
    sending: int | None = None  # the answer being handled right now (None during resume)
    seen: Counter = field(default_factory=Counter)

    def reached(self, point: str) -> bool:
        if self.point != point or self.sending is None:
            return False
        self.seen[point] += 1
        return self.seen[point] == self.nth

    def die(self, point: str, detail: str = "") -> None:
        self.progress.mark("dying", point, self.sending, detail)
        os.kill(os.getpid(), signal.SIGKILL)


def _hook_engine(engine: Any, plan: _DeathPlan) -> None:
    """Kill the process halfway through the engine's grading delay."""
    original = engine.assess

    async def assess(*args: Any, **kwargs: Any) -> Any:
        if plan.reached("grading"):
            asyncio.get_running_loop().call_later(GRADING_DELAY / 2, plan.die, "grading")
        return await original(*args, **kwargs)

    engine.assess = assess


def _write_point(context: Any) -> str | None:
    """Which named write an executed statement is, if any."""
    compiled = getattr(context, "compiled", None)
    if compiled is None or not (context.isinsert or context.isupdate):
        return None
    table = compiled.statement.table.name
    params = context.compiled_parameters[0] if context.compiled_parameters else {}
    if context.isupdate:
        return "write-finish" if table == "sessions" and params.get("status") == "finished" else None
    if table == "assessments":
        return "write-grade"
    if table == "turns":
        return "write-answer" if params.get("kind") == "answer" else "write-reply" if params.get("role") == "interviewer" else None
    return None


def _hook_store(store: Any, plan: _DeathPlan) -> None:
    """Kill the process after an INSERT has run inside its transaction, before the COMMIT."""
    from sqlalchemy import event

    def after_execute(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        point = _write_point(context)
        if point is not None and plan.reached(point):
            in_tx = conn.connection.dbapi_connection.in_transaction
            plan.die(point, f"in_transaction={int(in_tx)}")

    event.listen(store.engine, "after_cursor_execute", after_execute)


async def _open_session(interviewer: Any, store: Any, progress: _Progress, workdir: Path) -> Any:
    """The candidate's session as the product would find it: resume the unfinished one, else
    start one if there has never been one."""
    from interviewer.domain import SessionOptions

    session = await asyncio.to_thread(store.latest_unfinished, USER, CHANNEL)
    if session is not None:
        await interviewer.resume(session)
        progress.mark("ready", "resume", session.id)
        return session
    existing = await asyncio.to_thread(store.sessions, USER)
    if existing:
        progress.mark("ready", "finished", existing[0].id)
        return None
    script = json.loads(_script_path(workdir).read_text())
    ids = [f"crash-{q:02d}" for q in range(1, script["questions"] + 1)]
    session, _ = await interviewer.start(
        user_key=USER, channel=CHANNEL, options=SessionOptions(question_ids=ids, max_follow_ups=1)
    )
    progress.mark("ready", "start", session.id)
    return session


async def _child(workdir: Path, run: int, die_at: str | None, stable_ids: bool = True) -> int:
    from interviewer.domain import Turn
    from interviewer.interview.session import Interviewer
    from interviewer.rubrics import RubricBank
    from interviewer.storage.store import Store
    from interviewer.testing import ScriptedEngine, keyword_rule

    progress = _Progress(workdir, run)
    point, _, nth = (die_at or "").partition(":")
    plan = _DeathPlan(point or None, int(nth or 1), progress)
    store = Store(f"sqlite:///{db_path(workdir)}")
    engine = ScriptedEngine(rule=keyword_rule, delay=GRADING_DELAY)
    _hook_engine(engine, plan)
    _hook_store(store, plan)
    interviewer = Interviewer(RubricBank.load([_bank_path(workdir)]), engine, store)
    session = await _open_session(interviewer, store, progress, workdir)
    if session is not None:
        answers = json.loads(_script_path(workdir).read_text())["answers"]
        done = _committed(read_markers(workdir))
        first = max(done, default=0) + 1  # resend everything not acknowledged, with the same ids
        for k in range(first, len(answers) + 1):
            progress.mark("sent", k)
            plan.sending = k
            turn = Turn(session_key=session.session_key, user_key=USER, text=answers[k - 1], channel=CHANNEL)
            await interviewer.handle(turn, event_id=f"answer-{k}" if stable_ids else f"answer-{k}-life-{run}")
            plan.sending = None
            progress.mark("committed", k)
        status = (await asyncio.to_thread(store.get_session, session.id)).status
        progress.mark("done", status)
    store.close()
    return 0


# the parent --------------------------------------------------------------------------------


@dataclass
class ChildRun:
    returncode: int
    killed: bool
    point: str | None  # the named point it died at, or where a timer kill landed
    stderr: str


def _landed(markers: list[Marker]) -> str:
    """Where a timer kill landed, from the last marker of that run."""
    last = markers[-1].event if markers else None
    if last == "sent":
        return "timer:handling"
    if last in ("ready", "committed"):
        return "timer:between-answers"
    return "timer:after-done" if last == "done" else "timer:startup"


def run_child(
    workdir: Path, run: int, *, die_at: str | None = None, kill_after: float | None = None, stable_ids: bool = True
) -> ChildRun:
    """One life of the interviewer; ``kill_after`` seconds after it is ready the parent SIGKILLs it.

    ``stable_ids=False`` gives every life new event ids: a client that cannot be deduplicated,
    which the checks must catch (the harness's own negative control)."""
    env = with_harness_path({**os.environ, "HF_HUB_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    command = [sys.executable, "-m", "harness.reliability.crash", "--child", "--workdir", str(workdir), "--run", str(run)]
    if die_at:
        command += ["--die-at", die_at]
    if not stable_ids:
        command.append("--unstable-ids")
    errors = workdir / f"child-{run}.stderr"
    with errors.open("w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            if kill_after is not None:
                _kill_when_ready(proc, workdir, run, kill_after)
            proc.wait(timeout=CHILD_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    mine = [m for m in read_markers(workdir) if m.run == run]
    killed = proc.returncode == -signal.SIGKILL
    dying = next((m for m in mine if m.event == "dying"), None)
    point = dying.args[0] if dying else _landed(mine) if killed else None
    return ChildRun(proc.returncode, killed, point, errors.read_text())


def _kill_when_ready(proc: subprocess.Popen, workdir: Path, run: int, delay: float) -> None:
    deadline = time.monotonic() + CHILD_TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        if any(m.run == run and m.event == "ready" for m in read_markers(workdir)):
            time.sleep(delay)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            return
        time.sleep(0.005)


@dataclass
class StoreFacts:
    """What the SQLite file holds after the campaign, read with the stdlib driver."""

    journal_mode: str
    integrity: str
    sessions: int
    finished: bool
    answers: Counter  # answer index -> stored answer turns
    duplicated_seqs: int
    duplicated_assessments: int
    ungraded_answers: int
    duplicated_questions: int
    summaries: int


def inspect_store(workdir: Path) -> StoreFacts:
    with sqlite3.connect(db_path(workdir)) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731 - a local shorthand
        answers = Counter(int(text.split()[1]) for (text,) in db.execute("SELECT text FROM turns WHERE kind = 'answer'"))
        return StoreFacts(
            journal_mode=one("PRAGMA journal_mode"),
            integrity=one("PRAGMA integrity_check"),
            sessions=one("SELECT count(*) FROM sessions"),
            finished=one("SELECT count(*) FROM sessions WHERE status = 'finished'") == 1,
            answers=answers,
            duplicated_seqs=one("SELECT count(*) - count(DISTINCT session_id || ':' || seq) FROM turns"),
            duplicated_assessments=one("SELECT count(*) - count(DISTINCT session_id || ':' || turn_seq) FROM assessments"),
            ungraded_answers=one(
                "SELECT count(*) FROM turns t WHERE t.kind = 'answer' AND NOT EXISTS "
                "(SELECT 1 FROM assessments a WHERE a.session_id = t.session_id AND a.turn_seq = t.seq)"
            ),
            duplicated_questions=one("SELECT count(*) - count(DISTINCT question_id) FROM turns WHERE kind = 'question'"),
            summaries=one("SELECT count(*) FROM turns WHERE kind = 'summary'"),
        )


@dataclass
class CrashReport:
    kills: int  # kills planned
    killed: int  # kills that happened
    resumed: int  # kills after which the next life came back to the same session
    lost: int  # acknowledged answers missing from the store
    duplicated_answers: int
    duplicated_assessments: int
    ungraded_answers: int
    duplicated_questions: int
    finished: bool
    journal_mode: str
    integrity: str
    points: dict[str, int]
    answers_expected: int
    answers_stored: int
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        duplicated = self.duplicated_answers + self.duplicated_assessments + self.duplicated_questions
        state = "finished" if self.finished else "NOT finished"
        return (
            f"kills {self.resumed}/{self.kills} resumed, {self.lost} lost, {duplicated} duplicated; "
            f"session {state}, {self.answers_stored}/{self.answers_expected} answers, "
            f"journal {self.journal_mode}, integrity {self.integrity}"
        )


def plan_kills(kills: int, rng: random.Random) -> list[str]:
    """About a third each mid-grading, mid-write and timer kills, in random order.

    The writes cycle through answer, grade and reply; the last one is the write that marks the
    session finished, which can only come once, at the very end."""
    third = round(kills / 3)
    writes = [WRITE_POINTS[i % len(WRITE_POINTS)] for i in range(max(third - 1, 0))]
    kinds = ["grading"] * third + writes + ["timer"] * (kills - 2 * third)
    rng.shuffle(kinds)
    return kinds + [FINISH_POINT] * (third > 0)


def _ready_session(markers: list[Marker], run: int) -> str | None:
    ready = next((m for m in markers if m.run == run and m.event == "ready"), None)
    return ready.args[1] if ready else None


def run_crash_campaign(kills: int = 20, seed: int = 0, *, workdir: Path, questions: int | None = None) -> CrashReport:
    """Kill the interviewer ``kills`` times during one scripted session, then check the store."""
    started = time.monotonic()
    rng = random.Random(seed)
    answers = prepare(workdir, questions or kills + 3)  # about one answer per kill, with room to spare
    points: Counter = Counter()
    problems: list[str] = []
    killed = resumed = 0
    session: str | None = None
    run = 0
    for kind in [*plan_kills(kills, rng), None]:  # None: the last life, left to finish
        run += 1
        if kind == "timer":
            result = run_child(workdir, run, kill_after=rng.uniform(0.0, 4 * GRADING_DELAY))
        else:
            nth = 1 if kind == FINISH_POINT else rng.randint(1, 2)  # the session is marked finished once
            result = run_child(workdir, run, die_at=f"{kind}:{nth}" if kind else None)
        markers = read_markers(workdir)
        now = _ready_session(markers, run)
        if run > 1 and now is not None and now == session:
            resumed += 1  # the previous life's kill was survived
        elif run > 1:
            problems.append(f"life {run} came up on session {now}, not {session}")
        session = now or session
        if result.killed:
            killed += 1
            points[result.point or "unknown"] += 1
        elif result.returncode != 0:
            problems.append(f"life {run} exited {result.returncode}: {result.stderr.strip()[-500:]}")
        elif kind is not None:
            problems.append(f"life {run} finished before its {kind} kill")
            break
    return _report(workdir, kills, killed, resumed, points, answers, problems, time.monotonic() - started)


def _report(
    workdir: Path, kills: int, killed: int, resumed: int, points: Counter, answers: list[str], problems: list[str], seconds: float
) -> CrashReport:
    facts = inspect_store(workdir)
    acknowledged = _committed(read_markers(workdir))
    lost = sum(1 for k in acknowledged if facts.answers[k] == 0)
    duplicated = sum(n - 1 for n in facts.answers.values() if n > 1) + facts.duplicated_seqs
    checks = {
        "a kill did not happen": killed == kills,
        "acknowledged answers are missing": lost == 0,
        "answers are stored twice": duplicated == 0,
        "a turn was graded twice": facts.duplicated_assessments == 0,
        "answers were never graded": facts.ungraded_answers == 0,
        "a question was asked twice": facts.duplicated_questions == 0,
        "the session did not finish": facts.finished and facts.sessions == 1 and facts.summaries == 1,
        "not every answer is stored": sorted(facts.answers) == list(range(1, len(answers) + 1)),
        "the database is not in WAL mode": facts.journal_mode == "wal",
        "the database is damaged": facts.integrity == "ok",
    }
    problems = problems + [name for name, fine in checks.items() if not fine]
    return CrashReport(
        kills=kills, killed=killed, resumed=resumed, lost=lost, duplicated_answers=duplicated,
        duplicated_assessments=facts.duplicated_assessments, ungraded_answers=facts.ungraded_answers,
        duplicated_questions=facts.duplicated_questions, finished=facts.finished, journal_mode=facts.journal_mode,
        integrity=facts.integrity, points=dict(sorted(points.items())), answers_expected=len(answers),
        answers_stored=sum(facts.answers.values()), seconds=round(seconds, 1), problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="run one life of the scripted session (internal)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--run", type=int, default=1)
    parser.add_argument("--die-at", help="POINT:N, POINT one of " + ", ".join(NAMED_POINTS))
    parser.add_argument("--unstable-ids", action="store_true", help="new event ids in every life (negative control)")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.child:
        return asyncio.run(_child(args.workdir, args.run, args.die_at, not args.unstable_ids))
    report = run_crash_campaign(args.kills, args.seed, workdir=args.workdir)
    print(report.line())
    print("points: " + ", ".join(f"{name} {n}" for name, n in report.points.items()) + f"; {report.seconds} s")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
