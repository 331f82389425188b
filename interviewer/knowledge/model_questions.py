"""Questions from a candidate's notes written by the configured model.

The offline generator already turns each section into an "Explain <heading>" question; with a
model, the sections that will be asked are rewritten into real interview questions with a
weighted rubric (``prompts/generate_question.yaml``). A section the model fails on keeps its
offline question, so drilling notes never depends on the model answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from interviewer.domain import Passage, Question

from interviewer.knowledge.index import KnowledgeBase

CONCURRENT_REQUESTS = 3


def section_passages(kb: KnowledgeBase, question: Question, k: int = 3) -> list[Passage]:
    """The chunks of the section an offline-generated question came from."""
    cite = next((p.cite for p in question.points if p.cite), None)
    if not cite:
        return []
    source, heading = cite.split(" > ", 1)
    hits = kb.search(heading, k=k, source=source)
    return [Passage(citation=h.citation, text=h.text) for h in hits if h.heading == heading] or [
        Passage(citation=h.citation, text=h.text) for h in hits
    ]


async def rewrite_with_model(
    engine, kb: KnowledgeBase, questions: Sequence[Question], limit: int, topic: str
) -> tuple[list[Question], list[str]]:
    """The first ``limit`` questions rewritten by ``engine.ask``; the rest unchanged; and what failed."""
    gate = asyncio.Semaphore(CONCURRENT_REQUESTS)
    problems: list[str] = []

    async def rewrite(question: Question) -> Question:
        passages = await asyncio.to_thread(section_passages, kb, question)
        if not passages:
            return question
        async with gate:
            try:
                written = await engine.ask(question.text, passages, avoid=[q.text for q in questions], topic=topic)
            except Exception as exc:  # ModelCallError, InvalidOutput: keep the offline question
                problems.append(f"{passages[0].citation}: {getattr(exc, 'reason', None) or exc}")
                return question
        return written

    rewritten = await asyncio.gather(*(rewrite(q) for q in questions[:limit]))
    result: list[Question] = []
    seen: set[str] = set()
    for question in [*rewritten, *questions[limit:]]:
        if question.id not in seen:
            seen.add(question.id)
            result.append(question)
    return result, problems
