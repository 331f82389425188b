"""A stored interview as one reviewable record: what every export, report and chat view reads.

The store keeps an append-only list of turns and grades. Reviewing needs them folded per
question: what was asked, what the candidate said, the follow-ups and hints, the final grade
with each point's verdict and evidence, the feedback and what to read. ``session_record`` does
that fold once; the Markdown, JSON and HTML exports, ``transcripts show`` and the chat adapters
all render the same record, so they never disagree about a score.

The JSON export is these models dumped as they are: ``ExportDocument.model_json_schema()`` is
its schema, published as ``interviewer/data/transcripts-v1.json`` (a test keeps the two equal).
Bump ``EXPORT_VERSION`` on any change that is not a new optional field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from interviewer.domain import SKIPPED, Assessment, Question, Session, TurnRecord, utcnow
from interviewer.interview.feedback import usage_totals
from interviewer.interview.state import rebuild
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.text import reflow

EXPORT_SCHEMA = "interviewer.transcripts"
EXPORT_VERSION = 1
REMARK_PREFIX = "Interviewer: "  # how feedback_text starts when the model said something

VerdictName = Literal["covered", "partial", "missed"]
ExchangeKind = Literal["question", "follow_up", "hint", "answer", "command", "feedback"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointRecord(_Record):
    """One rubric point of a graded answer."""

    point_id: str
    text: str = Field(description="What the point asks for, as the rubric words it.")
    weight: float
    verdict: VerdictName
    evidence: str | None = Field(default=None, description="The candidate's own words that earned the verdict.")
    reasoning: str | None = Field(default=None, description="The grader's reasoning, when it gave one.")
    cite: str | None = Field(default=None, description="Where the study material explains the point.")


class MisconceptionRecord(_Record):
    misconception_id: str
    evidence: str = Field(description="What the candidate said.")
    correction: str
    point_id: str | None = Field(default=None, description="The rubric point the statement contradicts, if it is not a listed misconception.")
    kind: str | None = Field(default=None, description="How it contradicts the point: negation, framing, swap, direction or opposite.")


class GradeRecord(_Record):
    """The grade of one candidate turn (an answer, an answer to a follow-up, or a skip)."""

    turn_seq: int = Field(description="The seq of the graded turn in the session's transcript.")
    score: float = Field(ge=0, le=10, description="Computed from the verdicts and point weights, 0-10.")
    engine: str = Field(description="'offline', 'llm' or 'skip'.")
    model: str | None = None
    prompt_version: str | None = None
    rubric_hash: str | None = Field(default=None, description="Hash of the rubric the answer was graded against.")
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = Field(default=None, description="US dollars, from litellm's price list; null when unpriced.")
    latency_ms: float | None = None
    fallback: str | None = Field(default=None, description="Why the model's grade was replaced by the offline grader's.")
    notes: list[str] = Field(default_factory=list)
    points: list[PointRecord]
    misconceptions: list[MisconceptionRecord] = Field(default_factory=list)


class Exchange(_Record):
    """One line of the conversation about a question."""

    seq: int
    at: datetime
    role: Literal["candidate", "interviewer", "system"]
    kind: ExchangeKind
    text: str


class QuestionRecord(_Record):
    index: int = Field(description="1 for the session's first question.")
    question_id: str
    topic: str
    topic_title: str
    difficulty: int
    kind: str
    generated: bool = Field(description="Written from the candidate's own notes rather than taken from the bank.")
    text: str
    exchanges: list[Exchange]
    grades: list[GradeRecord] = Field(description="Every grade, in order; the last one is the question's final grade.")
    score: float | None = Field(description="The final grade's score; null when the question was never graded.")
    skipped: bool
    hints: int
    follow_ups: int
    feedback: str | None = None
    remark: str | None = Field(default=None, description="The interviewer's own words on the final answer, when a model gave some.")
    read_more: list[str] = Field(default_factory=list)
    model_answer: str | None = None

    @property
    def final(self) -> GradeRecord | None:
        return self.grades[-1] if self.grades else None

    @property
    def answers(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.kind == "answer"]


class UsageRecord(_Record):
    models: list[str]
    graded_by_model: int
    fallbacks: int
    tokens_in: int
    tokens_out: int
    cost: float | None
    model_seconds: float


class SessionRecord(_Record):
    id: str
    user: str
    channel: str
    status: Literal["active", "finished"]
    started_at: datetime
    last_activity_at: datetime
    duration_seconds: float = Field(description="From the session's start to its last stored turn.")
    planned_questions: int
    topics: list[str] = Field(description="Topics of the questions asked.")
    average: float | None = Field(description="Mean of the questions' final scores; null when nothing was graded.")
    topic_scores: dict[str, float] = Field(description="Mean final score per topic.")
    engines: list[str]
    models: list[str]
    prompt_versions: list[str]
    usage: UsageRecord | None = None
    questions: list[QuestionRecord]
    summary: str | None = Field(default=None, description="The summary text shown at the end, when the session finished.")
    coaching: str | None = None


class ExportDocument(_Record):
    """A JSON export: one or more sessions of one user."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_name: Literal["interviewer.transcripts"] = Field(default=EXPORT_SCHEMA, alias="schema")
    version: Literal[1] = EXPORT_VERSION
    exported_at: datetime = Field(default_factory=utcnow)
    user: str | None = None
    sessions: list[SessionRecord]


