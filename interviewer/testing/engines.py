"""Grading without a model: ``ScriptedEngine`` takes scripted verdicts or a rule deciding from the
answer text; ``CollectingResponder`` records every reply an adapter would have sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from interviewer.domain import Assessment, PointVerdict, Question, Verdict
from interviewer.grading.base import AssessContext
from interviewer.grading.scoring import score_verdicts
from interviewer.interview.replies import Reply

VerdictMap = dict[str, str]


def keyword_rule(question: Question, answer: str) -> VerdictMap:
    """A transparent stand-in grader: a point is covered when its id's words appear in the answer."""
    lowered = answer.lower()
    verdicts: VerdictMap = {}
    for point in question.points:
        words = point.id.replace("_", "-").split("-")
        present = sum(w in lowered for w in words)
        verdicts[point.id] = "covered" if present == len(words) else "partial" if present else "missed"
    return verdicts


def _closest_sentence(answer: str, point_text: str) -> str:
    """The answer's sentence sharing most words with the point: verbatim evidence, as a grader gives."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.strip()) if s.strip()] or [answer.strip()]
    wanted = set(re.findall(r"\w+", point_text.lower()))
    return max(sentences, key=lambda s: len(wanted & set(re.findall(r"\w+", s.lower()))))[:300]


@dataclass
class ScriptedEngine:
    """An engine whose verdicts come from a script; records what it was asked to grade."""

    script: list[VerdictMap] = field(default_factory=list)
    rule: Callable[[Question, str], VerdictMap] | None = None
    delay: float = 0.0
    fail_times: int = 0
    name: str = "scripted"
    model: str | None = "scripted"
    wants_context: bool = False
    calls: list[tuple[str, str, tuple[str, ...] | None]] = field(default_factory=list)

    def warm_up(self) -> None:
        return None

    def prepare(self, question: Question) -> None:
        return None

    async def assess(
        self, question: Question, answer: str, *, focus: Sequence[str] | None = None, context: AssessContext | None = None
    ) -> Assessment:
        self.calls.append((question.id, answer, tuple(focus) if focus else None))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("scripted failure")
        if self.script:
            verdict_map = self.script.pop(0)
        elif self.rule is not None:
            verdict_map = self.rule(question, answer)
        else:
            verdict_map = {}
        wanted = [p for p in question.points if focus is None or p.id in focus]
        verdicts = [
            PointVerdict(
                point_id=p.id,
                verdict=Verdict(verdict_map.get(p.id, "missed")),
                evidence=_closest_sentence(answer, p.text) if verdict_map.get(p.id, "missed") != "missed" else None,
            )
            for p in wanted
        ]
        return Assessment(
            question_id=question.id,
            verdicts=verdicts,
            score=score_verdicts(question, verdicts, []),
            engine=self.name,
            model=self.model,
            rubric_hash=question.content_hash,
            latency_ms=0.0,
        )


@dataclass
class CollectingResponder:
    """Collects replies the way a channel's output would send them."""

    replies: list[Reply] = field(default_factory=list)

    async def send(self, reply: Reply) -> None:
        self.replies.append(reply)

    @property
    def kinds(self) -> list[str]:
        return [m.kind for r in self.replies for m in r.messages]

    @property
    def texts(self) -> list[str]:
        return [m.text for r in self.replies for m in r.messages]
