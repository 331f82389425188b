"""Retrieval quality on our own bank: does a question find the sections its rubric cites?

For each bank question, the question text is the query and the sections its points cite are
the relevant ones. Reported: recall@1, recall@5 and MRR over distinct retrieved sections,
counting the best-ranked cited section ("any") and the section most of its points cite
("primary"). With a ``floor`` (``RelevanceFloor``), what the floor drops is not retrieved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from interviewer.knowledge.index import Fusion, KnowledgeBase, Mode
from interviewer.knowledge.relevance import RelevanceFloor
from interviewer.rubrics import RubricBank


@dataclass
class RetrievalScores:
    queries: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    primary_recall_at_5: float
    primary_mrr: float


def retrieval_quality(kb: KnowledgeBase, bank: RubricBank, *, mode: Mode = "hybrid", fusion: Fusion = "rrf", depth: int = 10,
                      floor: RelevanceFloor | None = None) -> RetrievalScores:
    hits1 = hits5 = p_hits5 = 0
    rr = p_rr = 0.0
    questions = [q for q in bank.questions.values() if any(p.cite for p in q.points)]
    for question in questions:
        cited = Counter(p.cite for p in question.points if p.cite)
        primary = cited.most_common(1)[0][0]
        ranked = kb.sections(question.text, k=depth, mode=mode, fusion=fusion, floor=floor)
        ranks = [ranked.index(c) + 1 for c in cited if c in ranked]
        if ranks:
            best = min(ranks)
            hits1 += best == 1
            hits5 += best <= 5
            rr += 1 / best
        if primary in ranked:
            rank = ranked.index(primary) + 1
            p_hits5 += rank <= 5
            p_rr += 1 / rank
    n = max(1, len(questions))
    return RetrievalScores(len(questions), hits1 / n, hits5 / n, rr / n, p_hits5 / n, p_rr / n)
