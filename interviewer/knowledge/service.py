"""Opening knowledge-base collections from settings, and the background "read more" retriever."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from interviewer.config import Settings
from interviewer.domain import Passage

log = logging.getLogger(__name__)
MATERIAL = "material"
MATERIAL_INDEXING = "study material indexing"  # the name of the cross-process hold while indexing


def open_collection(settings: Settings, name: str = MATERIAL):
    """A KnowledgeBase for a named collection (imports Chroma: about a second)."""
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase

    return KnowledgeBase(make_client(settings.data_dir, settings.chroma_url), name, bm25_dir=settings.data_dir / "bm25")


def notes_collection_name(path: Path) -> str:
    """One collection per notes folder, so drilling one folder never mixes in another."""
    resolved = path.expanduser().resolve()
    slug = "".join(c if c.isalnum() else "-" for c in resolved.name.lower()).strip("-")[:30] or "notes"
    return f"notes-{slug}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


class MaterialRetriever:
    """Finds study-material sections for feedback; opens and indexes in a background thread.

    Until the collection is ready, ``sections`` returns nothing rather than making the
    candidate wait for feedback.

    ``exclusive`` makes the indexing one process at a time (replicas sharing a Chroma server, or
    two terminals on one data dir): the first to get it embeds the notes, the others then find
    them in place instead of all embedding everything at once.
    """

    def __init__(self, settings: Settings, *, exclusive: Callable[[], AbstractContextManager[Any]] | None = None) -> None:
        self.settings = settings
        self.exclusive = exclusive
        self.report = None  # what opening the material did (an IngestReport), once it is open
        self._kb = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._open, name="material-retriever", daemon=True)
                self._thread.start()

    def _open(self) -> None:
        try:
            from interviewer.knowledge.index import ensure_material

            kb = open_collection(self.settings, MATERIAL)
            with self.exclusive() if self.exclusive is not None else nullcontext():
                self.report = ensure_material(kb)
            self._kb = kb
        except Exception:
            log.exception("the study material could not be indexed; feedback goes without 'read more'")

    def wait(self, timeout: float | None = None) -> bool:
        """Open now if not yet started and wait for it; True when the material is ready."""
        self.start()
        assert self._thread is not None
        self._thread.join(timeout)
        return self._kb is not None

    def sections(self, query: str, k: int = 2) -> list[str]:
        if self._kb is None:
            self.start()
            return []
        return self._kb.sections(query, k=k)

    def passages(self, query: str, k: int = 3, topic: str | None = None) -> list[Passage]:
        """The k best chunks as model context, from ``topic``'s notes when it has any."""
        if self._kb is None:
            self.start()
            return []
        hits = self._kb.search(query, k=k, topic=topic) if topic else []
        if not hits:
            hits = self._kb.search(query, k=k)
        return [Passage(citation=hit.citation, text=hit.text) for hit in hits]
