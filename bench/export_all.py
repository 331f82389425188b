"""Prints how long `interviewer transcripts export --all` takes for a history of 1,000 interviews.

Acceptance of issue 8: exporting 1,000 sessions with --all finishes in under 10 s.

How: 20 interviews of 4 questions are run through the real core (ScriptedEngine grading the
bank's graded example answers with their human verdicts: follow-ups, hints and skips included),
then copied in the database into --sessions interviews of one user, one every 6 hours backwards
from now. Each format is exported by the real command in a fresh process
(`python -m interviewer transcripts export --all --format F -o FILE`), so the time includes
start-up, reading the store, building the records and rendering; it is the median of --runs.

Usage: python bench/export_all.py [--sessions 1000] [--runs 3] [--formats md,json,html]
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["HF_HUB_OFFLINE"] = "1"

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import insert, select  # noqa: E402

from interviewer.interview.session import Interviewer  # noqa: E402
from interviewer.rubrics import RubricBank  # noqa: E402
from interviewer.storage.store import Store  # noqa: E402
from interviewer.storage.tables import AssessmentRow, SessionRow, TurnRow  # noqa: E402
from interviewer.testing import ScriptedEngine  # noqa: E402
from harness.demo import example_rule, practise_from_examples  # noqa: E402

USER = "bench-user"
TARGET_S = 10.0
TEMPLATES = 20


def seed(store: Store, bank: RubricBank, sessions: int) -> None:
    """``sessions`` interviews of USER: TEMPLATES real ones, copied with new ids and dates."""
    interviewer = Interviewer(bank, ScriptedEngine(rule=example_rule(bank.questions), name="offline", model=None), store)
    templates = asyncio.run(practise_from_examples(interviewer, USER, sessions=TEMPLATES, questions=4, seed=7))
    with store.engine.begin() as db:
        rows = {t.id: db.execute(select(SessionRow.__table__).where(SessionRow.id == t.id)).mappings().one() for t in templates}
        turns = {t.id: db.execute(select(TurnRow.__table__).where(TurnRow.session_id == t.id)).mappings().all() for t in templates}
        grades = {t.id: db.execute(select(AssessmentRow.__table__).where(AssessmentRow.session_id == t.id)).mappings().all() for t in templates}
        for t in templates:
            db.execute(SessionRow.__table__.delete().where(SessionRow.id == t.id))
        now = datetime.now(timezone.utc)
        new_sessions, new_turns, new_grades = [], [], []
        for n in range(sessions):
            template = templates[n % TEMPLATES].id
            session_id = uuid.uuid4().hex
            start = now - timedelta(hours=6 * (sessions - n))
            first = turns[template][0]["created_at"] if turns[template] else rows[template]["created_at"]
            new_sessions.append({**rows[template], "id": session_id, "session_key": session_id, "created_at": start, "updated_at": start})
            for turn in turns[template]:
                new_turns.append({**{k: v for k, v in turn.items() if k != "id"}, "session_id": session_id, "created_at": start + (turn["created_at"] - first)})
            for grade in grades[template]:
                new_grades.append({**{k: v for k, v in grade.items() if k != "id"}, "session_id": session_id, "created_at": start})
        db.execute(insert(SessionRow.__table__), new_sessions)
        db.execute(insert(TurnRow.__table__), new_turns)
        db.execute(insert(AssessmentRow.__table__), new_grades)
    print(f"  seeded {sessions} sessions, {len(new_turns):,} turns, {len(new_grades):,} grades ({TEMPLATES} real interviews, copied)")


def export(data_dir: Path, fmt: str, target: Path) -> float:
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(data_dir), "INTERVIEWER_USER": USER, "INTERVIEWER_CONFIG": str(data_dir / "none.toml")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "interviewer", "transcripts", "export", "--all", "--format", fmt, "-o", str(target)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"export --format {fmt} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="md,json,html")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        store = Store(f"sqlite:///{data_dir / 'interviewer.db'}")
        print(f"export --all of {args.sessions} sessions, {args.runs} runs per format, {os.cpu_count()} cpus:")
        seed(store, RubricBank.load(), args.sessions)
        store.close()
        worst = 0.0
        for fmt in formats:
            target = data_dir / f"all.{fmt}"
            times = [export(data_dir, fmt, target) for _ in range(args.runs)]
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"  --format {fmt:4}: median {median:.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}), {target.stat().st_size / 1e6:.1f} MB")
    verdict = "PASS" if worst < TARGET_S else "FAIL"
    print(f"{args.sessions} sessions exported with --all: slowest format {worst:.2f} s (target < {TARGET_S:.0f} s): {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
