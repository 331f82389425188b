"""The test and benchmark harness: drivers that `tests/` and `bench/` share, never installed.

Reliability campaigns, the grading benchmark and its statistics, the retrieval and seed-overlap
measures, a Slack Web API stub and recorded demo histories. None of it ships in the wheel: the
product's own test doubles (a scripted engine, a stub LLM server) are in ``interviewer.testing``.
``bench/`` scripts find this package beside them; pytest adds ``bench/`` to its path.
"""

from __future__ import annotations

import os
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]


def with_harness_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a child process that imports ``harness`` (``python -m harness...``)."""
    parts = [str(BENCH_DIR), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(parts))}
