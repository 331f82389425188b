"""``interviewer.review.progress``: trends per topic, the weakest rubric points and the next practice set.

Exact expectations come from hand-built records over a small hand-built bank; a realistic
history recorded through the real core (``practise_from_examples``) checks that the report holds
together on what the store really produces.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from interviewer.domain import Question, RubricFile, RubricPoint, Verdict
from interviewer.interview.records import GradeRecord, PointRecord, QuestionRecord, SessionRecord, session_record
from interviewer.interview.session import Interviewer
from interviewer.review.progress import (
    DRILL_COMMAND,
    ProgressReport,
    comparison_weight,
    point_reason,
    progress_report,
    trend_of,
)
from interviewer.review.progress_view import render_progress, sparkline
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine
from harness.demo import backdate, example_rule, practise_from_examples

T0 = datetime(2026, 11, 1, 18, tzinfo=timezone.utc)


# --- a small bank and hand-built records ------------------------------------------------------------


def _question(qid: str, topic: str, difficulty: int, points: dict[str, float]) -> Question:
    return Question(
        id=qid, text=f"Question {qid}?", difficulty=difficulty, topic=topic,
        points=[
            RubricPoint(id=pid, text=f"{qid} point {pid}", weight=weight, follow_up=f"And {pid}?", hint=f"Think of {pid}.",
                        cite=f"{topic}.md > {pid.title()}")
            for pid, weight in points.items()
        ],
    )


def small_bank() -> RubricBank:
    """rag: 4 questions, stats: 3, emb: 1 (never practised in these tests)."""
    bank = RubricBank()
    questions = {
        ("rag", "RAG"): [
            _question("rag-a", "rag", 2, {"chunking": 2.0, "rerank": 1.0}),
            _question("rag-b", "rag", 2, {"fusion": 1.0, "bm25": 1.0}),
            _question("rag-c", "rag", 1, {"why": 1.0}),
            _question("rag-d", "rag", 3, {"eval": 1.0, "faithful": 1.0}),
        ],
        ("stats", "Statistics"): [
            _question("st-a", "stats", 1, {"mean": 1.0, "median": 3.0}),
            _question("st-b", "stats", 2, {"clt": 1.0}),
            _question("st-c", "stats", 3, {"skew": 1.0}),
        ],
        ("emb", "Embeddings"): [_question("em-a", "emb", 1, {"dense": 1.0})],
    }
    for (topic, title), qs in questions.items():
        bank.add(RubricFile(version=1, topic=topic, title=title, questions=qs), Path(f"{topic}.yaml"))
    return bank


def answered(bank: RubricBank, qid: str, verdicts: dict[str, str], *, skipped: bool = False) -> QuestionRecord:
    """A graded question; the score follows from the verdicts and the bank's weights."""
    question = bank.questions[qid]
    points = [
        PointRecord(point_id=p.id, text=p.text, weight=p.weight, verdict=verdicts.get(p.id, "covered"), cite=p.cite)
        for p in question.points
    ]
    total = sum(p.weight for p in points)
    score = round(10 * sum(p.weight * Verdict(p.verdict).credit for p in points) / total, 2)
    return _qrecord(qid, question.topic, bank.topics[question.topic], question.difficulty, points, score, skipped=skipped)


def _qrecord(qid: str, topic: str, title: str, difficulty: int, points: list[PointRecord] | None, score: float | None,
             *, skipped: bool = False, generated: bool = False) -> QuestionRecord:
    grades = [] if points is None else [GradeRecord(turn_seq=2, score=score, engine="skip" if skipped else "offline", points=points)]
    return QuestionRecord(
        index=1, question_id=qid, topic=topic, topic_title=title, difficulty=difficulty, kind="concept",
        generated=generated, text=f"Question {qid}?", exchanges=[], grades=grades,
        score=score if points is not None else None, skipped=skipped, hints=0, follow_ups=0,
    )


def scored(bank: RubricBank, qid: str, score: float) -> QuestionRecord:
    """A question graded to an exact score (every point partial, so nothing but the score matters)."""
    record = answered(bank, qid, {p.id: "partial" for p in bank.questions[qid].points})
    final = record.grades[0].model_copy(update={"score": score})
    return record.model_copy(update={"score": score, "grades": [final]})


