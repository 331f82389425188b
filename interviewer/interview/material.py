"""Study material around the question being asked: passages for a model, sections to read more.

Both are niceties: a retriever that fails or is not ready yields nothing and the interview goes
on without it. Passages for a model are fetched when the question is asked, so the query's
embedding is done while the candidate types.
"""

from __future__ import annotations

import asyncio
import logging

from interviewer.domain import Passage, Question
from interviewer.knowledge.retriever import Retriever

log = logging.getLogger(__name__)

PASSAGES = 3  # given to a model with the answer
CACHE = 256  # questions whose passages are kept


class StudyMaterial:
    def __init__(self, retriever: Retriever | None) -> None:
        self.retriever = retriever
        self._tasks: dict[str, asyncio.Task[list[Passage]]] = {}

    def start(self) -> None:
        """Open the material index in the background (a server does so before anyone asks)."""
        if self.retriever is not None:
            self.retriever.start()

    def asked(self, question: Question, *, for_model: bool) -> None:
        """A question was asked: open the index if its feedback or a model will need it, and
        fetch the model's passages now."""
        if for_model or not question.points or any(not p.cite for p in question.points):
            self.start()
        if for_model:
            self.passages(question)

    def passages(self, question: Question) -> asyncio.Task[list[Passage]]:
        """Passages about ``question``, fetched once per question; an empty result (the index was
        still building) is fetched again next time."""
        loop = asyncio.get_running_loop()
        task = self._tasks.get(question.id)
        if task is None or task.get_loop() is not loop or (task.done() and not task.result()):
            task = loop.create_task(self._fetch(question))
            self._tasks[question.id] = task
            while len(self._tasks) > CACHE:
                self._tasks.pop(next(iter(self._tasks)))
        return task

    async def _fetch(self, question: Question) -> list[Passage]:
        if self.retriever is None:
            return []
        query = " ".join([question.text, *(p.text for p in question.points[:3])])
        try:
            return await asyncio.to_thread(self.retriever.passages, query, PASSAGES, None if question.generated else question.topic)
        except Exception:  # context is a nicety: grading goes on without it
            log.exception("material retrieval for the model failed")
            return []

    async def read_more(self, question: Question, scorecard: dict) -> list[str]:
        """1-2 sections to study: the cites of the points missed, else the most relevant material."""
        gaps = [p for p in scorecard["points"] if p["verdict"] != "covered"]
        cites = list(dict.fromkeys(p["cite"] for p in gaps if p.get("cite")))[:2]
        if cites or not gaps or self.retriever is None:
            return cites
        query = " ".join([question.text, *(p["text"] for p in gaps[:2])])
        try:
            return await asyncio.to_thread(self.retriever.sections, query, 2)
        except Exception:  # retrieval is a nicety: feedback must never fail because of it
            log.exception("read-more retrieval failed")
            return []
