"""Progress over time and what to practise next (``interviewer progress``, ``practice --weakest``).

Pure functions over a user's ``SessionRecord``s and the bank: nothing here reads the store or
calls a model, so the report is the same every time it is computed from the same history.
Trends compare like with like: per bank topic, over question scores, so a one-question drill is
never set against a five-question interview; questions generated from the candidate's notes are
not a bank topic and are summed up apart (``NotesProgress``).
The definitions (scores, trend, weakest points, suggestions) are in ``docs/progress.md``; the
terminal view is ``interviewer.review.progress_view``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from interviewer.domain import Verdict
from interviewer.interview.records import QuestionRecord, SessionRecord
from interviewer.labels import STRONG_SCORE, WEAK_SCORE
from interviewer.rubrics import RubricBank

TREND_THRESHOLD = 1.0
DECAY = 0.5
DRILL_COMMAND = "interviewer practice --weakest"
SPARK = "▁▂▃▄▅▆▇█"

Direction = Literal["improving", "steady", "slipping", "new"]
VerdictName = Literal["covered", "partial", "missed"]
SuggestionSource = Literal["weak_point", "weak_topic", "revisit", "new_topic", "recent"]


class TopicProgress(BaseModel):
    """One bank topic; questions generated from notes are never counted here."""

    topic: str
    title: str
    sessions: int = Field(description="Sessions with at least one answered bank question on the topic.")
    questions: int = Field(description="Bank questions answered on the topic, over all sessions.")
    series: list[tuple[datetime, float]] = Field(description="(session start, mean score), oldest first.")
    mean: float = Field(description="Mean of every answered question's score on the topic.")
    first: float
    latest: float = Field(description="Mean score of the topic's questions in its latest session.")
    best: float
    latest_questions: int = Field(description="Questions on the topic in its latest session: what `latest` is over.")
    earlier_questions: int = Field(description="Questions on the topic in the earlier sessions.")
    trend: float | None = Field(
        description="Mean of the latest session's questions minus the mean of every earlier question on the topic; "
                    "null with one session."
    )
    direction: Direction


class NotesProgress(BaseModel):
    """Questions generated from the candidate's own notes: not a bank topic, so kept out of topics and trends."""

    questions: int = Field(description="Answered questions generated from notes.")
    sessions: int = Field(description="Sessions with at least one of them.")
    mean: float = Field(description="Mean score of those questions.")
    latest: float = Field(description="Mean score of those questions in the latest such session.")
    latest_at: datetime


class PointProgress(BaseModel):
    question_id: str
    point_id: str
    text: str = Field(description="The point as last graded (the stored text, kept if the bank changed).")
    topic: str
    topic_title: str
    cite: str | None
    weight: float = Field(description="The weight at the latest attempt.")
    attempts: int
    covered: int
    partial: int
    missed: int
    mean_credit: float
    lost_weight: float = Field(description="sum(weight * (1 - credit)) over every attempt.")
    priority: float = Field(description="lost weight with attempt i weighed DECAY ** (later attempts): the rank key.")
    last_verdict: VerdictName
    last_seen: datetime
    history: list[VerdictName] = Field(description="Verdicts, oldest first.")
    generated: bool = False
    in_bank: bool = Field(description="The question, with this point, is still in the bank.")

    @property
    def fixed(self) -> bool:
        return self.last_verdict == "covered"


class Suggestion(BaseModel):
    question_id: str
    topic: str
    topic_title: str
    difficulty: int
    text: str
    reason: str
    source: SuggestionSource
    points: list[str] = Field(default_factory=list, description="Weak point ids the question targets.")


class ProgressReport(BaseModel):
    user: str | None = None
    sessions: int = 0
    graded_sessions: int = Field(default=0, description="Sessions with at least one answered question (bank or notes).")
    questions_answered: int = Field(default=0, description="Answered questions, bank and notes.")
    bank_questions: int = Field(default=0, description="Answered bank questions: what `overall_mean` and the trends are over.")
    overall_mean: float | None = Field(default=None, description="Mean score of every answered bank question.")
    first_at: datetime | None = None
    latest_at: datetime | None = None
    trend: float | None = Field(
        default=None,
        description="The topics' trends averaged, each weighed by latest*earlier/(latest+earlier) of its question counts; "
                    "null when no topic has 2 sessions.",
    )
    direction: Direction = "new"
    trend_topics: int = Field(default=0, description="Topics with a trend (2 sessions or more): what `trend` is over.")
    trend_latest_questions: int = Field(default=0, description="Questions of those topics in their latest sessions.")
    trend_earlier_questions: int = Field(default=0, description="Questions of those topics in their earlier sessions.")
    topics: list[TopicProgress] = Field(default_factory=list, description="Bank topics, weakest (lowest latest mean) first.")
    notes: NotesProgress | None = Field(default=None, description="Questions generated from notes, apart from the topics.")
    weakest_points: list[PointProgress] = Field(default_factory=list)
    suggested: list[Suggestion] = Field(default_factory=list)
    drill_command: str = DRILL_COMMAND

    @property
    def empty(self) -> bool:
        return self.sessions == 0


