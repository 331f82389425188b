"""The narrow engine interface the core depends on; tests inject their own implementation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from interviewer.domain import Assessment, Passage, Question


@dataclass
class AssessContext:
    """What the core knows around an answer, for engines that can use it (the LLM engine).

    ``conversation`` holds the earlier exchanges on the same question as (speaker, text) pairs;
    ``on_utterance`` receives the interviewer's next words as they stream in.
    """

    conversation: list[tuple[str, str]] = field(default_factory=list)
    material: list[Passage] = field(default_factory=list)
    follow_up_allowed: bool = False
    on_utterance: Callable[[str], None] | None = None


@runtime_checkable
class Engine(Protocol):
    """Grades an answer against a question's rubric.

    ``focus`` limits grading to some points (a follow-up answer is graded on the points the
    follow-up asked about); the engine returns verdicts for those points only. Engines that set
    ``wants_context`` get an ``AssessContext`` (retrieval costs time, so others do not).
    """

    name: str
    model: str | None
    wants_context: bool

    def warm_up(self) -> None:
        """Start any slow loading in the background; must return immediately."""

    async def assess(
        self,
        question: Question,
        answer: str,
        *,
        focus: Sequence[str] | None = None,
        context: AssessContext | None = None,
    ) -> Assessment:
        """Grade ``answer``; never raises for bad input (empty, huge, hostile text)."""
        ...


@runtime_checkable
class Preparing(Protocol):
    """An engine that starts work on a question as soon as it is asked, while the candidate reads
    and types (the offline engine embeds the rubric; the LLM engine builds its few-shot block)."""

    def prepare(self, question: Question) -> None: ...


@runtime_checkable
class Coach(Protocol):
    """An engine that writes a coaching note for the end-of-interview summary.

    ``coach`` gets the session's results as text and returns the note with what it cost, or
    None when it cannot give one; the summary stands without it."""

    async def coach(self, results: str) -> tuple[str, Any] | None: ...
