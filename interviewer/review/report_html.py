"""The HTML report of stored interviews: one self-contained file to read, keep or print.

It renders the same ``SessionRecord``s as the Markdown and JSON exports, so the scores never
disagree. The file must open anywhere, offline, and be safe to pass around although it quotes
the candidate's own (untrusted) words: so no script, no external asset, a CSP that forbids
loading anything, and Jinja2 with autoescape on. Charts are inline SVG from ``charts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

import jinja2
from markupsafe import Markup, escape

from interviewer.domain import utcnow
from interviewer.interview.feedback import duration_label, grade_provenance
from interviewer.interview.records import Exchange, GradeRecord, QuestionRecord, SessionRecord
from interviewer.labels import SYMBOL_MARK, score_band
from interviewer.review.charts import bar_chart, line_chart, question_chart
from interviewer.review.highlight import evidence_marks, segments

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class TopicScore:
    topic: str
    title: str
    average: float
    questions: int


@dataclass(frozen=True)
class Summary:
    """The numbers of the summary card, computed once from the records."""

    user: str
    sessions: int
    questions: int
    graded: int
    answered: int
    skipped: int
    average: float | None
    topics: list[TopicScore] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    engines: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None

    @property
    def best(self) -> TopicScore | None:
        return self.topics[0] if self.topics else None

    @property
    def weakest(self) -> TopicScore | None:
        return self.topics[-1] if len(self.topics) > 1 else None


def summarise(sessions: list[SessionRecord], user: str | None) -> Summary:
    """Totals across ``sessions``; the overall and topic averages are means of final question scores.

    Skipped questions count with their (zero) score, as in each session's own average."""
    questions = [q for s in sessions for q in s.questions]
    graded = [q for q in questions if q.score is not None]
    by_topic: dict[str, list[float]] = {}
    titles: dict[str, str] = {}
    for q in graded:
        by_topic.setdefault(q.topic, []).append(q.score or 0.0)
        titles.setdefault(q.topic, q.topic_title or q.topic)
    topics = [TopicScore(t, titles[t], round(sum(v) / len(v), 2), len(v)) for t, v in by_topic.items()]
    topics.sort(key=lambda t: (-t.average, t.title.lower()))
    usages = [s.usage for s in sessions if s.usage is not None]
    costs = [u.cost for u in usages if u.cost is not None]
    users = sorted({s.user for s in sessions})
    return Summary(
        user=user or (users[0] if len(users) == 1 else f"{len(users)} users" if users else "—"),
        sessions=len(sessions),
        questions=len(questions),
        graded=len(graded),
        answered=sum(not q.skipped for q in graded),
        skipped=sum(q.skipped for q in questions),
        average=round(sum(q.score or 0.0 for q in graded) / len(graded), 2) if graded else None,
        topics=topics,
        first=min((s.started_at for s in sessions), default=None),
        last=max((s.last_activity_at for s in sessions), default=None),
        engines=sorted({e for s in sessions for e in s.engines}),
        models=sorted({m for s in sessions for m in s.models}),
        tokens_in=sum(u.tokens_in for u in usages),
        tokens_out=sum(u.tokens_out for u in usages),
        cost=round(sum(costs), 6) if costs else None,
    )


def _timeline(sessions: list[SessionRecord]) -> tuple[str, str]:
    """(title, chart): session averages by start time; for a single session, its questions'
    scores in the order asked."""
    if len(sessions) == 1:
        scores = [(q.text, q.score) for q in sessions[0].questions if q.score is not None]
        if len(scores) > 1:
            title = "Score per question in this session"
            return title, question_chart(scores, title=title)
    title = "Average score per session over time"
    return title, line_chart([(s.started_at, s.average) for s in sessions if s.average is not None], title=title)


# Filters and helpers the template calls --------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def when(moment: datetime) -> str:
    m = _utc(moment)
    return f"{m:%a} {m.day} {m:%b %Y}, {m:%H:%M} UTC"


def day(moment: datetime) -> str:
    m = _utc(moment)
    return f"{m.day} {m:%b %Y}"


def stamp(moment: datetime) -> str:
    m = _utc(moment)
    return f"{m.day} {m:%b %Y %H:%M}"


def clock(moment: datetime) -> str:
    return f"{_utc(moment):%H:%M}"


def score(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def band(value: float | None) -> str:
    if value is None:
        return "none"
    return score_band(value)


def money(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def highlighted(text: str, marks: list[tuple[str | None, str]]) -> Markup:
    """The answer escaped, with each quoted passage in a <mark> of its verdict."""
    out = []
    for piece, label in segments(text, marks):
        if label is None or not piece.strip():
            out.append(str(escape(piece)))
        else:
            out.append(f'<mark class="{label}" title="{label}">{escape(piece)}</mark>')
    return Markup("".join(out))


def grades_by_seq(q: QuestionRecord) -> dict[int, GradeRecord]:
    return {g.turn_seq: g for g in q.grades}


def conversation(q: QuestionRecord) -> list[Exchange]:
    """The exchanges after the question itself; the feedback is shown with the scorecard instead."""
    return [e for e in q.exchanges if e.kind not in ("question", "feedback")]


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("interviewer", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, day=day, stamp=stamp, clock=clock, score=score, band=band, duration=duration_label, money=money)
    env.globals.update(
        marks_of=lambda q: evidence_marks(q.final), highlighted=highlighted, grades_by_seq=grades_by_seq, conversation=conversation,
        provenance=grade_provenance, icon=SYMBOL_MARK,
    )
    return env


def render_html(sessions: list[SessionRecord], *, user: str | None, generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document; sessions appear in the order given."""
    summary = summarise(sessions, user)
    topic_chart = bar_chart([(t.title, t.average) for t in summary.topics], title="Average score by topic")
    timeline_title, time_chart = _timeline(sessions)
    return _environment().get_template("report.html.j2").render(
        csp=Markup(CSP),
        summary=summary,
        sessions=sessions,
        topic_chart=Markup(topic_chart),
        time_chart=Markup(time_chart),
        timeline_title=timeline_title,
        generated_at=generated_at or utcnow(),
    )
