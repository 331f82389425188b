"""Crash safety: the interviewer process SIGKILLed mid-grading, mid-write and at random, then resumed.

Every life is a real child process over one SQLite file; see interviewer/reliability/crash.py.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

from harness.reliability.crash import (
    FINISH_POINT,
    WRITE_POINTS,
    db_path,
    inspect_store,
    plan_kills,
    prepare,
    read_markers,
    run_child,
    run_crash_campaign,
)


def _kinds(workdir: Path) -> list[str]:
    with sqlite3.connect(db_path(workdir)) as db:
        return [kind for (kind,) in db.execute("SELECT kind FROM turns ORDER BY seq")]


def _grades(workdir: Path) -> int:
    with sqlite3.connect(db_path(workdir)) as db:
        return db.execute("SELECT count(*) FROM assessments").fetchone()[0]


def test_the_plan_mixes_grading_write_and_timer_kills() -> None:
    kinds = Counter(plan_kills(20, random.Random(0)))
    writes = sum(kinds[p] for p in (*WRITE_POINTS, FINISH_POINT))
    assert (kinds["grading"], writes, kinds["timer"]) == (7, 7, 6)
    assert plan_kills(20, random.Random(0))[-1] == FINISH_POINT  # it can only come at the end


def test_six_kills_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    report = run_crash_campaign(6, seed=1, workdir=tmp_path)
    assert report.problems == [], report.line()
    assert report.killed == report.resumed == 6
    assert (report.lost, report.duplicated_answers, report.duplicated_assessments) == (0, 0, 0)
    assert report.finished and report.answers_stored == report.answers_expected
    assert (report.journal_mode, report.integrity) == ("wal", "ok")
    hit = set(report.points)
    assert "grading" in hit and FINISH_POINT in hit and any(p.startswith("timer") for p in hit)
    assert "kills 6/6 resumed, 0 lost, 0 duplicated" in report.line()


def test_kill_after_the_answer_insert_before_commit_leaves_no_trace(tmp_path: Path) -> None:
    prepare(tmp_path, questions=2)
    first = run_child(tmp_path, 1, die_at="write-answer:1")
    assert first.killed and first.point == "write-answer"
    [dying] = [m for m in read_markers(tmp_path) if m.event == "dying"]
    assert dying.args == ["write-answer", "1", "in_transaction=1"]  # the INSERT had run, uncommitted
    assert _kinds(tmp_path) == ["question"]  # rolled back whole: no partial turn
    assert inspect_store(tmp_path).integrity == "ok"

    second = run_child(tmp_path, 2)
    assert second.returncode == 0, second.stderr
    facts = inspect_store(tmp_path)
    assert facts.answers == Counter({1: 1, 2: 1, 3: 1, 4: 1})  # the resent answer is stored once
    assert facts.finished and facts.ungraded_answers == facts.duplicated_assessments == 0


def test_kill_mid_grading_keeps_the_answer_and_grades_it_once_on_resume(tmp_path: Path) -> None:
    prepare(tmp_path, questions=2)
    first = run_child(tmp_path, 1, die_at="grading:1")
    assert first.killed and first.point == "grading"
    assert _kinds(tmp_path) == ["question", "answer"] and _grades(tmp_path) == 0

    second = run_child(tmp_path, 2)
    assert second.returncode == 0, second.stderr
    assert any(m.run == 2 and m.event == "sent" and m.args == ["1"] for m in read_markers(tmp_path))  # resent
    facts = inspect_store(tmp_path)
    assert facts.answers[1] == 1 and facts.ungraded_answers == 0 and facts.duplicated_assessments == 0
    assert _grades(tmp_path) == 4 and facts.finished


def test_kill_between_the_summary_and_the_finish_mark_is_repaired_on_resume(tmp_path: Path) -> None:
    prepare(tmp_path, questions=1)
    assert run_child(tmp_path, 1, die_at=f"{FINISH_POINT}:1").point == FINISH_POINT
    facts = inspect_store(tmp_path)
    assert facts.summaries == 1 and not facts.finished  # the summary committed, the session row not yet

    assert run_child(tmp_path, 2).returncode == 0
    facts = inspect_store(tmp_path)
    assert facts.finished and facts.summaries == 1


def test_the_checks_catch_a_client_without_stable_event_ids(tmp_path: Path) -> None:
    """Negative control: resending with a new id after a crash must show up as a duplicate."""
    prepare(tmp_path, questions=2)
    assert run_child(tmp_path, 1, die_at="grading:1", stable_ids=False).killed
    run_child(tmp_path, 2, stable_ids=False)
    assert inspect_store(tmp_path).answers[1] == 2