def session(n: int, day: int, questions: list[QuestionRecord], *, user: str = "alice") -> SessionRecord:
    questions = [q.model_copy(update={"index": i}) for i, q in enumerate(questions, 1)]
    started = T0 + timedelta(days=day)
    graded = [q.score for q in questions if q.score is not None]
    return SessionRecord(
        id=f"s{n:02d}", user=user, channel="repl", status="finished", started_at=started,
        last_activity_at=started + timedelta(minutes=10), duration_seconds=600.0, planned_questions=len(questions),
        topics=sorted({q.topic for q in questions}), average=round(sum(graded) / len(graded), 2) if graded else None,
        topic_scores={}, engines=["offline"], models=[], prompt_versions=[], questions=questions,
    )


def _keys(report: ProgressReport) -> list[tuple[str, str]]:
    return [(p.question_id, p.point_id) for p in report.weakest_points]


def _ids(report: ProgressReport) -> list[str]:
    return [s.question_id for s in report.suggested]


# --- weakest points -------------------------------------------------------------------------------


def test_a_point_missed_in_every_session_ranks_first() -> None:
    bank = small_bank()
    history = [
        session(1, 0, [answered(bank, "rag-a", {"chunking": "missed", "rerank": "partial"}), answered(bank, "st-a", {"median": "partial"})]),
        session(2, 3, [answered(bank, "rag-a", {"chunking": "missed"}), answered(bank, "st-a", {"mean": "missed"})]),
        session(3, 6, [answered(bank, "rag-a", {"chunking": "missed", "rerank": "partial"}), answered(bank, "st-a", {})]),
    ]
    report = progress_report(history, bank)
    top = report.weakest_points[0]
    assert (top.question_id, top.point_id) == ("rag-a", "chunking")
    assert (top.attempts, top.missed, top.mean_credit, top.lost_weight, top.last_verdict) == (3, 3, 0.0, 6.0, "missed")
    assert top.history == ["missed", "missed", "missed"]
    assert top.priority == pytest.approx(2.0 * (1 + 0.5 + 0.25))
    assert (top.text, top.topic, top.topic_title, top.cite) == ("rag-a point chunking", "rag", "RAG", "rag.md > Chunking")
    assert top.in_bank and not top.generated
    assert point_reason(top) == "you missed 'rag-a point chunking' all 3 times"
    # points that never lost credit are not listed; partial credit counts half
    rerank = next(p for p in report.weakest_points if p.point_id == "rerank")
    assert (rerank.attempts, rerank.partial, rerank.covered, rerank.mean_credit, rerank.lost_weight) == (3, 2, 1, 0.67, 1.0)
    assert ("rag-b", "fusion") not in _keys(report)
    assert all(p.lost_weight > 0 for p in report.weakest_points)


def test_a_point_fixed_in_the_latest_session_ranks_below_one_still_missed() -> None:
    bank = small_bank()
    history = [  # newest first, as load_records returns them
        session(3, 6, [answered(bank, "st-a", {"median": "covered"}), answered(bank, "rag-b", {"fusion": "missed"})]),
        session(2, 3, [answered(bank, "st-a", {"median": "missed"})]),
        session(1, 0, [answered(bank, "st-a", {"median": "missed"})]),
    ]
    report = progress_report(history, bank)
    fixed = next(p for p in report.weakest_points if p.point_id == "median")
    open_ = next(p for p in report.weakest_points if p.point_id == "fusion")
    # the fixed point lost far more weight overall (2 x 3.0 against 1 x 1.0) ...
    assert fixed.lost_weight == 6.0 and open_.lost_weight == 1.0
    assert fixed.fixed and fixed.last_verdict == "covered" and fixed.history == ["missed", "missed", "covered"]
    # ... but recent attempts weigh more and an open point outranks a fixed one
    assert fixed.priority == pytest.approx(3.0 * 0.25 + 3.0 * 0.5)
    assert _keys(report).index(("rag-b", "fusion")) < _keys(report).index(("st-a", "median"))
    assert report.weakest_points[0].point_id == "fusion"


