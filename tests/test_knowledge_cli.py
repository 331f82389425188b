"""The knowledge commands end to end: ingest, search, practice --material."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pdf_fixture import make_pdf

pytestmark = pytest.mark.slow


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "interviewer", *args], input=stdin, capture_output=True, text=True,
        timeout=300, env=os.environ.copy(),
    )


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    root = tmp_path / "my-notes"
    root.mkdir()
    (root / "regularisation.md").write_text(
        "# Regularisation\n\n## Dropout\n\nDropout switches off a random subset of units at every training step. "
        "The network cannot rely on any single unit, so it learns redundant features. "
        "At inference time every unit is active and the outputs are scaled to match.\n\n"
        "## Weight decay\n\nWeight decay adds the squared norm of the weights to the loss. "
        "Large weights are penalised, which keeps the function smooth. "
        "It is the same as an L2 penalty for plain gradient descent.\n",
        encoding="utf-8",
    )
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (root / "slides.pdf").write_bytes(make_pdf(["Early stopping halts training when validation loss stops improving."]))
    return root


def test_ingest_then_search_with_citations(notes: Path) -> None:
    result = cli("ingest", str(notes), "-c", "mine")
    assert result.returncode == 0, result.stderr
    assert "2 added" in result.stdout and "chunks/s" in result.stdout
    assert "broken.pdf" in result.stderr and "unreadable PDF" in result.stderr
    again = cli("ingest", str(notes), "-c", "mine")
    assert "2 unchanged" in again.stdout and "0 chunks" in again.stdout and "chunks/s" not in again.stdout
    found = cli("search", "randomly disabling neurons", "-c", "mine", "-k", "1")
    assert found.returncode == 0, found.stderr
    assert "regularisation.md > Dropout" in found.stdout and "fused rank score" in found.stdout
    lexical = cli("search", "dropout units", "-c", "mine", "-k", "1", "--mode", "bm25")
    assert "BM25 " in lexical.stdout and "fused" not in lexical.stdout     # each mode names its own score


def test_ingest_of_a_missing_path_and_an_empty_collection(tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nowhere"), "-c", "mine")
    assert "no such file or folder" in result.stderr
    assert result.returncode == 1 and "nothing was ingested from" in result.stderr  # a script sees the failure
    only_broken = tmp_path / "only-broken"
    only_broken.mkdir()
    (only_broken / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    skipped = cli("ingest", str(only_broken), "-c", "mine")
    assert skipped.returncode == 1 and "every file was skipped" in skipped.stderr and "Traceback" not in skipped.stderr
    empty = cli("search", "anything", "-c", "never-filled")
    assert empty.returncode == 1 and "is empty" in empty.stderr
    bad = cli("search", "anything", "-c", "../x")
    assert bad.returncode == 1 and "invalid collection name" in bad.stderr and "Traceback" not in bad.stderr


def test_practice_on_own_notes_marks_generated_questions(notes: Path) -> None:
    answer = (
        "Dropout randomly switches off units during training so the network cannot depend on one unit. "
        "It learns redundant features, and at inference all units are used with scaled outputs."
    )
    result = cli("practice", "--material", str(notes), "--follow-ups", "0", "-n", "1", stdin=answer + "\n\nend\n")
    assert result.returncode == 0, result.stderr
    assert "generated from your notes" in result.stdout
    assert re.search(r"2 questions from \d+ sections in 2 files of your notes; asking 1 of them", result.stdout)
    assert "Score" in result.stdout and "Interview summary" in result.stdout


def test_practice_on_notes_without_usable_sections(tmp_path: Path) -> None:
    (tmp_path / "short.md").write_text("# Title\n\nToo short.\n")
    result = cli("practice", "--material", str(tmp_path / "short.md"))
    assert result.returncode == 1
    assert "has enough text to build a question" in result.stderr


def test_search_the_packaged_material(material_index, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(material_index[0]))
    result = cli("search", "reciprocal rank fusion", "-k", "3")
    assert result.returncode == 0, result.stderr
    assert "rag.md > Hybrid search and fusion" in result.stdout
