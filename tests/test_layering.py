"""Principle 1: the core never imports an adapter or a platform SDK; adapters import the core."""

from __future__ import annotations

import re
from pathlib import Path

CORE = Path(__file__).parents[1] / "interviewer"
PLATFORM = re.compile(r"^\s*(import|from)\s+(discord|slack_bolt|slack_sdk|interviewer\.adapters)\b", re.MULTILINE)


def test_the_core_imports_no_platform_sdk_and_no_adapter() -> None:
    offenders = {
        str(path.relative_to(CORE)): match.group(0).strip()
        for path in CORE.rglob("*.py")
        for match in [PLATFORM.search(path.read_text(encoding="utf-8"))]
        if match and path.name != "cli.py"
    }
    assert offenders == {}
    # The CLI may start an adapter, lazily inside a command, but never imports an SDK itself.
    cli = (CORE / "cli.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from)\s+(discord|slack_bolt|slack_sdk)\b", cli, re.MULTILINE)
    assert not re.search(r"^(import|from)\s+interviewer\.adapters", cli, re.MULTILINE)   # only indented, lazy imports
