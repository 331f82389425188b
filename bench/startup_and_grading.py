"""Prints (a) launch -> first question on screen and (b) offline per-turn grading time.

(a) runs `python -m interviewer practice` RUNS times in a fresh data dir each and times the
moment "Question 1/" reaches stdout. (b) grades ANSWERS graded examples of the bank with the
offline engine in the state the interview leaves it (model loaded, the question's rubric
prepared while the candidate reads it) and times each call.
Targets: first question <= 1.5 s, grading p95 <= 150 ms.

Usage: python bench/startup_and_grading.py [--runs 20] [--answers 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_to_first_question(runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as data:
            env = {**os.environ, "INTERVIEWER_DATA_DIR": data, "INTERVIEWER_CONFIG": os.path.join(data, "none.toml")}
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "interviewer", "practice", "-n", "3"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                if "Question 1/" in line:
                    timings.append(time.perf_counter() - started)
                    break
            proc.kill()
            proc.wait()
    return timings


def grading_times(answers: int) -> list[float]:
    from interviewer.grading.offline.engine import OfflineEngine
    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    engine = OfflineEngine()
    engine.embedder.wait()
    pairs = [(q, e.answer) for q in sorted(bank.questions.values(), key=lambda q: q.id) for e in q.examples]
    step = max(1, len(pairs) // answers)
    chosen = pairs[::step][:answers]
    timings = []
    for question, answer in chosen:
        texts = [t for p in question.points for t in (p.text, *p.aliases)] + [m.claim for m in question.misconceptions]
        engine.embedder.encode_cached(texts)  # what prepare() does while the candidate reads the question
        started = time.perf_counter()
        engine.assess_sync(question, answer)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--answers", type=int, default=60)
    args = parser.parse_args()
    startup = time_to_first_question(args.runs)
    print(f"launch -> first question ({len(startup)} runs): median {statistics.median(startup):.2f} s, "
          f"p95 {percentile(startup, 95):.2f} s  (target <= 1.5 s)")
    grading = grading_times(args.answers)
    print(f"offline grading per turn ({len(grading)} answers): median {statistics.median(grading):.0f} ms, "
          f"p95 {percentile(grading, 95):.0f} ms  (target p95 <= 150 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
