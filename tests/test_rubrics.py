"""The rubric loader: valid files load, broken ones fail with file, line, question id and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.rubrics import RubricBank, RubricError, completeness_problems, load_rubric_file

FIXTURES = Path(__file__).parent / "fixtures"


def test_tiny_fixture_loads_with_topic_filled_in() -> None:
    rubric = load_rubric_file(FIXTURES / "tiny.yaml")
    assert [q.id for q in rubric.questions] == ["tiny-one", "tiny-two", "tiny-three", "tiny-four"]
    assert {q.topic for q in rubric.questions} == {"tiny"}


def test_unknown_key_names_file_line_question_and_field() -> None:
    with pytest.raises(RubricError) as info:
        load_rubric_file(FIXTURES / "unknown_key.yaml")
    message = str(info.value)
    assert "unknown_key.yaml:11" in message
    assert "question 'broken-one'" in message
    assert "unknown key 'weigth'" in message
    assert "questions.0.points.0.weigth" in message


def test_missing_field_names_question_and_field() -> None:
    with pytest.raises(RubricError) as info:
        load_rubric_file(FIXTURES / "missing_field.yaml")
    message = str(info.value)
    assert "missing_field.yaml:" in message
    assert "question 'broken-two'" in message
    assert "missing required field 'follow_up'" in message


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntopic: x\nquestions:\n  - id: a\n    text: one: two: three\n")
    with pytest.raises(RubricError, match=r"bad.yaml:5: invalid YAML"):
        load_rubric_file(bad)


def test_non_mapping_file_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "list.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(RubricError, match="must be a mapping"):
        load_rubric_file(bad)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("topic: x\nquestions: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested 50000 levels deep in brackets"),
        ("topic: x\nquestions: " + "{a: " * 1_000 + "1" + "}" * 1_000 + "\n", "nested 1000 levels deep in brackets"),
        ("topic: x\nquestions:\n" + "- " * 5_000 + "x\n", "line 3 is indented or list-nested more than 40 levels"),
    ],
)
def test_a_file_nested_absurdly_deep_is_refused_before_parsing(tmp_path: Path, text: str, why: str) -> None:
    """Parsing recurses per level: 50,000 levels crashed the process, 1,000 raised RecursionError."""
    deep = tmp_path / "deep.yaml"
    deep.write_text(text)
    with pytest.raises(RubricError) as info:
        load_rubric_file(deep)
    assert str(info.value).startswith(f"{deep}: not a rubric file: ")
    assert why in str(info.value)


def test_a_huge_file_is_refused_by_its_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    huge.write_text("topic: x\nquestions: []\n# " + "x" * 6_000_000 + "\n")
    with pytest.raises(RubricError, match=r"huge.yaml: a rubric file of 6,000,0\d\d bytes is too large"):
        load_rubric_file(huge)


def test_rubrics_list_with_a_hostile_file_prints_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "deep.yaml").write_text("topic: x\nquestions: " + "[" * 50_000 + "\n")
    result = subprocess.run([sys.executable, "-m", "interviewer", "rubrics", "check", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert result.returncode == 1  # not 139 (a segfault) and not 70 (an internal error)
    assert "not a rubric file: nested 50000 levels deep" in " ".join(result.stderr.split()) + " ".join(result.stdout.split())
    assert "Traceback" not in result.stderr


def test_duplicate_question_ids_across_files_are_rejected(tmp_path: Path) -> None:
    text = (FIXTURES / "tiny.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text.replace("topic: tiny", "topic: tiny2"))
    with pytest.raises(RubricError, match="question id 'tiny-one' is also used"):
        RubricBank.load([tmp_path])


def test_example_verdicts_must_name_real_points(tmp_path: Path) -> None:
    text = (FIXTURES / "tiny.yaml").read_text().replace(
        "    model_answer: Kappa measures agreement beyond chance.\n",
        "    model_answer: Kappa measures agreement beyond chance.\n    examples:\n"
        "      - {label: strong, answer: x, score: 9, verdicts: {nope: covered}, rationale: r}\n",
    )
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(RubricError, match="unknown points"):
        load_rubric_file(path)


def test_resolve_topic_accepts_slug_title_and_prefix(bank: RubricBank) -> None:
    assert bank.resolve_topic("embeddings") == "embeddings"
    assert bank.resolve_topic("Embeddings") == "embeddings"
    assert bank.resolve_topic("embed") == "embeddings"
    with pytest.raises(RubricError, match="unknown topic 'quantum-knitting'. Known topics:"):
        bank.resolve_topic("quantum-knitting")


def test_a_mistyped_or_ambiguous_topic_gets_a_suggestion_and_nothing_else_is_printed(isolated_data_dir) -> None:
    """`practice -t transformrs` printed the engine line, then the whole list with no "did you mean"."""
    import os
    import subprocess
    import sys

    bank = RubricBank.load()
    with pytest.raises(RubricError, match=r"unknown topic 'transformrs': did you mean 'transformers'\?"):
        bank.resolve_topic("transformrs")
    with pytest.raises(RubricError, match=r"topic 'stat' could be any of statistical-inference, statistics: type more"):
        bank.resolve_topic("stat")
    run = subprocess.run([sys.executable, "-m", "interviewer", "practice", "-t", "transformrs"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("error: unknown topic 'transformrs': did you mean 'transformers'?")


def test_completeness_flags_missing_examples_and_citations() -> None:
    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    problems = completeness_problems(bank, material_dir=FIXTURES)
    assert any("tiny-four" in p and "has 1 points" in p for p in problems)
    assert any("tiny-one" in p and "needs strong/partial/weak/fluent_wrong examples" in p for p in problems)
    assert any("tiny-one" in p and "no misconceptions" in p for p in problems)
    assert any("tiny-one" in p and "has no cite" in p for p in problems)
    assert not any("tiny-three" in p for p in problems)      # reference-answer questions need no more


def test_packaged_bank_is_complete(bank: RubricBank) -> None:
    from interviewer.rubrics import packaged_material_dir

    assert completeness_problems(bank, packaged_material_dir()) == []
    assert len(bank.questions) >= 12
    assert len(bank.files) >= 4


def _tiny_with_contrasts(tmp_path: Path, contrasts: str) -> Path:
    """The tiny fixture with a ``contrasts`` line added to 'tiny-one' ("What is alpha?")."""
    text = (FIXTURES / "tiny.yaml").read_text().replace(
        "    text: What is alpha?\n", f"    text: What is alpha?\n    contrasts: {contrasts}\n", 1
    )
    path = tmp_path / "tiny_cx.yaml"
    path.write_text(text)
    return path


def test_contrasts_entry_that_occurs_nowhere_is_reported(tmp_path: Path) -> None:
    path = _tiny_with_contrasts(tmp_path, '["alpha", "omega|psi"]')
    problems = [p for p in completeness_problems(RubricBank.load([path])) if "contrasts" in p]
    assert problems == [
        "tiny_cx.yaml: question 'tiny-one': contrasts entry 2 'omega|psi' occurs in none of the question,"
        " points or model answer"
    ]


def test_contrasts_entries_that_share_or_contain_an_alternative_are_reported(tmp_path: Path) -> None:
    path = _tiny_with_contrasts(tmp_path, '["alpha|beta", "beta|gamma", "gamma relates|epsilon"]')
    problems = [p for p in completeness_problems(RubricBank.load([path])) if "contrasts" in p]
    assert any("entries 1 'alpha|beta' and 2 'beta|gamma' share the alternative 'beta'" in p for p in problems)
    assert any("entries 2 'beta|gamma' and 3 'gamma relates|epsilon' overlap: 'gamma' matches inside 'gamma relates'" in p
               for p in problems)
    assert all("question 'tiny-one'" in p for p in problems)


def test_contrasts_that_no_point_mentions_bind_nothing(tmp_path: Path) -> None:
    # "what" occurs only in the question and "beyond chance" only in tiny-four's model answer:
    # both occur somewhere, but no point text names either, so the contrast binds no point.
    text = (FIXTURES / "tiny.yaml").read_text().replace(
        "    text: What is kappa?\n", '    text: What is kappa?\n    contrasts: ["what", "beyond chance"]\n', 1
    )
    path = tmp_path / "unbound.yaml"
    path.write_text(text)
    problems = [p for p in completeness_problems(RubricBank.load([path])) if "contrasts" in p]
    assert problems == [
        "unbound.yaml: question 'tiny-four': no point text mentions any contrasts entry, so the contrasts bind nothing"
    ]


def test_rubrics_check_prints_a_contrasts_problem_with_file_and_question(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from interviewer.cli.main import app

    path = _tiny_with_contrasts(tmp_path, '["alpha", "omega|psi"]')
    result = CliRunner().invoke(app, ["rubrics", "check", str(path)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())      # the console wraps long lines
    assert "problem: tiny_cx.yaml: question 'tiny-one': contrasts entry 2 'omega|psi' occurs in none" in output


def test_packaged_bank_contrasts_are_valid(bank: RubricBank) -> None:
    from interviewer.rubrics import contrast_problems

    with_contrasts = [q for q in bank.questions.values() if q.contrasts]
    assert [(q.id, contrast_problems(q)) for q in with_contrasts if contrast_problems(q)] == []
    assert len(with_contrasts) >= 35
    assert bank.get("emb-static-vs-contextual").contrasts[0].startswith("static")


DOCS = Path(__file__).parents[1] / "docs"


def test_rubrics_check_shows_every_problem_of_every_file_in_one_run(tmp_path: Path) -> None:
    """It showed the first error and "(and 6 more)"; fixing a file took one run per mistake."""
    from typer.testing import CliRunner

    from interviewer.cli import main as cli

    (tmp_path / "a.yaml").write_text(
        "version: 1\ntopic: mine\ntitle: Mine\nquestions:\n  - id: q1\n    text: What?\n    difficulty: 7\n"
        "    points:\n      - {id: p1, text: A point, weight: -1}\n  - text: no id\n"
    )
    (tmp_path / "b.yaml").write_text("topic: other\nquestions: []\n")
    result = CliRunner().invoke(cli.app, ["rubrics", "check", str(tmp_path)], env={"COLUMNS": "300"})
    problems = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert f"problem: {tmp_path / 'a.yaml'}:7: question 'q1' field questions.0.difficulty:" in result.stderr
    assert f"{tmp_path / 'a.yaml'}:9: question 'q1' field questions.0.points.0.weight:" in result.stderr
    assert f"{tmp_path / 'a.yaml'}:10: field questions.1.id: missing required field 'id'" in result.stderr
    assert f"{tmp_path / 'b.yaml'}:1: field version: missing required field 'version'" in result.stderr
    assert len(problems) >= 8 and "(and " not in result.stderr
    assert result.exit_code != 0


def test_the_documented_format_is_the_loaders_and_its_example_is_valid(tmp_path: Path) -> None:
    import json
    import re

    from interviewer.domain import RubricFile

    schema = RubricFile.model_json_schema()
    assert json.loads((DOCS / "rubric.schema.json").read_text()) == json.loads(json.dumps(schema, sort_keys=True)), \
        "docs/rubric.schema.json is stale: regenerate it from RubricFile.model_json_schema()"
    doc = (DOCS / "rubric-format.md").read_text()
    required = set(schema["required"]) | {f for d in schema["$defs"].values() for f in d.get("required", [])}
    assert [field for field in sorted(required) if f"`{field}`" not in doc] == []
    [example] = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    (tmp_path / "example.yaml").write_text(example)
    bank = RubricBank.load([tmp_path / "example.yaml"])
    assert list(bank.topics) == ["my-rag"] and len(bank.questions) == 1
