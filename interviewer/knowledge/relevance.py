"""When a retrieved chunk is relevant to a query at all, whatever its rank: the floor under search."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RelevanceFloor:
    """What a chunk needs to count as relevant to a query at all, whatever its rank.

    A rank says nothing on its own (the best of a bad lot still comes first, and a reciprocal-rank
    score is ~0.016 for anything), so the floor reads the retrievers' own evidence. A chunk is kept
    if it is close in meaning (cosine >= ``cosine``), or fairly close and shares a query term
    (cosine >= ``cosine_with_a_term``: in that band MiniLM also rates chunks that merely share the
    field, and a shared word tells them apart), or contains most of the query's terms (share of
    its distinct stemmed non-stop-word terms >= ``terms``: an acronym or a name the embedding does
    not know). BM25's raw score is not used: it grows with the collection and one rare word
    that also appears in a different sense ("rank" in "low-rank") can make it large.
    """

    cosine: float
    cosine_with_a_term: float
    terms: float

    def admits(self, cosine: float | None, terms: float | None) -> bool:
        similarity, share = cosine if cosine is not None else -1.0, terms or 0.0
        return similarity >= self.cosine or (similarity >= self.cosine_with_a_term and share > 0) or share >= self.terms


RELEVANCE_FLOOR = RelevanceFloor(cosine=0.45, cosine_with_a_term=0.32, terms=0.6)
"""What ``interviewer search`` shows (``--all`` shows everything), measured by
``python bench/relevance_floor.py`` over the packaged notes (277 chunks, MiniLM), k=5:

- 55 off-topic queries ("banana bread recipe", ..., and "reciprocal rank fusion" over the notes
  without rag.md and system-design.md, issue 28): 275 results without the floor, none with it.
  Their best cosine reaches 0.40 (that query against "Scaled dot-product attention", sharing no
  word with it), hence ``cosine`` 0.45 alone; with a shared term, off-topic chunks reach 0.32.
- 141 bank questions -> the sections their rubric cites: recall@5 0.979 with and without the
  floor (MRR 0.890 -> 0.898). 44 paraphrased questions: recall@5 0.909 -> 0.864 (two found only
  at cosine 0.27 and 0.14, where off-topic chunks also are).
- Moving one value: ``cosine_with_a_term`` 0.30 lets 5 off-topic results through, 0.35 loses
  bank recall (0.965) and paraphrases (0.818); ``terms`` 0.5 lets 28 through (a two-word query
  half-matched by one common word), 0.75 loses a paraphrase; ``cosine`` 0.40 lets 1 through.
"""