def test_recency_decay_orders_points_with_the_same_total_loss() -> None:
    bank = small_bank()
    history = [
        session(1, 0, [answered(bank, "rag-b", {"fusion": "missed"}), answered(bank, "st-b", {"clt": "partial"})]),
        session(2, 3, [answered(bank, "rag-b", {"fusion": "partial"}), answered(bank, "st-b", {"clt": "missed"})]),
    ]
    report = progress_report(history, bank)
    fusion = next(p for p in report.weakest_points if p.point_id == "fusion")
    clt = next(p for p in report.weakest_points if p.point_id == "clt")
    assert fusion.lost_weight == clt.lost_weight == 1.5 and fusion.mean_credit == clt.mean_credit == 0.25
    assert clt.priority == pytest.approx(1.25) and fusion.priority == pytest.approx(1.0)
    assert _keys(report)[:2] == [("st-b", "clt"), ("rag-b", "fusion")]  # missed last time beats partial last time


def test_ties_go_to_the_lower_mean_credit_then_the_more_recent() -> None:
    bank = small_bank()
    history = [
        session(1, 0, [answered(bank, "rag-c", {"why": "missed"})]),
        session(2, 3, [answered(bank, "st-b", {"clt": "missed"}), answered(bank, "st-c", {"skew": "partial"})]),
        session(3, 6, [answered(bank, "st-c", {"skew": "partial"})]),
    ]
    report = progress_report(history, bank)
    # rag-c/why: 1 attempt, priority 1.0, credit 0; st-b/clt: the same, but seen later;
    # st-c/skew: priority 0.5 + 0.25 = 0.75
    assert _keys(report) == [("st-b", "clt"), ("rag-c", "why"), ("st-c", "skew")]


# --- trends ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "latest, earlier, trend, direction",
    [
        ([8.0], [4.0, 6.0], 3.0, "improving"),  # 8 - mean(4, 6)
        ([6.0], [8.0], -2.0, "slipping"),
        ([7.5], [7.0, 8.0], 0.0, "steady"),
        ([6.0], [5.0], 1.0, "improving"),  # the threshold itself counts
        ([5.1], [6.0], -0.9, "steady"),
        ([6.0, 8.0], [2.0, 2.0, 2.0, 10.0], 3.0, "improving"),  # question by question, not session by session
        ([6.0], [], None, "new"),
    ],
)
def test_trend_is_the_latest_questions_against_the_earlier_questions(latest, earlier, trend, direction) -> None:
    got_trend, got_direction = trend_of(latest, earlier)
    assert got_direction == direction
    assert got_trend == (pytest.approx(trend) if trend is not None else None)


def test_a_comparison_weighs_as_much_as_its_thinner_side() -> None:
    assert comparison_weight(1, 4) == pytest.approx(0.8) and comparison_weight(5, 5) == pytest.approx(2.5)
    assert comparison_weight(1, 100) < comparison_weight(2, 2) and comparison_weight(0, 5) == 0.0


def test_topic_series_and_directions_from_records() -> None:
    bank = small_bank()
    history = [
        session(1, 0, [scored(bank, "rag-a", 2.0), scored(bank, "st-a", 9.0)]),
        session(2, 2, [scored(bank, "rag-b", 4.0), scored(bank, "rag-c", 6.0), scored(bank, "st-b", 8.0)]),
        session(3, 5, [scored(bank, "rag-a", 7.0), scored(bank, "st-c", 6.0), scored(bank, "em-a", 5.0)]),
    ]
    random.Random(4).shuffle(history)
    report = progress_report(history, bank)
    topics = {t.topic: t for t in report.topics}
    rag = topics["rag"]
    assert rag.title == "RAG" and (rag.sessions, rag.questions) == (3, 4)
    assert [v for _, v in rag.series] == [2.0, 5.0, 7.0]
    assert [when for when, _ in rag.series] == [T0, T0 + timedelta(days=2), T0 + timedelta(days=5)]
    assert (rag.first, rag.latest, rag.best, rag.mean) == (2.0, 7.0, 7.0, 4.75)
    assert (rag.latest_questions, rag.earlier_questions) == (1, 3)
    assert rag.trend == pytest.approx(7.0 - (2.0 + 4.0 + 6.0) / 3) and rag.direction == "improving"  # over questions
    stats = topics["stats"]
    assert [v for _, v in stats.series] == [9.0, 8.0, 6.0]
    assert stats.trend == pytest.approx(-2.5) and stats.direction == "slipping" and stats.best == 9.0
    assert topics["emb"].direction == "new" and topics["emb"].trend is None and topics["emb"].sessions == 1
    assert [t.topic for t in report.topics] == ["emb", "stats", "rag"]  # weakest latest mean first
    # overall: each topic against itself (rag 1 vs 3 questions, stats 1 vs 2), never session against session
    assert (report.sessions, report.graded_sessions, report.questions_answered, report.bank_questions) == (3, 3, 8, 8)
    assert report.overall_mean == pytest.approx(round(47 / 8, 2))
    w_rag, w_stats = comparison_weight(1, 3), comparison_weight(1, 2)
    assert report.trend == pytest.approx(round((3.0 * w_rag - 2.5 * w_stats) / (w_rag + w_stats), 2))
    assert report.direction == "steady"
    assert (report.trend_topics, report.trend_latest_questions, report.trend_earlier_questions) == (2, 2, 5)
    assert report.notes is None
    assert (report.first_at, report.latest_at, report.user) == (T0, T0 + timedelta(days=5), "alice")


