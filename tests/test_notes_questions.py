"""Questions from the candidate's own notes: one per section with enough text, the count announced
is the count asked, the sections left out are named, and follow-ups read like an interviewer's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cli_process import run_interviewer, write_files

pytestmark = pytest.mark.slow

# 4 files, 9 sections of 1 to 6 sentences; one section is a bullet list without full stops and
# one holds a code block, as real notes do.
NOTES = {
    "attention.md": (
        "# Attention\n\n## Scaled dot-product attention\n\n"
        "Attention compares each query vector with every key vector to produce weights. "
        "The scores are divided by the square root of the key dimension so the softmax does not saturate. "
        "The weights are then used to average the value vectors. "
        "This lets every token gather information from any other token in one step.\n\n"
        "## Multi-head attention\n\n"
        "- Several attention heads run in parallel on smaller projections of the input\n"
        "- Each head can specialise in a different relation between tokens, such as coreference\n"
        "- Their outputs are concatenated and projected back to the model width\n\n"
        "## Masking\n\nA causal mask stops a decoder token from attending to later positions.\n"
    ),
    "trees.md": (
        "# Trees\n\n## Gradient boosting\n\n"
        "Gradient boosting builds an ensemble of shallow trees one after another. "
        "Each new tree is fitted to the negative gradient of the loss with respect to the current predictions. "
        "A small learning rate shrinks every tree's contribution, which reduces overfitting. "
        "Early stopping on a validation set picks the number of trees. "
        "XGBoost and LightGBM add regularisation and fast histogram splits. "
        "Boosting mostly reduces bias, while bagging mostly reduces variance.\n\n"
        "```python\nmodel = XGBClassifier(n_estimators=500, learning_rate=0.05, max_depth=4)\n```\n\n"
        "## Random forests\n\n"
        "A random forest averages many deep trees trained on bootstrap samples. "
        "Each split considers only a random subset of the features, which decorrelates the trees.\n"
    ),
    "retrieval.md": (
        "# Retrieval\n\n## Hybrid search\n\n"
        "Hybrid search runs a keyword retriever such as BM25 next to a dense vector retriever. "
        "The two ranked lists are merged, often with reciprocal rank fusion. "
        "Keyword search finds exact names and rare terms that embeddings blur. "
        "Dense search finds paraphrases that share no words with the query.\n\n"
        "## Chunking\n\nChunks.\n"
    ),
    "eval.md": (
        "# Evaluation\n\n## Cross-validation\n\n"
        "K-fold cross-validation splits the data into k folds and trains k models. "
        "Each model is tested on the fold it did not see, and the scores are averaged. "
        "It gives a less noisy estimate than a single split when data is scarce.\n\n"
        "## Precision and recall\n\n"
        "Precision is the share of predicted positives that are truly positive. "
        "Recall is the share of actual positives that the model finds. "
        "Raising the decision threshold usually increases precision and lowers recall.\n"
    ),
}
USABLE = 7  # Masking (1 sentence) and Chunking (no full sentence) are too short to ask about


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    return write_files(tmp_path / "notes", NOTES)


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return run_interviewer(*args, stdin=stdin, columns=200)


def test_one_question_per_section_with_enough_text_and_the_skipped_ones_are_named(notes: Path) -> None:
    result = cli("practice", "--material", str(notes), "--follow-ups", "0", stdin="skip\n" * USABLE)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{USABLE} questions from 9 sections in 4 files of your notes" in out
    assert "Skipped 2 sections too short to ask about" in out
    assert "attention.md > Masking (1 full sentence)" in out
    assert "retrieval.md > Chunking (no full sentence)" in out
    assert f"Mock interview: {USABLE} questions on Your notes" in out
    asked = re.findall(r"Question (\d+)/(\d+)", out)
    assert [int(n) for n, _ in asked] == list(range(1, USABLE + 1))
    assert {total for _, total in asked} == {str(USABLE)}
    assert "Explain multi-head attention" in out  # a bullet list is a section too


@pytest.mark.parametrize(("wanted", "announced", "says"), [
    ("3", 3, "asking 3 of them (-n 3)"),
    ("20", USABLE, "asking all of them (-n 20 asked for more)"),
])
def test_the_count_announced_is_the_count_asked(notes: Path, wanted: str, announced: int, says: str) -> None:
    result = cli("practice", "--material", str(notes), "-n", wanted, "--follow-ups", "0", stdin="skip\n" * announced)
    assert result.returncode == 0, result.stderr
    assert says in result.stdout
    assert f"Mock interview: {announced} questions" in result.stdout
    assert len(re.findall(rf"Question \d+/{announced}\b", result.stdout)) == announced
    assert "Interview summary" in result.stdout


def test_follow_ups_and_hints_read_like_an_interviewers(notes: Path, tmp_path: Path) -> None:
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.generate import notes_questions
    from interviewer.knowledge.index import KnowledgeBase

    kb = KnowledgeBase(make_client(tmp_path / "kb"), "mine")
    kb.ingest([notes])
    built = notes_questions(kb)
    points = [p for q in built.questions for p in q.points]
    follow_ups = [p.follow_up for p in points]
    asked_about = [m.group(1) for f in follow_ups if (m := re.fullmatch(r"What can you tell me about (.+)\?", f))]
    # most points name a term of their own sentence; the rest quote how the notes go on
    assert len(asked_about) >= 0.7 * len(points)
    for term in asked_about:
        bare = term.removeprefix("the ")
        assert 1 <= len(bare.split()) <= 3
        assert any(bare in p.text.lower() for p in points)
    for follow_up in follow_ups:
        assert follow_up.startswith(("What can you tell me about", 'Your notes go on: "'))
        assert "Your notes also cover" not in follow_up
    by_sentence = {p.text: p.follow_up for p in points}
    expected = {"decision threshold": "the decision threshold", "random subset": "the random subset",
                "bootstrap samples": "bootstrap samples", "key dimension": "the key dimension"}
    checked = 0
    for sentence, follow_up in by_sentence.items():
        for term, named in expected.items():
            if term in sentence:
                assert follow_up == f"What can you tell me about {named}?", (sentence, follow_up)
                checked += 1
    assert checked >= 2
    # subjects with their verbs and words either side of a comma are not terms
    for clause in ("search finds", "forest averages", "boosting builds", "rate shrinks"):
        assert not any(clause in term for term in asked_about), clause
    assert all(p.hint.startswith("Think about ") and p.hint.endswith(".") for p in points)
    assert not any("the cross-validation" in f or "k-fold cross-validation" in f for f in follow_ups)
    # the code block is not a sentence of the notes
    assert not any("XGBClassifier" in p.text for p in points)
    # headings read as phrases: lower case where the notes write them so, names and acronyms kept
    asked = {q.text for q in built.questions}
    assert "Explain cross-validation in your own words, as you would to an interviewer." in asked
    assert "Explain gradient boosting in your own words, as you would to an interviewer." in asked
