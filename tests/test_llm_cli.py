"""`interviewer practice --model openai/x` end to end: the real CLI in a subprocess, piped answers,
graded by the stub server on 127.0.0.1 through litellm."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from interviewer.storage.store import Store
from interviewer.testing import StubLLMServer, grading_rule
from cli_process import run_interviewer

pytestmark = pytest.mark.slow


def covers_after_a_follow_up(point_id: str, answer: str) -> str:
    return "covered" if "also" in answer or point_id == "retrieve-then-generate" else "missed"


def run_cli(*args: str, stdin: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_interviewer(*args, stdin=stdin, env=env, timeout=240)


def test_practice_with_a_model_against_an_openai_compatible_server(isolated_data_dir: Path) -> None:
    with StubLLMServer(rule=grading_rule(covers_after_a_follow_up)) as stub:
        env = {**os.environ, "INTERVIEWER_API_BASE": stub.url}
        env.pop("OPENAI_API_KEY", None)                                  # a local server needs no key
        answers = [
            "RAG retrieves documents from an index and puts them into the prompt.",
            # one sentence per point: a sentence is evidence only for the point it is about
            "It also grounds the answer in sources, so it hallucinates less and can cite them. "
            "It also gives the model private or recent documents from after its training cutoff, and you re-index them "
            "instead of retraining. Fine-tuning is also an option, but it is better for changing style or output format, "
            "so you can combine both.",
        ]
        result = run_cli("practice", "--model", "openai/stub-llm", "-q", "rag-what-and-why", "--follow-ups", "1",
                         stdin="\n\n".join(answers) + "\n", env=env)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "Traceback" not in out + result.stderr
        assert f"Engine: llm (openai/stub-llm at {stub.url}" in out
        assert "Thanks. What would you add about the part you skipped?" in out   # the model's follow-up
        assert "Score 10.0/10" in out
        assert "Stub coaching: revise the gaps." in out
        assert "Model usage: openai/stub-llm: 2 answers graded by the model" in out
        assert stub.calls == 3                                           # two answers, one coaching note
        assert {r["model"] for r in stub.requests} == {"stub-llm"}

    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    [summary] = store.list_sessions("tester")
    grades = list(store.assessments(summary.session.id).values())
    assert [g.engine for g in grades] == ["llm", "llm"]
    assert all(g.tokens_in == 120 and g.prompt_version == "assess-v1.persona-v1" for g in grades)
    shown = run_cli("transcripts", "show", summary.session.id[:8], stdin="", env={**os.environ, "COLUMNS": "240"})
    assert "graded by llm (openai/stub-llm) · prompt assess-v1.persona-v1 · 120 tokens in / 30 out" in shown.stdout


def test_a_model_that_needs_a_key_says_which_variable(isolated_data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY")}
    result = run_cli("practice", "--model", "openai/gpt-4o-mini", "-n", "1", stdin="", env=env)
    assert result.returncode == 1
    assert "model openai/gpt-4o-mini needs OPENAI_API_KEY" in result.stderr
    result = run_cli("practice", "--model", "nonsense", "-n", "1", stdin="", env=env)
    assert result.returncode == 1 and "unknown model 'nonsense'" in result.stderr


def test_practice_on_notes_with_a_model_asks_model_written_questions(isolated_data_dir: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "regularisation.md").write_text(
        "# Regularisation\n\n## Dropout\n\nDropout switches off a random subset of units at every training step. "
        "The network cannot rely on any single unit, so it learns redundant features. "
        "At inference time every unit is active and the outputs are scaled to match.\n",
        encoding="utf-8",
    )
    with StubLLMServer(rule=grading_rule("covered")) as stub:
        env = {**os.environ, "INTERVIEWER_API_BASE": stub.url}
        result = run_cli("practice", "--material", str(notes), "--model", "openai/stub-llm", "-n", "1", "--follow-ups", "0",
                         # the stub writes its rubric from the notes' sentences: the answer states all three
                         stdin="Dropout switches off a random subset of units at every training step. Because no single "
                               "unit can be relied on, the network learns redundant features. At inference time every unit "
                               "is active and the outputs are scaled to match.\n", env=env)
        assert result.returncode == 0, result.stderr
        assert "How would you explain the idea in this material to a colleague?" in result.stdout
        assert "generated from your notes" in result.stdout
        generate = stub.requests[0]["messages"]
        assert "Study material (regularisation.md > Dropout)" in generate[-1]["content"]
        assert "Dropout switches off a random subset of units" in generate[-1]["content"]
        assert "Score 10.0/10" in result.stdout


def test_a_broken_prompt_override_is_one_clear_error(isolated_data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "assess.yaml").write_text("id: assess\nversion: 2\ndescription: x\nmessages:\n  - role: boss\n    template: hi\n")
    env = {**os.environ, "INTERVIEWER_API_BASE": "http://127.0.0.1:9/v1", "INTERVIEWER_PROMPT_DIR": str(tmp_path)}
    result = run_cli("practice", "--model", "openai/stub-llm", "-n", "1", stdin="", env=env)
    assert result.returncode == 1
    assert "cannot use the prompts" in result.stderr and "assess.yaml:5: field messages.0.role" in result.stderr
    assert "Traceback" not in result.stderr
