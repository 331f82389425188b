"""The search relevance floor (``RELEVANCE_FLOOR``): what it keeps and what it cuts.

Over the packaged study notes, with no floor, with the floor in use and with each of its three
values moved either way, prints:

- bank questions -> the sections their rubric cites: recall@5 and MRR (bench/retrieval.py's measure);
- paraphrased questions -> the sections that answer them: recall@5 (bench/data/search_relevance.yaml);
- off-topic queries (on the notes, and on the notes without rag.md and system-design.md, where
  "reciprocal rank fusion" has no section): how many show any result at k=5, and how many in all.

A good floor keeps both recalls where they are without a floor and shows nothing off topic.

Usage: python bench/relevance_floor.py
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

from interviewer.knowledge.chroma import make_client
from interviewer.knowledge.index import KnowledgeBase, ensure_material
from interviewer.knowledge.relevance import RELEVANCE_FLOOR, RelevanceFloor
from interviewer.rubrics import RubricBank, packaged_material_dir

from harness.retrieval_eval import retrieval_quality

QUERIES = Path(__file__).parent / "data" / "search_relevance.yaml"
ABOUT_FUSION = ("rag.md", "system-design.md")  # the only notes on fusion and hybrid search


def paraphrase_recall(kb: KnowledgeBase, cases: list[dict], floor: RelevanceFloor | None) -> float:
    found = sum(bool(set(case["sections"]) & set(kb.sections(case["query"], k=5, floor=floor))) for case in cases)
    return found / len(cases)


def shown_off_topic(asked: list[tuple[KnowledgeBase, str]], floor: RelevanceFloor | None) -> tuple[int, int]:
    """(queries that show any result, results shown in all) at k=5."""
    counts = [len(kb.search(query, k=5, floor=floor)) for kb, query in asked]
    return sum(1 for n in counts if n), sum(counts)


def main() -> int:
    queries = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    bank = RubricBank.load()
    floor = RELEVANCE_FLOOR
    candidates: list[tuple[str, RelevanceFloor | None]] = [("no floor", None), (f"RELEVANCE_FLOOR {floor}", floor)]
    candidates += [(f"cosine {v:.2f}", replace(floor, cosine=v)) for v in (0.40, 0.50)]
    candidates += [(f"cosine_with_a_term {v:.2f}", replace(floor, cosine_with_a_term=v)) for v in (0.28, 0.30, 0.35)]
    candidates += [(f"terms {v:.2f}", replace(floor, terms=v)) for v in (0.5, 0.75)]
    with tempfile.TemporaryDirectory() as tmp:
        client = make_client(Path(tmp))
        notes = KnowledgeBase(client, "material")
        ensure_material(notes)
        without = KnowledgeBase(client, "notes-without-fusion")
        without.ingest([p for p in sorted(packaged_material_dir().glob("*.md")) if p.name not in ABOUT_FUSION])
        off_topic = [(notes, q) for q in queries["off_topic"]]
        off_topic += [(without, q) for q in queries["off_topic"] + queries["off_topic_without_rag"]]
        print(f"{len(queries['paraphrases'])} paraphrased questions, {len(off_topic)} off-topic queries")
        for label, candidate in candidates:
            bank_scores = retrieval_quality(notes, bank, floor=candidate)
            paraphrased = paraphrase_recall(notes, queries["paraphrases"], candidate)
            queries_shown, results_shown = shown_off_topic(off_topic, candidate)
            print(f"{label:72s} bank recall@5 {bank_scores.recall_at_5:.3f} MRR {bank_scores.mrr:.3f}  "
                  f"paraphrases recall@5 {paraphrased:.3f}  off-topic: {queries_shown} queries show {results_shown} results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
