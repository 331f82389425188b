"""The wheel carries the data: a non-editable install finds rubrics, notes, prompts, migrations."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [built] = out.glob("interviewer-*.whl")
    return built


def test_wheel_contains_data_and_maps_adapters_under_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "interviewer/bank/embeddings.yaml",
        "interviewer/material/rag.md",
        "interviewer/adapters/repl.py",
        "interviewer/prompts/__init__.py",
        "interviewer/data/offline_grader.json",
        "interviewer/migrations/versions/0001_initial.py",
        "interviewer/migrations/script.py.mako",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("adapters/", "rubrics/", "prompts/", "tests/")) for name in names)


def test_installed_wheel_finds_its_bank_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    probe = (
        "import interviewer.rubrics as r, interviewer.engines.offline as o; "
        "b = r.RubricBank.load(); "
        "print(r.packaged_rubrics_dir()); print(len(b.questions)); print(o.GraderParams.packaged().covered)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where, count, covered = result.stdout.split()
    assert where.startswith(str(target))
    assert int(count) >= 90
    assert float(covered) == pytest.approx(__import__("interviewer.engines.offline", fromlist=["x"]).GraderParams.packaged().covered)
