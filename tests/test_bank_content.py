"""The shipped knowledge base: coverage of the seed topics, citations, notes, originality."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from interviewer.rubrics import RubricBank, material_headings, packaged_material_dir

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
REQUIRED_TOPICS = {
    "transformers", "llm-training", "prompt-engineering", "embeddings", "rag", "learning-paradigms",
    "classic-algorithms", "bias-variance", "regularisation", "model-evaluation", "statistics",
    "statistical-inference", "deep-learning-basics", "network-families", "computer-vision",
    "diffusion-models", "nlp-preprocessing", "language-models", "small-language-models", "multimodal",
    "deployment-monitoring", "ai-fundamentals", "feature-engineering", "transfer-learning", "system-design",
}


def test_every_seed_topic_has_a_rubric_file_and_notes(bank: RubricBank) -> None:
    assert REQUIRED_TOPICS <= set(bank.files)
    notes = {p.stem for p in packaged_material_dir().glob("*.md")}
    assert set(bank.files) <= notes


def test_bank_size_and_spread(bank: RubricBank) -> None:
    questions = list(bank.questions.values())
    assert len(questions) >= 90
    assert sum(q.kind == "scenario" for q in questions) >= 10
    for topic, rubric in bank.files.items():
        assert len(rubric.questions) >= 4, topic
        assert len({q.difficulty for q in rubric.questions}) >= 2, topic
    assert {q.kind for q in bank.files["system-design"].questions} == {"scenario"}


def test_every_question_has_the_four_example_kinds(bank: RubricBank) -> None:
    for question in bank.questions.values():
        labels = {e.label for e in question.examples}
        assert {"strong", "partial", "weak", "fluent_wrong"} <= labels, question.id
        fluent = next(e for e in question.examples if e.label == "fluent_wrong")
        assert fluent.misconceptions, f"{question.id}: the fluent-but-wrong example names no misconception"
        for example in question.examples:
            assert set(example.verdicts) == {p.id for p in question.points}, (question.id, example.label)


def test_every_citation_resolves_to_a_heading(bank: RubricBank) -> None:
    headings = material_headings(packaged_material_dir())
    for question in bank.questions.values():
        for point in question.points:
            assert point.cite, (question.id, point.id)
            file_name, _, heading = point.cite.partition(" > ")
            assert heading in headings[file_name], (question.id, point.cite)


@pytest.mark.parametrize("path", sorted(packaged_material_dir().glob("*.md")), ids=lambda p: p.name)
def test_study_notes_are_300_to_1200_words_with_sections(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    count = len(text.split())  # as `wc -w` counts
    assert 300 <= count <= 1200, count
    assert text.startswith("# ")
    assert len(re.findall(r"^## ", text, flags=re.M)) >= 3


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents live in ../shared/seeds")
def test_no_sentence_copies_the_seeds() -> None:
    from harness.overlap import overlap_report

    report = overlap_report(SEEDS)
    print(f"\nlongest shared run {report.max_run} words, max similarity ratio {report.max_ratio:.2f}")
    assert report.checked > 1000
    assert report.max_run <= 8, report.worst[:3]
    assert report.max_ratio < 0.8, report.worst[:3]
