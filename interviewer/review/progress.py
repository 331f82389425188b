"""Progress over time and what to practise next (``interviewer progress``, ``practice --weakest``).

Pure functions over a user's ``SessionRecord``s and the bank: nothing here reads the store or
calls a model, so the report is the same every time it is computed from the same history.
Trends compare like with like: per bank topic, over question scores, so a one-question drill is
never set against a five-question interview; questions generated from the candidate's notes are
not a bank topic and are summed up apart (``NotesProgress``).
The definitions (scores, trend, weakest points, suggestions) are in ``docs/progress.md``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from interviewer.domain import Verdict
from interviewer.interview.records import QuestionRecord, SessionRecord
from interviewer.labels import BAND_COLOUR, STRONG_SCORE, VERDICT_BAND, WEAK_SCORE
from interviewer.rubrics import RubricBank
from interviewer.text import plural

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


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def point_reason(point: PointProgress) -> str:
    """'you missed 'X' twice', 'you missed 'X' all 3 times', 'you only partly covered 'X' once'."""
    name = f"'{_short(point.text)}'"
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


# --- rendering -------------------------------------------------------------------------------------


def sparkline(values: list[float], *, width: int = 12) -> str:
    """Block characters on the fixed 0-10 scale (so a flat 9 looks high and a flat 2 low)."""
    return "".join(SPARK[min(len(SPARK) - 1, max(0, round(v / 10 * (len(SPARK) - 1))))] for v in values[-width:])


_ARROWS = {"improving": ("↑", "green"), "slipping": ("↓", "red"), "steady": ("→", "yellow")}


def _trend_cell(trend: float | None, direction: Direction) -> str:
    if trend is None or direction == "new":
        return "[cyan]new[/cyan]"
    arrow, colour = _ARROWS[direction]
    return f"[{colour}]{arrow} {trend:+.1f} {direction}[/{colour}]"


def _topic_trend_cell(topic: TopicProgress) -> str:
    """'↑ +3.0 · 1 vs 4 Qs': the direction without its word (the arrow says it) and the counts, so a trend
    from one question looks as thin as it is."""
    if topic.trend is None:
        return "[cyan]new[/cyan]"
    arrow, colour = _ARROWS[topic.direction]
    return f"[{colour}]{arrow} {topic.trend:+.1f}[/{colour}] [dim]· {topic.latest_questions} vs {topic.earlier_questions} Qs[/dim]"


def _overall_line(report: ProgressReport) -> str | None:
    """The overall trend with what it is over, or why there is none yet (None: nothing to say)."""
    if report.trend is not None:
        its = "its latest interview" if report.trend_topics == 1 else "their latest interviews"
        return (f"Trend {_trend_cell(report.trend, report.direction)} on {plural(report.trend_topics, 'topic')}: "
                f"{plural(report.trend_latest_questions, 'question')} in {its} vs {report.trend_earlier_questions} before")
    if report.graded_sessions > 1 and report.topics:
        return "Trend: [cyan]none yet[/cyan] (a topic needs answers in 2 interviews to be compared with itself)"
    return None


def _notes_line(notes: NotesProgress) -> str:
    over = plural(notes.sessions, "interview")
    latest = f", latest {notes.latest:.1f}/10" if notes.sessions > 1 else ""
    return (f"Notes drills: {plural(notes.questions, 'question')} from your notes in {over}, "
            f"mean {notes.mean:.1f}/10{latest} [dim](not a bank topic: left out of topics and trend)[/dim]")


def render_progress(console: Console, report: ProgressReport, *, points: int = 10) -> None:
    """The ``interviewer progress`` view: topics, weakest points, the suggested practice set."""
    if report.empty:
        console.print("No interviews yet: start one with 'interviewer practice', then come back here to see your progress.")
        return
    s = "s" if report.sessions != 1 else ""
    if report.questions_answered == 0:
        console.print(f"{report.sessions} interview{s}, but no graded answer yet: answer a few questions with 'interviewer practice'.")
        return
    span = f"{report.first_at:%Y-%m-%d}" if report.first_at == report.latest_at else f"{report.first_at:%Y-%m-%d} to {report.latest_at:%Y-%m-%d}"
    who = f" of {escape(report.user)}" if report.user else ""
    if report.overall_mean is None:
        answered = "no bank question answered yet"
    else:
        kind = "bank question" if report.notes else "question"
        answered = f"{plural(report.bank_questions, kind)} answered, average [bold]{report.overall_mean:.1f}/10[/bold]"
    console.print(f"[bold]Progress{who}[/bold]: {report.sessions} interview{s} ({span}), {answered}")
    overall = _overall_line(report)
    if overall:
        console.print(overall)
    if report.notes:
        console.print(_notes_line(report.notes))

    if report.topics:
        topics = Table(title="By topic (weakest first)", box=box.SIMPLE_HEAD, pad_edge=False,
                       caption="Trend: latest interview vs the earlier ones (questions on each side)", caption_justify="left")
        # no "Best" column: the best session mean is often the one with the fewest questions
        topics.add_column("Topic", min_width=10, overflow="fold")
        for name, justify in (("Sessions", "right"), ("Qs", "right"), ("Latest", "right"), ("Trend", "left"), ("History", "left")):
            topics.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for t in report.topics:
            topics.add_row(escape(t.title), str(t.sessions), str(t.questions), f"{t.latest:.1f}",
                           _topic_trend_cell(t), sparkline([v for _, v in t.series]))
        console.print(topics)

    if report.weakest_points:
        # narrow: no topic column (the "Read" citation names the file and section), so words are not cut
        wide = console.width >= 110
        weak = Table(title="Points you keep losing credit on", box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        weak.add_column("Point", ratio=5, overflow="fold")
        if wide:
            weak.add_column("Topic", ratio=3, overflow="fold")
        weak.add_column("Attempts" if wide else "Tries", justify="right", no_wrap=True)
        weak.add_column("Mean credit" if wide else "Credit", justify="right", no_wrap=True)
        weak.add_column("Last", no_wrap=True)
        weak.add_column("Read", ratio=3, overflow="fold")
        for p in report.weakest_points[:points]:
            style = BAND_COLOUR[VERDICT_BAND[p.last_verdict]]
            topic = "[dim]from your notes[/dim]" if p.generated else escape(p.topic_title)
            cells = [f"{escape(_short(p.text, 80))} [dim]({escape(p.question_id)})[/dim]", *([topic] if wide else []),
                     str(p.attempts), f"{p.mean_credit:.0%}", f"[{style}]{p.last_verdict}[/{style}]", escape(p.cite or "-")]
            weak.add_row(*cells)
        console.print(weak)
        if len(report.weakest_points) > points:
            console.print(f"[dim]… and {len(report.weakest_points) - points} more.[/dim]")
    else:
        console.print("[green]No rubric point lost credit: every point was covered.[/green]")

    if report.suggested:
        console.print("[bold]Practise next[/bold]")
        for n, suggestion in enumerate(report.suggested, 1):
            console.print(f"  {n}. [cyan]{escape(suggestion.question_id)}[/cyan] ({escape(suggestion.topic_title)}, "
                          f"level {suggestion.difficulty}): {escape(suggestion.reason)}")
        console.print(f"Drill them with: [bold]{report.drill_command}[/bold]")