def _round(value: float) -> float:
    return round(value, 2)


def _grade_record(seq: int, grade: Assessment, question: Question | None) -> GradeRecord:
    points_by_id = {p.id: p for p in question.points} if question is not None else {}
    verdicts = {v.point_id: v for v in grade.verdicts}
    order = list(points_by_id) or list(verdicts)
    points = []
    for point_id in order:
        point = points_by_id.get(point_id)
        verdict = verdicts.get(point_id)
        points.append(
            PointRecord(
                point_id=point_id,
                text=point.text if point else point_id,
                weight=point.weight if point else 1.0,
                verdict=verdict.verdict.value if verdict else "missed",
                evidence=verdict.evidence if verdict else None,
                reasoning=verdict.reasoning if verdict else None,
                cite=point.cite if point else None,
            )
        )
    return GradeRecord(
        turn_seq=seq, score=_round(grade.score), engine=grade.engine, model=grade.model,
        prompt_version=grade.prompt_version, rubric_hash=grade.rubric_hash, tokens_in=grade.tokens_in,
        tokens_out=grade.tokens_out, cost=grade.cost, latency_ms=grade.latency_ms, fallback=grade.fallback,
        notes=list(grade.notes), points=points,
        misconceptions=[MisconceptionRecord(**m.model_dump()) for m in grade.misconceptions],
    )


def _question_of(turn: TurnRecord, bank: RubricBank) -> Question | None:
    stored = turn.meta.get("question")
    if stored:  # written from notes: the transcript keeps it
        try:
            return Question.model_validate(stored)
        except ValueError:
            return None
    return bank.questions.get(turn.question_id or "")