def _notes_question(qid: str, score: float, *, topic: str = "notes", title: str = "notes") -> QuestionRecord:
    """A question generated from the candidate's notes, as ``practice --notes`` records it."""
    point = PointRecord(point_id="p1", text=f"A key sentence of my notes ({qid})", weight=1.0,
                        verdict="covered" if score >= 5 else "missed")
    return _qrecord(qid, topic, title, 1, [point], score, generated=True)


def test_a_one_question_notes_drill_is_not_compared_with_a_bank_interview() -> None:
    """Issue 28: a 5-question interview at 2.0 then a 1-question notes drill at 9.0 read 'improving +2.8'
    overall, with 'notes' listed among the topics."""
    bank = small_bank()
    history = [
        session(1, 0, [scored(bank, q, 2.0) for q in ("rag-a", "rag-b", "rag-c", "rag-d")] + [scored(bank, "st-a", 2.0)]),
        session(2, 1, [_notes_question("notes-attention", 9.0)]),
    ]
    report = progress_report(history, bank)
    assert report.direction == "new" and report.trend is None and report.trend_topics == 0
    assert [t.topic for t in report.topics] == ["rag", "stats"]  # "notes" is not a topic of the bank
    assert (report.questions_answered, report.bank_questions, report.overall_mean) == (6, 5, 2.0)
    notes = report.notes
    assert notes is not None and (notes.questions, notes.sessions, notes.mean, notes.latest) == (1, 1, 9.0, 9.0)
    assert notes.latest_at == T0 + timedelta(days=1)
    # its weak points are still listed, marked as generated (from notes)
    assert not any(p.generated for p in report.weakest_points)  # 9.0: covered, nothing lost
    console = Console(record=True, width=100)
    render_progress(console, report)
    text = " ".join(console.export_text().split())
    assert "improving" not in text and "Trend: none yet" in text
    assert "Notes drills: 1 question from your notes in 1 interview, mean 9.0/10" in text
    assert "5 bank questions answered, average 2.0/10" in text


def test_generated_questions_on_a_bank_topic_stay_out_of_its_trend() -> None:
    """Only the topic's bank questions are compared; a later notes question never counts as the latest."""
    bank = small_bank()
    history = [
        session(1, 0, [scored(bank, "rag-a", 3.0), scored(bank, "rag-b", 3.0)]),
        session(2, 2, [scored(bank, "rag-c", 4.0), _notes_question("notes-x", 0.0, topic="rag", title="RAG")]),
        session(3, 4, [_notes_question("notes-y", 10.0, topic="rag", title="RAG")]),
    ]
    report = progress_report(history, bank)
    [rag] = report.topics
    assert (rag.sessions, rag.questions, rag.latest, rag.latest_questions, rag.earlier_questions) == (2, 3, 4.0, 1, 2)
    assert rag.trend == pytest.approx(1.0) and rag.direction == "improving"
    assert report.notes is not None and (report.notes.questions, report.notes.sessions, report.notes.latest) == (2, 2, 10.0)
    weak = next(p for p in report.weakest_points if p.question_id == "notes-x")
    assert weak.generated and not weak.in_bank
    console = Console(record=True, width=120)
    render_progress(console, report)
    text = console.export_text()
    row = next(line for line in text.splitlines() if "A key sentence of my notes (notes-x)" in line)
    assert "from your notes" in row
    text = " ".join(text.split())
    assert "Notes drills: 2 questions from your notes in 2 interviews, mean 5.0/10, latest 10.0/10" in text