# --- computing ------------------------------------------------------------------------------------


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _r(value: float) -> float:
    return round(value, 2)


def _direction(trend: float) -> Direction:
    if trend >= TREND_THRESHOLD:
        return "improving"
    if trend <= -TREND_THRESHOLD:
        return "slipping"
    return "steady"


def trend_of(latest: list[float], earlier: list[float]) -> tuple[float | None, Direction]:
    """(mean of the latest scores - mean of the earlier scores, direction), question by question.

    Each question weighs the same, so one question in a session counts once, not as much as five.
    """
    if not latest or not earlier:
        return None, "new"
    trend = _r(_mean(latest) - _mean(earlier))
    return trend, _direction(trend)


def comparison_weight(latest: int, earlier: int) -> float:
    """How much a topic's trend counts overall: latest * earlier / (latest + earlier) questions.

    A difference of two means is only as solid as its thinner side (its variance goes as
    1/latest + 1/earlier): 1 question against 4 weighs 0.8, 5 against 5 weighs 2.5.
    """
    return latest * earlier / (latest + earlier) if latest and earlier else 0.0


class OverallTrend(NamedTuple):
    trend: float | None
    direction: Direction
    topics: int
    latest_questions: int
    earlier_questions: int


def overall_trend(topics: list[TopicProgress]) -> OverallTrend:
    """The topics' own trends, weighed by ``comparison_weight``, and what they are over.

    Only a topic against itself is a like-with-like comparison; a session mean mixes topics and sizes.
    """
    weighed = [(t.trend, comparison_weight(t.latest_questions, t.earlier_questions), t) for t in topics if t.trend is not None]
    total = sum(w for _, w, _ in weighed)
    if not total:
        return OverallTrend(None, "new", 0, 0, 0)
    trend = _r(sum(tr * w for tr, w, _ in weighed) / total)
    return OverallTrend(trend, _direction(trend), len(weighed), sum(t.latest_questions for *_, t in weighed),
                        sum(t.earlier_questions for *_, t in weighed))


def _score(q: QuestionRecord) -> float | None:
    """The final score of an answered question (a skip without a stored grade scores 0)."""
    if q.score is not None:
        return q.score
    return 0.0 if q.skipped else None


def _ordered(records: list[SessionRecord]) -> list[SessionRecord]:
    return sorted(records, key=lambda r: (_aware(r.started_at), r.id))


def progress_report(records: list[SessionRecord], bank: RubricBank, *, suggest: int = 5) -> ProgressReport:
    """Per-topic trends, the points losing most credit and a practice set targeting them."""
    ordered = _ordered(records)
    if not ordered:
        return ProgressReport()
    answered = [[q for q in r.questions if _score(q) is not None] for r in ordered]
    bank_scores = [s for qs in answered for q in qs if not q.generated and (s := _score(q)) is not None]
    topics = _topics(ordered, bank)
    overall = overall_trend(topics)
    weakest = _weakest_points(ordered, bank)
    suggested = _suggest(ordered, bank, topics, weakest, suggest) if any(answered) and suggest > 0 else []
    return ProgressReport(
        user=ordered[-1].user,
        sessions=len(ordered),
        graded_sessions=sum(1 for qs in answered if qs),
        questions_answered=sum(len(qs) for qs in answered),
        bank_questions=len(bank_scores),
        overall_mean=_r(_mean(bank_scores)) if bank_scores else None,
        first_at=_aware(ordered[0].started_at),
        latest_at=_aware(ordered[-1].started_at),
        trend=overall.trend,
        direction=overall.direction,
        trend_topics=overall.topics,
        trend_latest_questions=overall.latest_questions,
        trend_earlier_questions=overall.earlier_questions,
        topics=topics,
        notes=_notes(ordered),
        weakest_points=weakest,
        suggested=suggested,
    )


