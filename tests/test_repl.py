"""The terminal channel end to end: piped stdin into the real CLI, offline engine, real store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from cli_process import run_interviewer

pytestmark = pytest.mark.slow


def cli(*args: str, stdin: str = "", timeout: float = 180) -> subprocess.CompletedProcess:
    return run_interviewer(*args, stdin=stdin, timeout=timeout)


def three_questions(bank: RubricBank) -> list:
    with_examples = [q for q in sorted(bank.questions.values(), key=lambda q: q.id) if len(q.examples) >= 3]
    return with_examples[:3]


def example(question, label: str) -> str:
    return next(e.answer for e in question.examples if e.label == label).strip()


def test_scripted_interview_orders_strong_partial_weak(bank: RubricBank, isolated_data_dir: Path) -> None:
    q1, q2, q3 = three_questions(bank)
    answers = [example(q1, "strong"), example(q2, "partial"), "Hmm, I am not sure. Something with data?"]
    args = ["practice", "--follow-ups", "0"] + [a for q in (q1, q2, q3) for a in ("-q", q.id)]
    result = cli(*args, stdin="\n\n".join(answers) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "Question 1/3" in out and "Question 3/3" in out
    assert "Interview summary" in out

    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    [summary] = store.list_sessions("tester")
    grades = list(store.assessments(summary.session.id).values())
    scores = [g.score for g in grades]
    assert [g.question_id for g in grades] == [q1.id, q2.id, q3.id]
    assert scores[0] > scores[1] > scores[2], scores
    for grade in grades:
        for verdict in grade.verdicts:
            if verdict.verdict.value != "missed":
                assert verdict.evidence and verdict.evidence.split()[0] in " ".join(answers)

    shown = cli("transcripts", "show", summary.session.id[:8])
    assert shown.returncode == 0, shown.stderr
    assert f"score {scores[0]:.1f}/10" in shown.stdout
    covered = next(v for v in grades[0].verdicts if v.evidence)
    assert covered.point_id in shown.stdout

    listed = cli("transcripts", "list")
    assert summary.session.id[:8] in listed.stdout


def test_follow_up_answers_come_from_the_next_paragraph(bank: RubricBank, isolated_data_dir: Path) -> None:
    q1 = three_questions(bank)[0]
    result = cli("practice", "-q", q1.id, stdin="I don't know.\n\nhint\n\nend\n")
    assert result.returncode == 0, result.stderr
    assert "follow-up" in result.stdout
    assert "Hint:" in result.stdout
    assert "Interview summary" in result.stdout


def test_huge_and_empty_answers_are_handled_politely(bank: RubricBank) -> None:
    q1 = three_questions(bank)[0]
    huge = ("Embeddings map words to vectors. " * 7000).strip()  # about 230 kB
    result = cli("practice", "--follow-ups", "0", "-q", q1.id, stdin=f"...\n\n{huge}\n")
    assert result.returncode == 0, result.stderr
    assert "didn't catch an answer" in result.stdout
    assert "I graded the first" in result.stdout
    assert "Score" in result.stdout


def test_unknown_topic_is_one_clear_line() -> None:
    result = cli("practice", "--topic", "quantum-knitting")
    assert result.returncode == 1
    assert "unknown topic 'quantum-knitting'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_broken_rubric_file_is_one_clear_line(tmp_path: Path) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    result = cli("rubrics", "check", str(fixtures / "unknown_key.yaml"))
    assert result.returncode == 1
    assert "unknown_key.yaml:11: question 'broken-one'" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("rubrics", "check", str(fixtures / "missing_field.yaml"))
    assert "question 'broken-two'" in result.stderr and "follow_up" in result.stderr


def test_rubrics_check_and_list_on_the_packaged_bank() -> None:
    result = cli("rubrics", "check")
    assert result.returncode == 0, result.stderr
    assert "all rubrics valid" in result.stdout
    listed = cli("rubrics", "list")
    assert "embeddings" in listed.stdout


@pytest.mark.parametrize("command", [[], ["practice"], ["resume"], ["rubrics", "check"], ["rubrics", "list"], ["transcripts", "list"], ["transcripts", "show"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_resume_with_nothing_to_resume() -> None:
    result = cli("resume")
    assert result.returncode == 1
    assert "no interrupted interview to resume" in result.stderr


def _answer_rows(db: Path) -> list[tuple[int, str]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT seq, text FROM turns WHERE kind='answer' ORDER BY seq").fetchall()
    except sqlite3.OperationalError:
        return []


def test_kill_minus_nine_mid_interview_then_resume(bank: RubricBank, isolated_data_dir: Path) -> None:
    q1, q2, q3 = three_questions(bank)
    db = isolated_data_dir / "interviewer.db"
    first_answer = example(q1, "strong")
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "practice", "--follow-ups", "0", "-q", q1.id, "-q", q2.id, "-q", q3.id],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, env=os.environ.copy(),
    )
    assert proc.stdin is not None
    proc.stdin.write(first_answer + "\n\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while not _answer_rows(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # most likely mid-grading: the model is still loading
    proc.wait(timeout=10)
    assert [text for _, text in _answer_rows(db)] == [first_answer]

    second, third = example(q2, "strong"), example(q3, "weak")
    result = cli("resume", stdin=f"{second}\n\n{third}\n")
    assert result.returncode == 0, result.stderr
    assert "Resuming your interview" in result.stdout
    assert "Interview summary" in result.stdout
    assert [text for _, text in _answer_rows(db)] == [first_answer, second, third]
    with sqlite3.connect(db) as conn:
        graded = conn.execute("SELECT question_id FROM assessments ORDER BY turn_seq").fetchall()
        asked = conn.execute("SELECT question_id FROM turns WHERE kind='question' ORDER BY seq").fetchall()
    assert [g[0] for g in graded] == [q1.id, q2.id, q3.id]          # each answer graded exactly once
    assert [a[0] for a in asked] == [q1.id, q2.id, q3.id]           # no question asked twice


def test_a_closed_output_pauses_and_saves_instead_of_waiting_invisibly(isolated_data_dir) -> None:
    """`make practice 2>&1 | tee log`, then Ctrl-C killed tee: the interviewer kept waiting for an
    answer nobody could see, for 45 minutes. It now pauses and exits once the output is gone."""
    import os
    import subprocess
    import sys
    import time

    from interviewer.storage.store import Store

    process = subprocess.Popen([sys.executable, "-m", "interviewer", "practice", "-n", "1", "-q", "rag-what-and-why"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        seen = ""
        while "question 1/1" not in seen.lower():                               # closed mid-question, even
            line = process.stdout.readline()
            assert line, process.stderr.read()
            seen += line
        process.stdout.close()                                                # the reader goes away; stdin stays open
        started = time.monotonic()
        rc = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    said = process.stderr.read()
    assert rc == 0 and time.monotonic() - started < 30, said
    assert "paused and saved" in said and "interviewer resume" in said and "Traceback" not in said
    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    try:
        [summary] = store.list_sessions("tester")
        assert summary.session.status == "active"                            # resumable
    finally:
        store.close()


def test_a_command_alone_on_a_line_is_sent_without_a_blank_line() -> None:
    import io

    from interviewer_adapters.repl import paragraphs

    read = paragraphs(io.StringIO("hint\nmy answer\nsecond line\n\nskip\n"))
    assert [next(read), next(read), next(read)] == ["hint", "my answer\nsecond line", "skip"]
