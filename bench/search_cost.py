"""What one `interviewer search` costs in a new process, against the floor: encoding the query.

Builds a collection of about 3,000 chunks (the study notes plus a mixed corpus made from them,
as bench/retrieval.py does) in a temporary data folder, then, in fresh processes as the CLI
would be (each with the embedding model loaded and one query encoded first, so imports and
model loading are not counted), times the first hybrid search of the process:

  warm     as `interviewer search` does: ``KnowledgeBase.warm_up()`` opens Chroma and reads the
           saved BM25 index while the model loads (the normal case)
  saved    the saved BM25 index, read by the search itself (no warm-up)
  rebuilt  no saved index: every chunk is tokenised again (what every process did before)

and prints each as a ratio of the query's own encoding time (medians over several queries and
processes). Target: warm <= 1.2x the query encode.

Usage: python bench/search_cost.py [--corpus-mb 1.6] [--processes 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUERIES = ["how does reciprocal rank fusion combine rankings", "why scale attention by the root of the key dimension",
           "what does LoRA train instead of the full weights", "when is recall more important than precision",
           "how does quantisation shrink a model"]

CHILD = r"""
import json, sys, time
from pathlib import Path
from interviewer.knowledge.chroma import make_client
from interviewer.knowledge.index import KnowledgeBase
data, query, variant = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
kb = KnowledgeBase(make_client(data / "chroma"), "bench", bm25_dir=(data / "bm25") if variant != "rebuilt" else None)
warming = kb.warm_up() if variant == "warm" else None
kb.embedding_function(["warm the model up"])
if warming is not None:
    warming.join()
started = time.perf_counter(); kb.embedding_function([query]); encode = time.perf_counter() - started
started = time.perf_counter(); hits = kb.search(query, k=5); search = time.perf_counter() - started
print(json.dumps({"encode": encode, "search": search, "chunks": kb.count(), "hits": len(hits)}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-mb", type=float, default=1.6)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the collection here and keep it (reused when it is there)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from retrieval import mixed_corpus

    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase
    from interviewer.rubrics import packaged_material_dir

    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        corpus = data / "corpus"
        if not corpus.is_dir():
            corpus.mkdir(parents=True)
            mixed_corpus(corpus, args.corpus_mb)
        kb = KnowledgeBase(make_client(data / "chroma"), "bench", bm25_dir=data / "bm25")
        report = kb.ingest([*sorted(packaged_material_dir().glob("*.md")), corpus])
        kb.search("save the index", k=1)  # builds and saves the BM25 index, as the first search does
        print(f"collection: {kb.count()} chunks ({report.chunks} indexed now)")
        rows: dict[str, list[float]] = {"warm": [], "saved": [], "rebuilt": []}
        encodes: list[float] = []
        for _ in range(args.processes):
            for query in QUERIES:
                for variant in rows:
                    out = subprocess.run([sys.executable, "-c", CHILD, str(data), query, variant], capture_output=True, text=True,
                                         timeout=300, check=True)
                    figures = json.loads(out.stdout.strip().splitlines()[-1])
                    rows[variant].append(figures["search"])
                    encodes.append(figures["encode"])
        encode = statistics.median(encodes)
        print(f"query encode (warm model): median {encode * 1000:.1f} ms")
        for variant, seconds in rows.items():
            median = statistics.median(seconds)
            print(f"first search of a process, {variant:<7}: median {median * 1000:.1f} ms = {median / encode:.2f}x the query encode")
        ratio = statistics.median(rows["warm"]) / encode
        print(f"target: warm <= 1.2x the query encode: {'PASS' if ratio <= 1.2 else 'FAIL'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
