"""Grade every graded example of the rubric bank with the offline engine and print agreement.

Figures: share of questions where strong > partial > weak (and fluent_wrong < partial), the
per-point verdict agreement with the human labels, and mean absolute score error.
Usage: python bench/bank_examples.py [--split fit|holdout|all] [--verbose]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from interviewer.grading.offline.engine import OfflineEngine
from interviewer.rubrics import RubricBank

from harness.grading_eval import evaluate_bank


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=["fit", "holdout", "all"], default="all")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    bank = RubricBank.load()
    engine = OfflineEngine()
    engine.embedder.wait()
    started = time.perf_counter()
    report = evaluate_bank(bank, engine, split=args.split)
    elapsed = time.perf_counter() - started
    if args.verbose:
        for row in report.failures:
            print("FAIL", row)
    print(f"questions: {report.questions}  examples: {report.examples}  ({elapsed:.1f} s)")
    print(f"ordering strong > partial > weak: {report.ordered}/{report.questions} = {report.ordering_share:.1%}")
    print(f"fluent_wrong < partial: {report.fluent_below_partial}/{report.with_fluent} = {report.fluent_share:.1%}")
    print(f"point verdict agreement: {report.verdict_agreement:.1%}  (exact, over {report.points_compared} points)")
    print(f"mean absolute score error vs human score: {report.mae:.2f}")
    print("mean score by label: " + ", ".join(f"{k} {statistics.mean(v):.1f}" for k, v in report.by_label.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
