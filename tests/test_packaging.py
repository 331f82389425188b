"""The wheel carries the data and only the product: a non-editable install finds rubrics, notes,
prompts and migrations; the harness (bench/harness) and unittest.mock never ship."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a clean copy: setuptools reuses build/ in the checkout, which can hide a
    # package missing from pyproject.toml.
    source = tmp_path_factory.mktemp("src") / "interviewer"
    shutil.copytree(
        ROOT, source,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    [built] = out.glob("interviewer-*.whl")
    return built


def test_wheel_contains_data_and_the_adapters_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "interviewer/bank/embeddings.yaml",
        "interviewer/material/rag.md",
        "interviewer_adapters/repl.py",
        "interviewer_adapters/slack_manifest.yaml",
        "interviewer/prompts/assess.yaml",
        "interviewer/prompts/__init__.py",
        "interviewer/data/offline_grader.json",
        "interviewer/data/reference_model.json",
        "interviewer/data/contradiction-lora.npz",
        "interviewer/data/transcripts-v1.json",
        "interviewer/templates/report.html.j2",
        "interviewer/storage/migrations/versions/0001_initial.py",
        "interviewer/storage/migrations/script.py.mako",
    ):
        assert expected in names, expected
    assert not any(name.startswith(("adapters/", "rubrics/", "prompts/", "tests/")) for name in names)
    for module in (ROOT / "interviewer").rglob("*.py"):
        assert f"interviewer/{module.relative_to(ROOT / 'interviewer').as_posix()}" in names, module
    for module in (ROOT / "adapters").glob("*.py"):
        assert f"interviewer_adapters/{module.name}" in names, module


HARNESS_NAMES = ("reliability", "grading_bench", "grading_eval", "agreement_stats", "overlap", "retrieval_eval",
                 "slack_stub", "demo", "harness", "cli_bench")


def test_wheel_ships_no_harness_and_no_unittest_mock(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    modules = [name for name in archive.namelist() if name.endswith(".py")]
    assert modules, "the wheel holds no module"
    shipped = {part.removesuffix(".py") for name in modules for part in name.split("/")}
    assert shipped.isdisjoint(HARNESS_NAMES), sorted(shipped & set(HARNESS_NAMES))
    assert not any(name.startswith(("bench/", "harness/")) for name in archive.namelist())
    mocking = [name for name in modules if re.search(r"^\s*(import|from)\s+unittest\.mock\b|^\s*from\s+unittest\s+import\s+mock\b",
                                                      archive.read(name).decode("utf-8"), re.MULTILINE)]
    assert mocking == []
    # what the harness is made of really lives in bench/harness, so the list above is not stale
    for name in ("reliability", "grading_bench", "slack_stub", "demo"):
        assert any((ROOT / "bench" / "harness").glob(f"{name}*")), name


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> Path:
    """The wheel installed into a folder of its own (no dependencies: those are in this venv)."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    return target


# Drop the editable install's finder so every import must come from the wheel or the checkout.
NO_EDITABLE = "import sys; sys.meta_path = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "


def test_tests_run_from_the_checkout_against_a_plain_install(installed: Path) -> None:
    """`pip install .` then pytest from the checkout: the checkout's interviewer package shadows
    the installed one, and still finds its adapters, bank and prompts."""
    probe = (
        NO_EDITABLE + "import interviewer, interviewer.rubrics as r, interviewer.grading.llm.templates as p, interviewer_adapters.slack as s; "
        "print(interviewer.__file__); print(r.packaged_rubrics_dir()); print(p.packaged_prompts_dir()); print(s.__file__); "
        "print(len(r.RubricBank.load().questions))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(installed)])}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    package, bank, prompts, adapter, count = result.stdout.split()
    assert package.startswith(str(ROOT / "interviewer"))
    assert bank == str(ROOT / "rubrics") and prompts == str(ROOT / "prompts")
    assert adapter.startswith(str(installed))
    assert int(count) >= 90


def test_installed_wheel_finds_its_bank_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    probe = (
        NO_EDITABLE + "import interviewer.rubrics as r, interviewer.grading.offline.engine as o; "
        "assert o.__file__.startswith(sys.path[1]) or o.__file__.startswith(sys.path[0]), o.__file__; "
        "b = r.RubricBank.load(); "
        "print(r.packaged_rubrics_dir()); print(len(b.questions)); print(o.GraderParams.packaged().covered)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where, count, covered = result.stdout.split()
    assert where.startswith(str(installed))
    assert int(count) >= 90
    assert float(covered) == pytest.approx(__import__("interviewer.grading.offline.engine", fromlist=["x"]).GraderParams.packaged().covered)
