"""The CLI as a user runs it: ``python -m interviewer ...`` in a child process, for tests that
drive it end to end (its real stdin, stdout, stderr and exit code)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_interviewer(
    *args: str, stdin: str = "", env: Mapping[str, str] | None = None, timeout: float = 300, columns: int | None = None,
) -> subprocess.CompletedProcess:
    """Run the CLI with ``args``; ``env`` defaults to this process's, ``columns`` sets the width."""
    environment = dict(os.environ if env is None else env)
    if columns is not None:
        environment["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "interviewer", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=environment)


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """A folder of the given text files (a candidate's notes), created under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root