def _topics(ordered: list[SessionRecord], bank: RubricBank) -> list[TopicProgress]:
    """Bank questions only, grouped by topic then session: the unit every trend is over."""
    titles = bank.topics
    sessions: dict[str, list[tuple[datetime, list[float]]]] = defaultdict(list)
    seen_titles: dict[str, str] = {}
    for record in ordered:
        per_topic: dict[str, list[float]] = defaultdict(list)
        for q in record.questions:
            score = _score(q)
            if score is None or q.generated:
                continue
            per_topic[q.topic].append(score)
            seen_titles.setdefault(q.topic, q.topic_title)
        for topic, scores in per_topic.items():
            sessions[topic].append((_aware(record.started_at), scores))
    out = []
    for topic, runs in sessions.items():
        points = [(when, _r(_mean(scores))) for when, scores in runs]
        values = [v for _, v in points]
        every = [s for _, scores in runs for s in scores]
        latest, earlier = runs[-1][1], [s for _, scores in runs[:-1] for s in scores]
        trend, direction = trend_of(latest, earlier)
        out.append(
            TopicProgress(
                topic=topic, title=titles.get(topic) or seen_titles.get(topic) or topic or "(no topic)",
                sessions=len(points), questions=len(every), series=points, mean=_r(_mean(every)),
                first=values[0], latest=values[-1], best=max(values), latest_questions=len(latest),
                earlier_questions=len(earlier), trend=trend, direction=direction,
            )
        )
    return sorted(out, key=lambda t: (t.latest, t.mean, t.topic))


def _notes(ordered: list[SessionRecord]) -> NotesProgress | None:
    """The questions generated from notes, summed up apart: they are not a topic of the bank."""
    runs = [(_aware(r.started_at), scores) for r in ordered
            if (scores := [s for q in r.questions if q.generated and (s := _score(q)) is not None])]
    if not runs:
        return None
    every = [s for _, scores in runs for s in scores]
    return NotesProgress(questions=len(every), sessions=len(runs), mean=_r(_mean(every)),
                         latest=_r(_mean(runs[-1][1])), latest_at=runs[-1][0])


def _weakest_points(ordered: list[SessionRecord], bank: RubricBank) -> list[PointProgress]:
    # key -> attempts of (when, verdict, weight, text, cite, topic, topic_title), oldest first
    attempts: dict[tuple[bool, str, str], list[tuple[datetime, VerdictName, float, str, str | None, str, str]]] = defaultdict(list)
    for record in ordered:
        when = _aware(record.started_at)
        for q in sorted(record.questions, key=lambda q: q.index):
            for point_id, verdict, weight, text, cite in _final_points(q, bank):
                attempts[(q.generated, q.question_id, point_id)].append((when, verdict, weight, text, cite, q.topic, q.topic_title))
    titles = bank.topics
    out = []
    for (generated, question_id, point_id), tries in attempts.items():
        credits = [Verdict(v).credit for _, v, *_ in tries]
        lost = sum(w * (1 - c) for (_, _, w, *_), c in zip(tries, credits))
        if lost <= 0:
            continue
        n = len(tries)
        priority = sum(w * (1 - c) * DECAY ** (n - 1 - i) for i, ((_, _, w, *_), c) in enumerate(zip(tries, credits)))
        when, verdict, weight, text, cite, topic, topic_title = tries[-1]
        question = None if generated else bank.questions.get(question_id)
        history = [v for _, v, *_ in tries]
        out.append(
            PointProgress(
                question_id=question_id, point_id=point_id, text=text, topic=topic,
                topic_title=titles.get(topic) or topic_title or topic, cite=cite, weight=weight, attempts=n,
                covered=history.count("covered"), partial=history.count("partial"), missed=history.count("missed"),
                mean_credit=_r(_mean(credits)), lost_weight=_r(lost), priority=round(priority, 4),
                last_verdict=verdict, last_seen=when, history=history, generated=generated,
                in_bank=question is not None and not question.generated and any(p.id == point_id for p in question.points),
            )
        )
    return sorted(out, key=lambda p: (p.fixed, -p.priority, p.mean_credit, -p.last_seen.timestamp(), p.question_id, p.point_id))