def test_the_overall_trend_weighs_each_topic_by_its_thinner_side() -> None:
    """A +6 on one question against one weighs less than a -1 on five against five."""
    bank = small_bank()
    history = [
        session(1, 0, [scored(bank, "rag-a", 2.0)] + [scored(bank, q, 8.0) for q in ("st-a", "st-b", "st-c", "st-a", "st-b")]),
        session(2, 2, [scored(bank, "rag-b", 8.0)] + [scored(bank, q, 7.0) for q in ("st-a", "st-b", "st-c", "st-a", "st-b")]),
    ]
    report = progress_report(history, bank)
    topics = {t.topic: t for t in report.topics}
    assert topics["rag"].trend == pytest.approx(6.0) and topics["stats"].trend == pytest.approx(-1.0)
    expected = (6.0 * comparison_weight(1, 1) - 1.0 * comparison_weight(5, 5)) / (comparison_weight(1, 1) + comparison_weight(5, 5))
    assert report.trend == pytest.approx(round(expected, 2)) and report.direction == "steady"
    assert (report.trend_topics, report.trend_latest_questions, report.trend_earlier_questions) == (2, 6, 6)


def test_sessions_without_grades_and_skips_without_a_grade() -> None:
    bank = small_bank()
    ungraded = _qrecord("rag-a", "rag", "RAG", 2, None, None)  # asked, the interview ended before an answer
    bare_skip = _qrecord("st-a", "stats", "Statistics", 1, None, None, skipped=True)  # skipped, no grade stored
    history = [
        session(1, 0, [ungraded]),
        session(2, 1, [bare_skip, scored(bank, "rag-b", 8.0)]),
        session(3, 2, []),
    ]
    report = progress_report(history, bank)
    assert (report.sessions, report.graded_sessions, report.questions_answered) == (3, 1, 2)
    assert report.overall_mean == 4.0
    assert report.direction == "new" and report.trend is None and report.trend_topics == 0
    stats = next(t for t in report.topics if t.topic == "stats")
    assert stats.series[0][1] == 0.0 and stats.questions == 1
    skipped_points = {p.point_id: p for p in report.weakest_points if p.question_id == "st-a"}
    assert set(skipped_points) == {"mean", "median"}
    assert all(p.attempts == 1 and p.mean_credit == 0.0 and p.last_verdict == "missed" for p in skipped_points.values())
    assert skipped_points["median"].lost_weight == 3.0
    assert not any(p.question_id == "rag-a" for p in report.weakest_points)  # never graded: no attempt


def test_a_graded_skip_counts_as_an_attempt_with_no_credit() -> None:
    bank = small_bank()
    skip = answered(bank, "rag-b", {"fusion": "missed", "bm25": "missed"}, skipped=True)
    report = progress_report([session(1, 0, [skip, scored(bank, "st-a", 6.0)])], bank)
    assert report.questions_answered == 2 and report.overall_mean == 3.0
    fusion = next(p for p in report.weakest_points if p.point_id == "fusion")
    assert fusion.attempts == 1 and fusion.mean_credit == 0.0


# --- suggestions ----------------------------------------------------------------------------------


def _targeted_history(bank: RubricBank) -> list[SessionRecord]:
    return [
        session(1, 0, [answered(bank, "rag-a", {"chunking": "missed"}), answered(bank, "st-a", {"median": "partial"})]),
        session(2, 3, [answered(bank, "rag-a", {"chunking": "missed", "rerank": "missed"}), answered(bank, "st-a", {})]),
        session(3, 6, [answered(bank, "rag-b", {"fusion": "missed", "bm25": "missed"}), answered(bank, "st-a", {"mean": "partial"})]),
    ]


