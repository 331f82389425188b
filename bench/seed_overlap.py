"""How much of our material and rubric text overlaps the seed documents, sentence by sentence.

For every sentence we wrote (study notes and rubric YAML text), the longest run of consecutive
words it shares with any seed sentence, and its best difflib similarity ratio to a seed
sentence. Prints the maxima and the worst offenders. Seeds are read from ../shared/seeds.

Usage: python bench/seed_overlap.py [--seeds DIR] [--top 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.overlap import overlap_report

DEFAULT_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    report = overlap_report(args.seeds)
    print(f"sentences checked: {report.checked} against {report.seed_sentences} seed sentences")
    print(f"longest shared word run: {report.max_run} words; sentences sharing >= 8 words: {report.long_runs}")
    print(f"highest similarity ratio to a seed sentence: {report.max_ratio:.2f}")
    for run, ratio, ours, source in report.worst[: args.top]:
        print(f"  run {run:2d} ratio {ratio:.2f}  {source}: {ours[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