def session_record(session: Session, turns: list[TurnRecord], grades: dict[int, Assessment], bank: RubricBank) -> SessionRecord:
    """Fold a session's turns and grades into one record per question."""
    state = rebuild(turns, grades)
    topic_titles = bank.topics
    records: list[QuestionRecord] = []
    states = {qs.index: qs for qs in state.questions}
    current: QuestionRecord | None = None
    current_question: Question | None = None
    summary = coaching = None
    usage: dict | None = None
    for turn in turns:
        if turn.kind == "question" and turn.question_id:
            question = _question_of(turn, bank)
            current_question = question
            topic = question.topic if question else str(turn.meta.get("topic", ""))
            current = QuestionRecord(
                index=len(records) + 1, question_id=turn.question_id, topic=topic,
                topic_title=topic_titles.get(topic, topic), difficulty=int(turn.meta.get("difficulty", question.difficulty if question else 2)),
                kind=question.kind if question else "concept", generated=bool(turn.meta.get("question")), text=turn.text,
                exchanges=[], grades=[], score=None, skipped=False, hints=0, follow_ups=0,
                model_answer=reflow(question.model_answer or question.reference_answer or "") or None if question else None,
            )
            records.append(current)
        if turn.kind == "summary":
            summary = turn.text
            coaching = turn.meta.get("coaching")
            usage = turn.meta.get("usage")  # the session's totals, the coaching request included
            continue
        if current is None or turn.kind not in ("question", "follow_up", "hint", "answer", "command", "feedback"):
            continue
        current.exchanges.append(Exchange(seq=turn.seq, at=turn.created_at, role=turn.role, kind=turn.kind, text=turn.text))  # type: ignore[arg-type]
        grade = grades.get(turn.seq)
        if grade is not None and turn.kind in ("answer", "command"):
            current.grades.append(_grade_record(turn.seq, grade, current_question))
        if turn.kind == "hint":
            current.hints += 1
        elif turn.kind == "follow_up":
            current.follow_ups += 1
        elif turn.kind == "feedback":
            current.feedback = turn.text
            current.remark = turn.meta.get("remark") or _remark_in(turn.text)
            stored = turn.meta.get("read_more")
            current.read_more = list(stored) if stored else _gap_cites(current)
    for record in records:
        state_of = states.get(record.index)
        record.skipped = bool(state_of and state_of.skipped)
        record.score = record.grades[-1].score if record.grades else None
    return _with_totals(session, turns, grades, records, summary, coaching, usage)


def _remark_in(feedback: str) -> str | None:
    """The remark at the top of a feedback text stored before the remark had its own field."""
    if not feedback.startswith(REMARK_PREFIX):
        return None
    return feedback[len(REMARK_PREFIX):].split("\nScore: ", 1)[0].strip() or None


def _gap_cites(record: QuestionRecord) -> list[str]:
    final = record.grades[-1] if record.grades else None
    if final is None:
        return []
    return list(dict.fromkeys(p.cite for p in final.points if p.verdict != "covered" and p.cite))[:2]


def _with_totals(
    session: Session, turns: list[TurnRecord], grades: dict[int, Assessment], records: list[QuestionRecord],
    summary: str | None, coaching: str | None, usage: dict | None,
) -> SessionRecord:
    scored = [r for r in records if r.score is not None]
    by_topic: dict[str, list[float]] = {}
    for record in scored:
        by_topic.setdefault(record.topic, []).append(record.score or 0.0)
    last = turns[-1].created_at if turns else session.updated_at
    usage = usage or usage_totals(grades.values())
    return SessionRecord(
        id=session.id, user=session.user_key, channel=session.channel, status=session.status,
        started_at=session.created_at, last_activity_at=last,
        duration_seconds=round(max(0.0, (last - session.created_at).total_seconds()), 1),
        planned_questions=len(session.options.question_ids) or session.options.questions,
        topics=sorted({r.topic for r in records if r.topic}),
        average=_round(sum(r.score or 0.0 for r in scored) / len(scored)) if scored else None,
        topic_scores={t: _round(sum(v) / len(v)) for t, v in sorted(by_topic.items())},
        engines=sorted({g.engine for g in grades.values() if g.engine != SKIPPED}),  # a skip is not graded
        models=sorted({g.model for g in grades.values() if g.model}),
        prompt_versions=sorted({g.prompt_version for g in grades.values() if g.prompt_version}),
        usage=UsageRecord(**usage) if usage else None,
        questions=records, summary=summary, coaching=coaching,
    )


def load_records(
    store: Store,
    bank: RubricBank,
    *,
    user: str | None,
    sessions: list[Session] | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[SessionRecord]:
    """Records of ``sessions`` (or of the user's sessions matching the filters), newest first."""
    if sessions is None:
        sessions = store.sessions(user, since=since, limit=None if topic else limit)
    stored = store.transcripts([s.id for s in sessions])
    records = []
    for session in sessions:
        turns, grades = stored[session.id]
        record = session_record(session, turns, grades, bank)
        if topic and topic not in record.topics:
            continue
        records.append(record)
        if limit is not None and len(records) >= limit:
            break
    return records
