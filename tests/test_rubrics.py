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
