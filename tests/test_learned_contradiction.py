"""The learned contradiction detector: a MiniLM cross-encoder (shipped adapters) that reads a
point and a sentence together, used by the offline grader beside the rule checks.

Real model, real bank question: a denial worded away from the point's words, which the rules
let through as covered, is reported once the detector reads it; a correct sentence is not; a
missing or broken weights file leaves grading to the rules and says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interviewer.domain import Verdict
from interviewer.grading import contradiction_model
from interviewer.grading.contradiction_model import DENIES, OTHER, STATES, ContradictionModel
from interviewer.grading.offline.engine import OfflineEngine

QUESTION = "meval-accuracy-imbalanced"
DENIAL = ("Accuracy is not misleading on imbalanced data, because a model that always predicts the majority class "
          "would never reach a high accuracy.")
CORRECT = ("A model that always predicts the majority class reaches 99% accuracy when only 1% of cases are positive, "
           "yet it never catches a single positive.")


@pytest.fixture(scope="module")
def detector() -> ContradictionModel:
    found = contradiction_model.shared_detector()
    assert found is not None, contradiction_model.unavailable()
    return found


def test_the_detector_tells_stating_from_denying_and_from_something_else(detector: ContradictionModel) -> None:
    claim = "As the test set grows, the confidence interval of the accuracy gets narrower."
    probs = detector.probabilities([
        (claim, "With more test examples the interval around the accuracy shrinks."),
        (claim, "It is a myth that the interval around the accuracy shrinks with more test examples."),
        (claim, "Tokenisers split rare words into sub-word pieces."),
    ])
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert probs[0].argmax() == STATES
    assert probs[1].argmax() == DENIES
    assert probs[2].argmax() == OTHER
    assert detector.probabilities([]).shape == (0, 3)


def test_a_denial_the_rules_miss_is_reported_and_earns_nothing(bank, offline_engine: OfflineEngine) -> None:
    question = bank.get(QUESTION)
    rules_only = OfflineEngine(embedder=offline_engine.embedder, detector=None)
    before = rules_only.assess_sync(question, DENIAL)
    assert {v.point_id: v.verdict for v in before.verdicts}["majority-baseline"] != Verdict.missed  # what the rules let through

    after = offline_engine.assess_sync(question, DENIAL)
    assert {v.point_id: v.verdict for v in after.verdicts}["majority-baseline"] == Verdict.missed
    hit = next(h for h in after.misconceptions if h.point_id == "majority-baseline")
    assert hit.kind == "meaning"
    assert hit.evidence == DENIAL
    assert hit.correction.startswith("In fact: A trivial model that always predicts the majority class")
    assert after.score < before.score and after.score <= 3.0


def test_a_correct_sentence_keeps_its_credit(bank, offline_engine: OfflineEngine) -> None:
    question = bank.get(QUESTION)
    graded = offline_engine.assess_sync(question, CORRECT)
    assert {v.point_id: v.verdict for v in graded.verdicts}["majority-baseline"] == Verdict.covered
    assert not [h for h in graded.misconceptions if h.kind == "meaning"]


def test_every_model_answer_of_a_topic_keeps_its_grade(bank, offline_engine: OfflineEngine) -> None:
    """A correct answer full of "not" and "without" is not read as a denial of its own points:
    the detector takes no credit from it (it may add some, reading a point stated in other words)."""
    rules_only = OfflineEngine(embedder=offline_engine.embedder, detector=None)
    for question in [q for q in bank.questions.values() if q.topic == "model-evaluation"]:
        graded = offline_engine.assess_sync(question, question.model_answer)
        assert not [h for h in graded.misconceptions if h.kind == "meaning"], question.id
        assert graded.score >= rules_only.assess_sync(question, question.model_answer).score, question.id
        by_point = {v.point_id: v.verdict.credit for v in rules_only.assess_sync(question, question.model_answer).verdicts}
        assert all(v.verdict.credit >= by_point[v.point_id] for v in graded.verdicts), question.id


def test_broken_weights_leave_grading_to_the_rules_and_say_so(
    bank, offline_engine: OfflineEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a weights file")
    with pytest.raises(Exception):
        ContradictionModel.load(broken)

    def fail(cls, weights=None):
        raise OSError("contradiction-lora.npz: unreadable")

    monkeypatch.setattr(contradiction_model, "_shared", None)
    monkeypatch.setattr(contradiction_model, "_unavailable", None)
    monkeypatch.setattr(ContradictionModel, "load", classmethod(fail))
    engine = OfflineEngine(embedder=offline_engine.embedder)
    graded = engine.assess_sync(bank.get(QUESTION), CORRECT)
    assert graded.score > 0
    assert any("learned contradiction check is unavailable" in n and "unreadable" in n for n in graded.notes)


def test_training_pairs_make_the_model_compare_polarity(bank, offline_engine: OfflineEngine) -> None:
    """bench/train_contradiction.py: a myth frame denies a plain statement and affirms a denied
    one, a denial agrees with the denied point, and nothing comes from the benchmark's
    hand-written answers."""
    import random
    import attacks
    import train_contradiction as training

    question = bank.get("bv-definition")
    others = [q for q in bank.questions.values() if q.topic != question.topic][:5]
    rows = training.pairs_for(question, others, offline_engine.embedder.encode, random.Random(3))
    assert {label for *_, label in rows} == {training.ENTAIL, training.CONTRADICT, training.NEUTRAL}
    frames = ("It is a common myth that", "Many people wrongly believe", "A popular misconception",
              "People often claim that", "The idea that")
    framed = {label for _, statement, label in rows if statement.startswith(frames)}
    assert framed == {training.ENTAIL, training.CONTRADICT}  # the frame's meaning depends on what it frames
    denied_both = [(c, s) for c, s, label in rows if label == training.ENTAIL and not s.startswith(frames)
                   and attacks.negate_sentence(c, [0]) != c and " not " in f" {c} " and " not " in f" {s} "]
    assert denied_both, "no agreeing pair where both sides are denied"
    hand = {a["answer"] for a in attacks.hand_written(attacks.DATA_DIR).get("fluent_wrong", [])}
    assert len(hand) >= 25
    assert not any(statement in answer for _, statement, _ in rows for answer in hand)


def test_the_detector_loads_only_after_the_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """transformers' lazy imports are not safe to race: with both loading at once on a fresh
    terminal, the detector's import failed and every grade said "the learned contradiction check
    is unavailable (ImportError ...)". The detector's thread waits for the embedder."""
    import threading

    from interviewer.grading.offline import engine as offline

    embedder_ready = threading.Event()
    loaded = threading.Event()

    class SlowEmbedder:
        def start(self) -> None:
            pass

        def wait(self, timeout: float | None = None) -> None:
            embedder_ready.wait(30)

    monkeypatch.setattr(offline, "shared_detector", loaded.set)
    OfflineEngine(embedder=SlowEmbedder()).warm_up()  # type: ignore[arg-type]
    assert not loaded.wait(0.5)  # still waiting for the embedder
    embedder_ready.set()
    assert loaded.wait(30)


