"""The second-round fault campaign (storage faults, two windows, hostile files and model text).

Runs every attack of ``harness.reliability.round_two`` at full size and prints one line each,
"N injected, N survived, N lost", then the total; exits 1 unless every attack survived with
nothing lost. `--fast` runs the subset the test suite runs (tests/test_fault_campaign.py).
PostgreSQL terminations need the local server (INTERVIEWER_TEST_POSTGRES_URL); without one that
attack is reported as skipped.

Usage: python bench/fault_campaign.py [--fast] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="the CI subset")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("interviewer").setLevel(logging.ERROR)  # the faults are on purpose

    from harness.reliability.round_two import run_round_two, summary

    started = time.perf_counter()
    attacks = run_round_two(fast=args.fast, seed=args.seed)
    for attack in attacks:
        print(f"{attack.line()}  [{'ok' if attack.ok else 'FAIL'}]")
        for problem in attack.problems[:5]:
            print(f"     {problem}")
    print(f"total: {summary(attacks)} in {time.perf_counter() - started:.0f} s")
    return 0 if all(a.ok for a in attacks) else 1


if __name__ == "__main__":
    sys.exit(main())
