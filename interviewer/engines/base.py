"""The narrow engine interface the core depends on; tests inject their own implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from interviewer.domain import Assessment, Question


@runtime_checkable
class Engine(Protocol):
    """Grades an answer against a question's rubric.

    ``focus`` limits grading to some points (a follow-up answer is graded on the points the
    follow-up asked about); the engine returns verdicts for those points only.
    """

    name: str
    model: str | None

    def warm_up(self) -> None:
        """Start any slow loading in the background; must return immediately."""

    async def assess(self, question: Question, answer: str, *, focus: Sequence[str] | None = None) -> Assessment:
        """Grade ``answer``; never raises for bad input (empty, huge, hostile text)."""
        ...