def test_hand_written_training_pairs_stay_off_the_benchmarks(bank, tmp_path: Path) -> None:
    """bench/data/written_statements.yaml: each statement is paired with every phrasing of its
    point (states or denies) and once with another point (other); a question of the benchmarks'
    hand-written sets or of the held-out split is refused, so their figures stay on unseen questions."""
    import yaml
    import train_contradiction as training
    from harness.grading_eval import split_of

    rows = training.written_pairs(bank.questions)
    assert {label for _, _, label, _ in rows} == {training.ENTAIL, training.CONTRADICT, training.NEUTRAL}
    written = yaml.safe_load(training.WRITTEN.read_text(encoding="utf-8"))["questions"]
    reserved = {row["question"] for name in training.EVALUATION_SETS
                for row in yaml.safe_load((training.WRITTEN.parent / name).read_text(encoding="utf-8"))["answers"]}
    assert len(written) >= 30 and not {e["question"] for e in written} & reserved
    assert all(split_of(e["question"]) == "fit" for e in written)
    entry = written[0]
    point = bank.get(entry["question"]).points[0]
    denial = next(e for e in entry["points"] if e["point"] == point.id)["denies"][0]
    labelled = {(claim, label) for claim, statement, label, _ in rows if statement.rstrip(".") == denial.rstrip(".")}
    assert {(training._sentence(p), training.CONTRADICT) for p in (point.text, *point.aliases)} <= labelled
    assert any(label == training.NEUTRAL for _, label in labelled)

    leaking = tmp_path / "written_statements.yaml"
    leaking.write_text(yaml.safe_dump({"questions": [{"question": "meval-precision-recall", "points": []}]}), encoding="utf-8")
    for name in training.EVALUATION_SETS:
        (tmp_path / name).write_text((training.WRITTEN.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SystemExit, match="meval-precision-recall"):
        training.written_pairs(bank.questions, leaking)
