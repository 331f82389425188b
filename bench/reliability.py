"""The reliability bench: every campaign of harness.reliability at full size, one summary line.

The tests run the same drivers at small N on every `make test`; this runs them at the sizes the
issue asks for and prints the counts:

  faults     N model faults (timeouts, refused connections, 429, 500, truncated JSON, wrong
             schema, empty content, a 5 MB body), one per candidate turn, through the LLM engine
  kills      20 SIGKILLs of a scripted session (mid-grading, mid-write, random), each resumed
  concurrency 100 users at once in one process, stub model with random latency
  injections the hostile-answer catalogue against the offline engine and against a stub model
             that obeys injected verdicts
  isolation  every path by which one user could read, answer or export another's session
  secrets    fake keys and tokens set, then logs, stores, exports and errors scanned

Usage: python bench/reliability.py [--faults 200] [--kills 20] [--users 100] [--seed 0]
Everything runs offline on 127.0.0.1; the full run takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faults", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("interviewer").setLevel(logging.ERROR)  # the faults are on purpose: no warning per turn

    from harness.reliability.concurrency import run_concurrent_sessions
    from harness.reliability.crash import run_crash_campaign
    from harness.reliability.faults import run_fault_campaign
    from harness.reliability.hostile import run_injection_campaign
    from harness.reliability.leaks import check_isolation, scan_for_secrets

    started = time.perf_counter()
    parts: list[str] = []
    failed = False

    def report(name: str, result, ok: bool) -> None:
        nonlocal failed
        failed |= not ok
        print(f"{name:<12} {result.line()}  [{'ok' if ok else 'FAIL'}, {time.perf_counter() - started:.0f} s so far]",
              flush=True)
        for problem in getattr(result, "problems", [])[:10]:
            print(f"    {problem}")

    faults = run_fault_campaign(args.faults, seed=args.seed)
    report("faults", faults, faults.completed == faults.injected == args.faults and faults.lost == 0)
    parts.append(faults.line())

    with tempfile.TemporaryDirectory(prefix="interviewer-crash-") as folder:
        kills = run_crash_campaign(args.kills, seed=args.seed, workdir=Path(folder))
    report("kills", kills, kills.ok and kills.resumed == kills.kills)
    parts.append(kills.line().split(";")[0])

    concurrency = run_concurrent_sessions(args.users)
    report("concurrency", concurrency, not concurrency.problems)
    parts.append(concurrency.line())

    injections = [run_injection_campaign(kind) for kind in ("offline", "llm")]
    raised = sum(len(r.raised) for r in injections)
    cases = sum(len(r.cases) for r in injections)
    for kind, result in zip(("offline", "llm"), injections):
        report(f"injections/{kind}", result, not result.raised and not result.fallbacks)
    parts.append(f"injections {raised}/{cases} raised a score")

    isolation = check_isolation()
    report("isolation", isolation, isolation.leaks == 0)
    parts.append(isolation.line().split(" (")[0])

    secrets = scan_for_secrets()
    report("secrets", secrets, secrets.found == 0)
    parts.append(secrets.line().split(" (")[0])

    print("\n" + "; ".join(parts))
    print(f"{'FAIL' if failed else 'PASS'} in {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
