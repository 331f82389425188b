"""What the interview asks of study material, whatever index serves it (``MaterialRetriever``)."""

from __future__ import annotations

from typing import Protocol

from interviewer.domain import Passage


class Retriever(Protocol):
    """Finds study material: citations for "read more", passages as context for a model.

    ``start`` opens the index in the background as soon as a question that will need it is
    asked; until it is ready ``sections`` and ``passages`` return []: nothing waits for it.
    """

    def start(self) -> None: ...

    def sections(self, query: str, k: int = 2) -> list[str]: ...

    def passages(self, query: str, k: int = 3, topic: str | None = None) -> list[Passage]: ...
