"""Prints the throughput of 1 and of 3 Slack replicas sharing PostgreSQL and a Chroma server.

Each run starts N real `interviewer serve slack --http` processes on 127.0.0.1 over a fresh
PostgreSQL database (the server at INTERVIEWER_TEST_POSTGRES_URL, by default the local one) and
one `chroma run` server, with the packaged study material indexed on it once. The model gateway
is a stub with a fixed latency per grading request; every replica may have --max-parallel
requests in flight at once (INTERVIEWER_LLM_MAX_PARALLEL), as each replica would have its share
of a gateway's parallel limit (a litellm proxy key's max_parallel_requests, a vLLM batch). The
candidates (--sessions of them, all at once, --answers answers each, some answers delivered to
two replicas at once) are spread over the replicas per request, round-robin as most load
balancers do (--balance random: at random, which loads some replicas more than others). See
interviewer/reliability/replicas.py for the driver and the checks.

Throughput is answers graded per second over the timed phase (first slash command to last
summary posted, after one warm-up interview per replica). With the gateway as the bottleneck,
one replica serves at most max-parallel / latency answers per second and N replicas N times
that, as long as the machine's CPU keeps up: the CPU each replica used is printed, so a run
that became CPU-bound shows it. On this 2-core machine the default load stays below that bound
(3 replicas use about a third of the machine); with more cores, raise --max-parallel. Without a
cap (--max-parallel 0) a replica takes all the load it is given, and the fleet is bound by the
machine's CPU instead: on one machine, more replicas cannot then add throughput.

PASS when every run stored and graded every turn exactly once, in order, and the 3-replica
throughput is at least --target (2.5) times the 1-replica one.

Usage: python bench/replicas.py [--replicas 1,3] [--sessions 60] [--answers 2] [--latency 2.0]
           [--max-parallel 2] [--duplicates 0.1] [--seed 1] [--balance round-robin] [--target 2.5]
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse  # noqa: E402 - the environment above must be set before any import
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="1,3", help="replica counts to run, comma-separated (default 1,3)")
    parser.add_argument("--sessions", type=int, default=60, help="candidates interviewing at once (default 60)")
    parser.add_argument("--answers", type=int, default=2, help="answers per interview (default 2)")
    parser.add_argument("--latency", type=float, default=2.0, help="the stub model's seconds per grading request (default 2.0)")
    parser.add_argument("--max-parallel", type=int, default=2, help="model requests in flight per replica (default 2; 0: no cap)")
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of answers delivered to two replicas at once")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--balance", choices=["round-robin", "random"], default="round-robin",
                        help="how the load balancer spreads requests (default round-robin)")
    parser.add_argument("--target", type=float, default=2.5, help="the 3-vs-1 ratio to reach (default 2.5)")
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    if not counts or min(counts) < 1 or args.sessions < 1 or args.answers < 1 or not 0 <= args.duplicates <= 1:
        parser.error("--replicas n,m >= 1, --sessions >= 1, --answers >= 1, 0 <= --duplicates <= 1")
    logging.basicConfig(level=logging.WARNING)

    from harness.reliability.replicas import FleetSpec, replica_logs, run_fleet
    from harness.reliability.services import ServiceUnavailable, chroma_server, fresh_postgres_database
    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    cap = f"{args.max_parallel} model requests in flight per replica" if args.max_parallel else "no cap on model requests"
    print(f"{args.sessions} Slack candidates at once x {args.answers} answers, stub model {args.latency:g} s per grading "
          f"request, {cap}, {args.duplicates:.0%} of answers delivered to two replicas at once, {args.balance} "
          f"balancing; {os.cpu_count()} cpus:")
    started = time.perf_counter()
    results = {}
    ok = True
    try:
        with tempfile.TemporaryDirectory() as tmp, chroma_server(Path(tmp) / "chroma") as server:
            for n in counts:
                spec = FleetSpec(replicas=n, sessions=args.sessions, answers=args.answers, latency=args.latency,
                                 duplicates=args.duplicates, max_parallel=args.max_parallel, seed=args.seed,
                                 balance=args.balance)
                root = Path(tmp) / f"fleet-{n}"
                with fresh_postgres_database(prefix="interviewer_bench") as url:
                    report = run_fleet(spec, database_url=url, chroma_url=server.url, root=root, bank=bank)
                results[n] = report
                ok &= report.clean
                cpu = report.cpu
                replicas_cpu = sum(v for k, v in cpu.items() if k not in ("driver", "machine"))
                bound = (f"gateway bound {n * args.max_parallel / args.latency:.2f} answers/s" if args.max_parallel
                         else "no gateway bound")
                print(f"  {n} replica{'s' if n != 1 else ''}: {report.turns_per_second:.2f} answers/s "
                      f"({report.graded} answers in {report.seconds:.1f} s; {bound}); "
                      f"CPU in the run: replicas {replicas_cpu:.1f} s ({replicas_cpu / max(1, report.graded):.2f} s per answer), "
                      f"machine {cpu.get('machine', 0):.1f} s of {report.seconds * (os.cpu_count() or 1):.0f} s; "
                      f"startup {report.startup_seconds:.0f} s")
                print(f"    {report.line()}")
                for problem in report.problems[:5]:
                    print(f"    problem: {problem}")
                if not report.clean:
                    print(replica_logs(root))
    except ServiceUnavailable as exc:
        print(f"cannot run: {exc}")
        return 1
    if 1 in results and 3 in results and results[1].turns_per_second:
        ratio = results[3].turns_per_second / results[1].turns_per_second
        verdict = "PASS" if ok and ratio >= args.target else "FAIL"
        print(f"3 vs 1 replicas: {results[3].turns_per_second:.2f} / {results[1].turns_per_second:.2f} answers/s = "
              f"{ratio:.2f}x (target >= {args.target:g}x), every turn exactly once: {'yes' if ok else 'NO'}: {verdict} "
              f"in {time.perf_counter() - started:.0f} s")
        return 0 if verdict == "PASS" else 1
    print(f"{'every turn exactly once' if ok else 'TURNS WENT WRONG'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
