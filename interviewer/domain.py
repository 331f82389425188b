"""Domain models shared by every part of the interviewer.

Rubric models reject unknown keys (``extra="forbid"``) so a typo in a YAML file is an error
with a location, never a silently ignored field.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
NonEmpty = Annotated[str, Field(min_length=1)]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Strict(BaseModel):
    """Base for data-file models: unknown keys are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Verdict(str, Enum):
    covered = "covered"
    partial = "partial"
    missed = "missed"

    @property
    def credit(self) -> float:
        """Share of a point's weight this verdict earns."""
        return {"covered": 1.0, "partial": 0.5, "missed": 0.0}[self.value]


class RubricPoint(Strict):
    """One thing a good answer must say, with what the interviewer does when it is missing."""

    id: Slug
    text: NonEmpty
    weight: float = Field(default=1.0, gt=0, le=5)
    keywords: list[NonEmpty] = Field(
        default_factory=list,
        description="Lexical cues; 'a|b' lists alternatives that count as the same cue.",
    )
    aliases: list[NonEmpty] = Field(
        default_factory=list, description="Other ways a candidate may phrase the point."
    )
    follow_up: NonEmpty
    hint: NonEmpty
    cite: str | None = Field(
        default=None, description="Material section the point comes from: 'file.md > Heading'."
    )

    @field_validator("cite")
    @classmethod
    def _cite_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[^>]+ > .+$", value):
            raise ValueError("cite must look like 'topic.md > Heading'")
        return value


class Misconception(Strict):
    """A wrong belief candidates often state; an answer that states it is penalised."""

    id: Slug
    claim: NonEmpty = Field(description="The wrong belief, phrased as a candidate would say it.")
    correction: NonEmpty
    keywords: list[NonEmpty] = Field(default_factory=list)


ExampleLabel = Literal["strong", "partial", "weak", "fluent_wrong"]


class GradedExample(Strict):
    """A human-graded answer: few-shot material for the LLM engine and a regression case."""

    label: ExampleLabel
    answer: NonEmpty
    score: float = Field(ge=0, le=10)
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    misconceptions: list[str] = Field(default_factory=list)
    rationale: NonEmpty


class Question(Strict):
    """A bank question with its rubric; ``topic`` is filled in from the file by the loader."""

    id: Slug
    text: NonEmpty
    difficulty: int = Field(ge=1, le=3)
    kind: Literal["concept", "scenario"] = "concept"
    tags: list[str] = Field(default_factory=list)
    points: list[RubricPoint] = Field(default_factory=list)
    reference_answer: str | None = None
    misconceptions: list[Misconception] = Field(default_factory=list)
    model_answer: str | None = None
    examples: list[GradedExample] = Field(default_factory=list)
    topic: str = ""
    generated: bool = Field(default=False, description="Built from the candidate's notes, not from the bank.")
    contrasts: list[NonEmpty] = Field(
        default_factory=list,
        description=(
            "The things the question sets against each other, one cue per thing ('static|word2vec|glove'):"
            " an answer that binds a point's attribute to another of them contradicts the point."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Question":
        if not self.points and not self.reference_answer:
            raise ValueError("a question needs rubric points or a reference_answer")
        if self.points and not 1 <= len(self.points) <= 8:
            raise ValueError(f"a question takes 1-8 points, found {len(self.points)}")
        point_ids = [p.id for p in self.points]
        if len(set(point_ids)) != len(point_ids):
            raise ValueError("point ids must be unique within a question")
        if len(self.contrasts) == 1:
            raise ValueError("contrasts lists two or more things, or is left out")
        misconception_ids = {m.id for m in self.misconceptions}
        for n, example in enumerate(self.examples):
            unknown = set(example.verdicts) - set(point_ids)
            if unknown:
                raise ValueError(f"examples[{n}] has verdicts for unknown points: {sorted(unknown)}")
            unknown = set(example.misconceptions) - misconception_ids
            if unknown:
                raise ValueError(f"examples[{n}] names unknown misconceptions: {sorted(unknown)}")
        return self

    @property
    def content_hash(self) -> str:
        """Hash of the rubric content, stored with every grade so regrades are traceable."""
        payload = self.model_dump(mode="json", exclude={"examples"})
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def point(self, point_id: str) -> RubricPoint:
        for point in self.points:
            if point.id == point_id:
                return point
        raise KeyError(point_id)


class RubricFile(Strict):
    """One YAML file: one topic and its questions."""

    version: int = Field(ge=1)
    topic: Slug
    title: NonEmpty
    material: str | None = None
    description: str | None = None
    questions: list[Question] = Field(min_length=1)


class PointVerdict(BaseModel):
    """The grade of one rubric point, with the sentence of the answer that supports it."""

    point_id: str
    verdict: Verdict
    evidence: str | None = None
    confidence: float = 0.0
    reasoning: str | None = None


class MisconceptionHit(BaseModel):
    """A wrong statement in the answer: a known misconception, or a sentence that contradicts a point.

    ``point_id`` and ``kind`` are set when the answer contradicts a rubric point (it negates it,
    frames it as a myth, binds it to the wrong thing or flips its direction); ``correction`` then
    says what is true instead."""

    misconception_id: str
    evidence: str
    correction: str
    point_id: str | None = None
    kind: str | None = None


SKIPPED = "skip"
"""The ``engine`` of a skipped question's grade: no engine graded it."""


class Assessment(BaseModel):
    """An engine's judgement of an answer; the score is computed from verdicts, never given."""

    question_id: str
    verdicts: list[PointVerdict]
    misconceptions: list[MisconceptionHit] = Field(default_factory=list)
    score: float = 0.0
    engine: str = "offline"
    model: str | None = None
    prompt_version: str | None = None
    rubric_hash: str | None = None
    latency_ms: float | None = None
    tokens: int | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    fallback: str | None = Field(default=None, description="Why the model engine fell back to the offline grader.")
    notes: list[str] = Field(default_factory=list)
    utterance: str | None = Field(default=None, description="The model's next words (a follow-up or an acknowledgement).")
    follow_up_point: str | None = Field(default=None, description="The point the utterance follows up on.")

    def verdict_for(self, point_id: str) -> Verdict:
        for pv in self.verdicts:
            if pv.point_id == point_id:
                return pv.verdict
        return Verdict.missed


class Turn(BaseModel):
    """An incoming candidate event from any adapter."""

    session_key: str
    user_key: str
    text: str
    channel: str = "repl"
    # The seq of the question or follow-up the candidate was looking at (the ``prompt_seq`` of
    # the message that asked it). With it, an answer typed in a window that another window has
    # moved past is refused instead of being filed under a question the candidate never saw.
    prompt_seq: int | None = None


Role = Literal["candidate", "interviewer", "system"]


class TurnRecord(BaseModel):
    """A stored, append-only transcript line."""

    session_id: str
    seq: int
    role: Role
    kind: str
    text: str
    question_id: str | None = None
    meta: dict = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)


class SessionOptions(BaseModel):
    topics: list[str] = Field(default_factory=list)
    questions: int = Field(default=5, ge=1, le=50)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    question_ids: list[str] = Field(default_factory=list)
    max_follow_ups: int = Field(default=2, ge=0, le=5)


class Session(BaseModel):
    id: str
    session_key: str
    user_key: str
    channel: str
    status: Literal["active", "finished"] = "active"
    options: SessionOptions = Field(default_factory=SessionOptions)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class Passage:
    """A retrieved piece of study material and the citation it is shown with."""

    citation: str
    text: str
