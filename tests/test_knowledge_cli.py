"""The knowledge commands end to end: ingest, search, practice --material."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pdf_fixture import make_pdf
from cli_process import run_interviewer

pytestmark = pytest.mark.slow


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return run_interviewer(*args, stdin=stdin)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli_in_a_terminal(*args: str) -> str:
    """What a user's terminal receives (stdout and stderr on one pseudo-terminal), escape codes removed."""
    import pty
    import select

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm-256color"}
    process = subprocess.Popen([sys.executable, "-m", "interviewer", *args], stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    received = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 1)
        try:
            data = os.read(leader, 65536) if ready else b""
        except OSError:  # the process closed the terminal
            break
        if ready and not data:
            break
        received += data
        if not ready and process.poll() is not None:
            break
    process.wait(timeout=300)
    os.close(leader)
    return ANSI.sub("", received.decode(errors="replace"))


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


def test_ingest_shows_a_progress_bar_on_a_terminal_and_lines_elsewhere(notes: Path, tmp_path: Path) -> None:
    """Issue 28: a bar of chunks written of all, with the rate and the time left; in a pipe or a
    log, no animation, one start line on stderr (and the summary on stdout)."""
    screen = cli_in_a_terminal("ingest", str(notes), "-c", "mine")
    total = re.search(r"; (\d+) chunks in", screen)
    assert total, screen
    assert re.search(rf"Indexing .*━.* {total[1]}/{total[1]} chunks [\d.]+ chunks/s \d+:\d\d:\d\d", screen), screen
    assert "Traceback" not in screen
    piped = cli("ingest", str(notes), "-c", "theirs")
    assert piped.returncode == 0, piped.stderr
    assert f"Indexing: {total[1]} chunks..." in piped.stderr
    assert not re.search("\x1b|\r|━", piped.stderr + piped.stdout)


def test_first_search_indexes_the_notes_with_a_progress_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes are indexed on the first search: a bar with chunk counts, not 'about 15 s'."""
    from io import StringIO

    from rich.console import Console
    from typer.testing import CliRunner

    import interviewer.cli.knowledge as knowledge_cli
    import interviewer.rubrics
    from interviewer.cli.main import app

    packaged = tmp_path / "packaged"
    packaged.mkdir()
    for name in ("adam", "momentum", "dropout"):
        (packaged / f"{name}.md").write_text(f"# {name}\n\n## What {name} does\n\n{name.title()} changes how a network trains. "
                                             f"Practitioners tune {name} with care.\n\n## When to use {name}\n\nUse {name} when training is slow.\n")
    monkeypatch.setattr(interviewer.rubrics, "packaged_material_dir", lambda: packaged)
    terminal = StringIO()
    monkeypatch.setattr(knowledge_cli, "err_console", Console(file=terminal, force_terminal=True, width=100))
    first = CliRunner().invoke(app, ["search", "momentum"])
    assert first.exit_code == 0, first.output
    shown = ANSI.sub("", terminal.getvalue())
    assert re.search(r"Indexing the study notes .*━.* 6/6 chunks", shown), shown
    assert "Indexed the study notes: 6 chunks" in shown and "about 15 s" not in first.output + shown
    terminal.seek(0)
    terminal.truncate()
    again = CliRunner().invoke(app, ["search", "momentum"])
    assert again.exit_code == 0 and "momentum.md" in again.output
    assert terminal.getvalue() == ""                                  # indexed already: nothing to show


def test_search_shows_nothing_below_the_relevance_floor(tmp_path: Path) -> None:
    """Issue 28: 'reciprocal rank fusion' over notes without such a section listed LoRA (it has
    'rank') and the rest, all at ~0.015; now it says nothing there is relevant."""
    folder = tmp_path / "llm-notes"
    folder.mkdir()
    (folder / "llm.md").write_text(
        "# Fine-tuning\n\n## LoRA\n\nLoRA (low-rank adaptation) freezes the pre-trained weight matrix and learns a low-rank "
        "update added to it. Only two small matrices are trained, so optimiser memory drops sharply.\n\n"
        "## Quantisation\n\nPost-training quantisation stores weights as int8 or int4 instead of float16. "
        "It shrinks memory and speeds up inference at a small cost in accuracy.\n",
        encoding="utf-8",
    )
    assert cli("ingest", str(folder), "-c", "llm").returncode == 0
    off = cli("search", "reciprocal rank fusion", "-c", "llm")
    assert off.returncode == 0, off.stderr
    assert re.search(r"No passage in 'llm' is relevant to 'reciprocal rank fusion' \(best cosine 0\.\d\d\)", off.stdout), off.stdout
    assert "LoRA" not in off.stdout and "score" not in off.stdout
    everything = cli("search", "reciprocal rank fusion", "-c", "llm", "--all")
    assert "llm.md > LoRA" in everything.stdout                       # --all still shows the closest
    on = cli("search", "training small low-rank matrices on a frozen model", "-c", "llm")
    assert "llm.md > LoRA" in on.stdout and "Quantisation" not in on.stdout and "the relevance floor" in on.stdout


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
    off_topic = cli("search", "banana bread recipe")
    assert "No passage in 'material' is relevant to 'banana bread recipe' (best cosine" in off_topic.stdout