def test_suggestions_target_the_weakest_points_then_the_weakest_topic() -> None:
    bank = small_bank()
    report = progress_report(_targeted_history(bank), bank, suggest=10)
    assert _ids(report) == [
        "rag-a",  # its points keep being missed
        "rag-c", "rag-d",  # unseen, weakest topic (RAG, 0.0 latest), easiest first for a weak topic
        "st-c", "st-b",  # unseen, next topic (strong at 8.75: the harder one first)
        "em-a",  # a topic never practised
        "rag-b", "st-a",  # only now what the latest session asked, its open weak points first
    ]
    first = report.suggested[0]
    assert first.source == "weak_point" and first.points == ["chunking", "rerank"]
    assert first.reason == "you missed 'rag-a point chunking' twice (+1 more weak point)"
    assert report.suggested[1].reason == "weakest topic: RAG (0.0/10)"
    assert report.suggested[1].source == "weak_topic"
    assert report.suggested[5].reason == "new topic: Embeddings" and report.suggested[5].source == "new_topic"
    assert report.suggested[6].source == "recent" and "latest interview" in report.suggested[6].reason
    assert len(set(_ids(report))) == len(_ids(report))


def test_the_default_set_avoids_the_latest_session_and_is_stable() -> None:
    bank = small_bank()
    history = _targeted_history(bank)
    report = progress_report(history, bank)
    assert _ids(report) == ["rag-a", "rag-c", "rag-d", "st-c", "st-b"]
    assert "rag-b" not in _ids(report)  # missed in the latest session, but alternatives exist
    for seed in range(5):
        shuffled = list(history)
        random.Random(seed).shuffle(shuffled)
        assert progress_report(shuffled, bank).model_dump() == report.model_dump()
    assert _ids(progress_report(history, bank, suggest=2)) == ["rag-a", "rag-c"]


def test_the_latest_session_is_suggested_when_nothing_else_is_left() -> None:
    bank = RubricBank()
    only = _question("only-q", "solo", 1, {"p": 1.0})
    other = _question("other-q", "solo", 1, {"p": 1.0})
    bank.add(RubricFile(version=1, topic="solo", title="Solo", questions=[only, other]), Path("solo.yaml"))
    history = [session(1, 0, [answered(bank, "other-q", {})]), session(2, 1, [answered(bank, "only-q", {"p": "missed"})])]
    report = progress_report(history, bank)
    assert _ids(report) == ["only-q"]  # other-q was covered (10/10): nothing to revisit
    assert report.suggested[0].source == "recent" and report.suggested[0].points == ["p"]


def test_removed_and_generated_questions_are_never_suggested_but_their_points_are_kept() -> None:
    bank = small_bank()
    gone = PointRecord(point_id="old-point", text="A point of a retired question", weight=2.0, verdict="missed", cite="old.md > Gone")
    removed = _qrecord("retired-q", "rag", "RAG", 2, [gone], 0.0)
    note = PointRecord(point_id="from-notes", text="A point from my notes", weight=1.0, verdict="missed")
    generated = _qrecord("gen-rag-a", "rag", "RAG", 2, [note], 0.0, generated=True)
    # a generated question whose id happens to match a bank question is still not that question
    clash = _qrecord("rag-c", "rag", "RAG", 1, [PointRecord(point_id="why", text="notes", weight=1.0, verdict="missed")], 0.0, generated=True)
    history = [
        session(1, 0, [removed, generated, clash]),
        session(2, 1, [removed, generated, clash]),
        session(3, 2, [answered(bank, "st-a", {"median": "missed"})]),
    ]
    report = progress_report(history, bank, suggest=20)
    kept = {(p.question_id, p.point_id): p for p in report.weakest_points}
    old = kept[("retired-q", "old-point")]
    assert (old.text, old.cite, old.attempts, old.lost_weight, old.in_bank) == ("A point of a retired question", "old.md > Gone", 2, 4.0, False)
    assert kept[("gen-rag-a", "from-notes")].generated and not kept[("gen-rag-a", "from-notes")].in_bank
    ids = _ids(report)
    assert "retired-q" not in ids and "gen-rag-a" not in ids
    # the generated rag-c's misses do not make the bank's rag-c a weak-point pick: it is still unseen
    rag_c = next(s for s in report.suggested if s.question_id == "rag-c")
    assert rag_c.source == "weak_topic" and rag_c.points == []
    assert all(s.source != "weak_point" for s in report.suggested)
    assert all(s.question_id in bank.questions for s in report.suggested)
    assert len(set(ids)) == len(ids)