def _final_points(q: QuestionRecord, bank: RubricBank) -> list[tuple[str, VerdictName, float, str, str | None]]:
    """(point id, verdict, weight, text, cite) of a question's final grade; a bare skip misses every point."""
    final = q.final
    if final is not None:
        return [(p.point_id, p.verdict, p.weight, p.text, p.cite) for p in final.points]
    question = None if q.generated else bank.questions.get(q.question_id)
    if q.skipped and question is not None:
        return [(p.id, "missed", p.weight, p.text, p.cite) for p in question.points]
    return []


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def shortened(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def point_reason(point: PointProgress) -> str:
    """'you missed 'X' twice', 'you missed 'X' all 3 times', 'you only partly covered 'X' once'."""
    name = f"'{shortened(point.text)}'"
    if point.missed:
        if point.missed == point.attempts and point.attempts >= 3:
            reason = f"you missed {name} all {point.attempts} times"
        else:
            reason = f"you missed {name} {_times(point.missed)}"
        if point.partial:
            reason += f" and only partly covered it {_times(point.partial)}"
        return reason
    return f"you only partly covered {name} {_times(point.partial)}"


def _target_difficulty(latest: float) -> int:
    if latest < WEAK_SCORE:
        return 1
    if latest < STRONG_SCORE:
        return 2
    return 3


def _suggest(
    ordered: list[SessionRecord], bank: RubricBank, topics: list[TopicProgress],
    weakest: list[PointProgress], count: int,
) -> list[Suggestion]:
    latest_ids = {q.question_id for q in ordered[-1].questions if not q.generated}
    seen_ids = {q.question_id for r in ordered for q in r.questions if not q.generated}
    last_score: dict[str, tuple[float, datetime]] = {}
    for record in ordered:
        for q in record.questions:
            score = _score(q)
            if score is not None and not q.generated:
                last_score[q.question_id] = (score, _aware(record.started_at))
    titles = bank.topics
    chosen: list[Suggestion] = []
    taken: set[str] = set()

    def usable(qid: str) -> bool:
        question = bank.questions.get(qid)
        return qid not in taken and question is not None and not question.generated

    def add(qid: str, reason: str, source: SuggestionSource, points: list[str] | None = None) -> None:
        question = bank.questions[qid]
        taken.add(qid)
        chosen.append(
            Suggestion(
                question_id=qid, topic=question.topic, topic_title=titles.get(question.topic, question.topic),
                difficulty=question.difficulty, text=question.text, reason=reason, source=source, points=points or [],
            )
        )

    # weak points still open, grouped by question, in rank order
    open_points: dict[str, list[PointProgress]] = {}
    for point in weakest:
        if not point.fixed and point.in_bank:
            open_points.setdefault(point.question_id, []).append(point)

    def weak_point_suggestion(qid: str, *, recent: bool) -> None:
        points = open_points[qid]
        reason = point_reason(points[0])
        if len(points) > 1:
            reason += f" (+{len(points) - 1} more weak point{'s' if len(points) > 2 else ''})"
        if recent:
            reason += ", asked in your latest interview"
        add(qid, reason, "recent" if recent else "weak_point", [p.point_id for p in points])

    # 1. questions of the weakest open points, not the ones just asked
    for qid in open_points:
        if len(chosen) >= count:
            return chosen
        if usable(qid) and qid not in latest_ids:
            weak_point_suggestion(qid, recent=False)
    # 2. unseen questions of the practised topics, weakest first
    for rank, topic in enumerate(topics):
        target = _target_difficulty(topic.latest)
        unseen = [q for q in bank.select([topic.topic]) if q.id not in seen_ids]
        for question in sorted(unseen, key=lambda q: (abs(q.difficulty - target), q.difficulty, q.id)):
            if len(chosen) >= count:
                return chosen
            if not usable(question.id):
                continue
            if rank == 0:
                label = "weakest topic: "
            elif topic.latest < STRONG_SCORE:
                label = "weak topic: "
            else:
                label = "new question on "
            add(question.id, f"{label}{topic.title} ({topic.latest:.1f}/10)", "weak_topic")
    # 3. questions asked before that were not strong last time, lowest score first
    revisit = sorted(
        ((score, when, qid) for qid, (score, when) in last_score.items() if score < STRONG_SCORE and qid not in latest_ids),
        key=lambda item: (item[0], item[1], item[2]),
    )
    for score, when, qid in revisit:
        if len(chosen) >= count:
            return chosen
        if usable(qid):
            add(qid, f"scored {score:.1f}/10 on {when:%Y-%m-%d}", "revisit")
    # 4. topics never practised
    practised = {t.topic for t in topics}
    for slug, title in sorted(titles.items()):
        if slug in practised:
            continue
        for question in sorted(bank.select([slug]), key=lambda q: (q.difficulty, q.id)):
            if len(chosen) >= count:
                return chosen
            if usable(question.id) and question.id not in seen_ids:
                add(question.id, f"new topic: {title}", "new_topic")
    # 5. last resort: what the latest interview asked, weak points first
    recent = [qid for qid in open_points if qid in latest_ids]
    recent += sorted(qid for qid in latest_ids if qid not in open_points)
    for qid in recent:
        if len(chosen) >= count:
            return chosen
        if not usable(qid):
            continue
        if qid in open_points:
            weak_point_suggestion(qid, recent=True)
        else:
            add(qid, "asked in your latest interview", "recent")
    return chosen
