"""Retrieval quality on the bank (question -> cited section) for each retriever, and ingest speed.

Prints recall@1, recall@5 and MRR for hybrid (RRF, the default, and convex score fusion), vector-only and
BM25-only retrieval over the packaged study notes, and for hybrid behind the relevance floor that
`interviewer search` applies (bench/relevance_floor.py measures what the floor cuts). Targets: recall@5 >= 0.95, MRR >= 0.8,
hybrid MRR above both single retrievers.

With --corpus-mb N it also builds an N MB folder of mixed files (Markdown, text, HTML, PDF)
from the study notes, ingests it with the packaged notes, prints chunks/s, then re-ingests
the unchanged files and prints that time as a share of the first ingest (target < 10%).

Usage: python bench/retrieval.py [--corpus-mb 5]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from interviewer.knowledge.chroma import make_client
from interviewer.knowledge.index import KnowledgeBase, ensure_material
from interviewer.knowledge.relevance import RELEVANCE_FLOOR
from interviewer.rubrics import RubricBank, packaged_material_dir

from harness.retrieval_eval import retrieval_quality


def quality() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(make_client(Path(tmp)), "material")
        report = ensure_material(kb)
        print(f"indexed the study notes: {report.chunks} chunks from {report.added} files "
              f"in {report.seconds:.1f} s ({report.chunks_per_second:.0f} chunks/s)")
        bank = RubricBank.load()
        for label, mode, fusion, floor in (("hybrid (RRF)", "hybrid", "rrf", None), ("hybrid (convex)", "hybrid", "convex", None),
                                           ("vector only", "vector", "rrf", None), ("BM25 only", "bm25", "rrf", None),
                                           ("hybrid + floor", "hybrid", "rrf", RELEVANCE_FLOOR)):
            s = retrieval_quality(kb, bank, mode=mode, fusion=fusion, floor=floor)
            print(f"{label:16s} questions {s.queries}  recall@1 {s.recall_at_1:.3f}  recall@5 {s.recall_at_5:.3f}  "
                  f"MRR {s.mrr:.3f}   (primary section: recall@5 {s.primary_recall_at_5:.3f}, MRR {s.primary_mrr:.3f})")


def mixed_corpus(root: Path, megabytes: float) -> int:
    """Copies of the study notes as .md, .txt, .html and .pdf files until the folder is big enough."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pdf_fixture import make_pdf

    notes = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(packaged_material_dir().glob("*.md"))]
    rng = random.Random(7)
    size, n = 0, 0
    while size < megabytes * 1024 * 1024:
        stem, text = notes[n % len(notes)]
        variant = f"{stem}-{n}"
        text = text.replace("\n## ", f"\n## (copy {n}) ", 3)  # distinct content, distinct hashes
        kind = ["md", "txt", "html", "pdf"][n % 4]
        path = root / f"{variant}.{kind}"
        if kind == "md":
            path.write_text(text, encoding="utf-8")
        elif kind == "txt":
            path.write_text(text.replace("#", ""), encoding="utf-8")
        elif kind == "html":
            body = "".join(f"<h2>{line[3:]}</h2>" if line.startswith("## ") else f"<p>{line}</p>" for line in text.splitlines() if line.strip())
            path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
        else:
            paragraphs = [p for p in text.split("\n\n") if p.strip()]
            rng.shuffle(paragraphs)
            path.write_bytes(make_pdf([" ".join(p.split())[:1500] for p in paragraphs[:6]]))
        size += path.stat().st_size
        n += 1
    return size


def ingest_speed(megabytes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        size = mixed_corpus(corpus, megabytes)
        files = len(list(corpus.iterdir()))
        kb = KnowledgeBase(make_client(Path(tmp) / "db"), "bench")
        notes = sorted(packaged_material_dir().glob("*.md"))
        first = kb.ingest([*notes, corpus])
        print(f"first ingest: {files} mixed files ({size / 1e6:.1f} MB) + the study notes -> {first.chunks} chunks "
              f"in {first.seconds:.1f} s = {first.chunks_per_second:.0f} chunks/s; problems: {len(first.problems)}")
        started = time.perf_counter()
        again = kb.ingest([*notes, corpus])
        seconds = time.perf_counter() - started
        print(f"re-ingest of unchanged files: {seconds:.2f} s = {seconds / first.seconds:.1%} of the first "
              f"({again.unchanged} unchanged, {again.chunks} chunks added)  (target < 10%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus-mb", type=float, default=0.0)
    args = parser.parse_args()
    quality()
    if args.corpus_mb:
        ingest_speed(args.corpus_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