def test_no_graded_answer_means_no_suggestions() -> None:
    bank = small_bank()
    report = progress_report([session(1, 0, [_qrecord("rag-a", "rag", "RAG", 2, None, None)])], bank)
    assert report.sessions == 1 and report.questions_answered == 0 and report.suggested == []
    assert report.overall_mean is None and report.topics == [] and report.weakest_points == []


def test_empty_history() -> None:
    report = progress_report([], small_bank())
    assert report.empty and report.sessions == 0 and report.suggested == [] and report.topics == []
    console = Console(record=True, width=120)
    render_progress(console, report)
    text = console.export_text()
    assert text.strip().count("\n") == 0 and "No interviews yet" in text and "interviewer practice" in text


# --- rendering ------------------------------------------------------------------------------------


def test_sparkline_uses_the_fixed_ten_point_scale() -> None:
    assert sparkline([0.0, 5.0, 10.0]) == "▁▅█"
    assert sparkline([9.0, 9.0]) == "▇▇"
    assert sparkline([float(v) for v in range(20)][:11], width=3) == "▇▇█"


def test_render_progress_shows_the_tables_and_the_drill_command() -> None:
    bank = small_bank()
    report = progress_report(_targeted_history(bank), bank)
    console = Console(record=True, width=120)
    render_progress(console, report)
    text = console.export_text()
    for expected in ("By topic", "Sessions", "Latest", "Trend", "RAG", "Statistics",
                     "Points you keep losing credit on", "Attempts", "Mean credit", "rag-a point chunking",
                     "rag.md > Chunking", "missed", "Practise next", "weakest topic: RAG (0.0/10)"):
        assert expected in text, expected
    assert DRILL_COMMAND == "interviewer practice --weakest" and DRILL_COMMAND in text
    stats = next(t for t in report.topics if t.topic == "stats")
    assert sparkline([v for _, v in stats.series]) in text
    assert any(arrow in text for arrow in "↑↓→")
    for suggestion in report.suggested:
        assert suggestion.question_id in text
    assert max(len(line) for line in text.splitlines()) <= 120


def test_render_progress_without_a_graded_answer() -> None:
    bank = small_bank()
    report = progress_report([session(1, 0, [])], bank)
    console = Console(record=True, width=120)
    render_progress(console, report)
    text = console.export_text()
    assert "no graded answer yet" in text and "By topic" not in text


# --- the CLI ---------------------------------------------------------------------------------------


def _all(verdict: str):
    return lambda question, answer: {p.id: verdict for p in question.points}


async def _record(store: Store, bank: RubricBank, verdict: str, options, start: datetime) -> None:
    """One finished interview in the CLI's store, every point graded ``verdict``."""
    from interviewer.domain import Turn

    interviewer = Interviewer(bank, ScriptedEngine(rule=_all(verdict), name="offline", model=None), store)
    session_, _ = await interviewer.start(user_key="tester", channel="repl", options=options, session_key=f"k{start:%s}")
    for _ in range(options.questions):
        await interviewer.handle(Turn(session_key=session_.session_key, user_key="tester", text="An answer in a few words."))
    backdate(store, session_.id, start)


def _notes_bank() -> RubricBank:
    """What ``practice --notes`` builds: generated questions under the topic "notes"."""
    bank = RubricBank()
    question = Question(id="notes-attention-1a2b", text="Explain attention.", difficulty=2, topic="notes", generated=True,
                        points=[RubricPoint(id="p1", text="Attention weighs tokens by similarity.", weight=1.0,
                                                    follow_up="And the weights?", hint="Think of similarity.")])
    bank.add(RubricFile(version=1, topic="notes", title="Your notes", questions=[question]), Path("notes"))
    return bank


