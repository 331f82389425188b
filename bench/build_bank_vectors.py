"""Embeds every rubric text of the packaged bank into interviewer/data/bank_vectors.npz.

Run after editing rubrics (tests/test_embedder.py fails when the file no longer covers the
bank): the graders look each text up there before embedding it (interviewer/embedder.py).

Usage: python bench/build_bank_vectors.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    from interviewer.embedder import BANK_VECTORS, Embedder, text_key
    from interviewer.grading.offline.engine import rubric_texts
    from interviewer.rubrics import RubricBank

    texts = list(dict.fromkeys(t for q in RubricBank.load().questions.values() for t in rubric_texts(q)))
    vectors = Embedder().encode(texts)
    target = Path(__file__).resolve().parents[1] / "interviewer" / "data" / BANK_VECTORS
    np.savez_compressed(target, keys=np.array([text_key(t) for t in texts]), vectors=vectors.astype(np.float16))
    print(f"{len(texts)} texts -> {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
