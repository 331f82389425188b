"""Layering as contracts: import-linter checks the contracts in pyproject.toml on every run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "interviewer"


def lint_imports() -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")]), "COLUMNS": "400"}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_every_import_contract_is_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 5
    for contract in contracts:  # each one was really checked, and kept
        assert re.search(rf"^{re.escape(contract['name'])} KEPT", result.stdout, re.MULTILINE), contract["name"]


def test_the_contracts_catch_a_forbidden_import(tmp_path: Path) -> None:
    """A storage module that imports a channel or the interview breaks the build (the checker is not a no-op)."""
    probe = CORE / "storage" / "_layering_probe.py"
    probe.write_text("import interviewer_adapters.repl  # noqa: F401\nimport interviewer.interview.session  # noqa: F401\n", encoding="utf-8")
    try:
        result = lint_imports()
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "interviewer.storage._layering_probe -> interviewer_adapters.repl" in result.stdout  # a channel in the core
    assert "interviewer.storage._layering_probe -> interviewer.interview.session" in result.stdout  # a layer reaching up


def test_the_cli_imports_channels_only_inside_its_commands() -> None:
    """The one exception the contracts allow: the CLI starts a channel, lazily, never an SDK."""
    commands = sorted((CORE / "cli").glob("*.py"))
    assert len(commands) >= 5
    for module in commands:
        code = module.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(discord|slack_bolt|slack_sdk)\b", code, re.MULTILINE), module
        assert not re.search(r"^(import|from)\s+interviewer_adapters", code, re.MULTILINE), module  # only indented, lazy imports


def test_a_long_module_says_why_it_is_long() -> None:
    """Small modules with one job: over 500 lines, the docstring states the reason."""
    import ast

    long = []
    for folder in (CORE, ROOT / "adapters", ROOT / "bench"):
        for module in folder.rglob("*.py"):
            source = module.read_text(encoding="utf-8")
            if source.count("\n") > 500:
                doc = ast.get_docstring(ast.parse(source)) or ""
                if "although long" not in doc:
                    long.append(str(module.relative_to(ROOT)))
    assert long == []


def test_every_channel_module_stays_small() -> None:
    """The shared behaviour lives in interview/channel.py; a channel module only translates."""
    sizes = {path.name: path.read_text(encoding="utf-8").count("\n") for path in (ROOT / "adapters").glob("*.py")}
    assert len(sizes) >= 8
    assert {name: n for name, n in sizes.items() if n > 300} == {}