async def test_the_progress_command_keeps_notes_apart_and_shows_counts(isolated_data_dir: Path) -> None:
    from typer.testing import CliRunner

    from interviewer.cli import main as cli
    from interviewer.domain import SessionOptions

    def progress(width: int) -> str:
        result = CliRunner().invoke(cli.app, ["progress"], env={"COLUMNS": str(width)})
        assert result.exception is None, result.output
        assert all(len(line) <= width for line in result.output.splitlines())
        return result.output

    bank = RubricBank.load()
    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    try:
        await _record(store, bank, "missed", SessionOptions(topics=["rag"], questions=5, max_follow_ups=0), T0)
        await _record(store, _notes_bank(), "covered", SessionOptions(questions=1, max_follow_ups=0), T0 + timedelta(days=1))
        shown = " ".join(progress(100).split())
        assert "improving" not in shown and "Trend: none yet" in shown
        assert "5 bank questions answered, average 0.0/10" in shown
        assert "Notes drills: 1 question from your notes in 1 interview, mean 10.0/10" in shown
        table = shown[shown.index("By topic"):shown.index("Points you keep")]
        assert "Retrieval-augmented" in table and "notes" not in table.lower()
        # one more bank question on the topic: a real trend, visibly over 1 question against 5
        await _record(store, bank, "covered", SessionOptions(topics=["rag"], questions=1, max_follow_ups=0), T0 + timedelta(days=2))
        for width in (80, 120):
            shown = " ".join(progress(width).split())
            assert "Trend ↑ +10.0 improving on 1 topic: 1 question in its latest interview vs 5 before" in shown
            assert "1 vs 5 Qs" in shown
    finally:
        store.close()


# --- a history recorded through the real core ---------------------------------------------------


@pytest.fixture
async def recorded(tmp_path: Path):
    bank = RubricBank.load()
    store = Store(f"sqlite:///{tmp_path}/t.db")
    interviewer = Interviewer(bank, ScriptedEngine(rule=example_rule(bank.questions), name="offline", model=None), store)
    sessions = await practise_from_examples(interviewer, "alice", sessions=5, questions=4, seed=7, topics=["rag", "statistics"])
    for n, s in enumerate(sessions):
        backdate(store, s.id, T0 + timedelta(days=2 * n))
    records = [session_record(store.get_session(s.id), *store.transcript(s.id), bank) for s in sessions]
    yield bank, records
    store.close()


async def test_a_recorded_history(recorded) -> None:
    bank, records = recorded
    report = progress_report(records, bank)
    answered_scores = [q.score if q.score is not None else 0.0 for r in records for q in r.questions if q.score is not None or q.skipped]
    assert report.sessions == 5 and report.questions_answered == len(answered_scores) > 0
    assert report.overall_mean == pytest.approx(round(sum(answered_scores) / len(answered_scores), 2))
    assert {t.topic for t in report.topics} <= {"rag", "statistics"}
    for topic in report.topics:
        dates = [when for when, _ in topic.series]
        assert dates == sorted(dates) and len(dates) == topic.sessions
        assert topic.best == max(v for _, v in topic.series) and topic.latest == topic.series[-1][1]
    # every final point verdict is an attempt, and the ranking is the documented order
    finals = [(q.question_id, p.point_id) for r in records for q in r.questions if q.final for p in q.final.points]
    weakest = {(p.question_id, p.point_id): p for p in report.weakest_points}
    for key, point in weakest.items():
        assert point.attempts == finals.count(key)
    ranks = [(p.fixed, -p.priority) for p in report.weakest_points]
    assert ranks == sorted(ranks)
    for record in records:
        for q in record.questions:
            if q.skipped and q.final is not None and q.final.engine == "skip":
                assert all("missed" in weakest[(q.question_id, p.point_id)].history for p in q.final.points)
    # suggestions: five distinct bank questions, none from the latest interview, weakest first
    latest = max(records, key=lambda r: r.started_at)
    ids = _ids(report)
    assert len(ids) == 5 and len(set(ids)) == 5
    assert all(i in bank.questions and not bank.questions[i].generated for i in ids)
    assert not {i for i in ids} & {q.question_id for q in latest.questions}
    open_points = [p for p in report.weakest_points if not p.fixed and p.question_id not in {q.question_id for q in latest.questions}]
    if open_points:
        assert ids[0] == open_points[0].question_id and report.suggested[0].source == "weak_point"
    # stable whatever order the records come in
    assert progress_report(list(reversed(records)), bank).model_dump() == report.model_dump()
    console = Console(record=True, width=120)
    render_progress(console, report)
    text = console.export_text()
    assert "By topic" in text and "interviewer practice --weakest" in text and ids[0] in text
