"""Contradictions read from a near copy's edits (``interviewer/grading/copy_edits.py``).

A candidate who copies a true sentence and changes one word has changed its meaning exactly
there; the cases that keep the meaning (two reversals, names listed the other way round, a
faithful copy) matter as much as the ones that must be caught.
"""

from __future__ import annotations

import pytest

from interviewer.grading.copy_edits import copy_edit

COMPLEXITY = "Adding flexibility lets the model follow the true relationship more closely, so bias falls, but it also chases noise in the sample, so variance rises."
PERPLEXITY = "A model that is uniform over a vocabulary of V tokens has perplexity V, and lower is better."
DISTILLATION = "In knowledge distillation a small student model is trained to imitate a larger, already trained teacher model."
TREES = "Adding trees to a random forest does not overfit; it only costs compute."
TRADE = "Trading bias for variance is the usual effect of adding flexibility."
HYBRID = "Hybrid search runs a BM25 retriever and a dense retriever on the same query and merges their results."
THINGS = {
    DISTILLATION: ["teacher|teacher model", "student|student model"],
    HYBRID: ["bm25|keyword", "dense|embedding"],
    TRADE: ["bias", "variance"],
}

CONTRADICTED = [
    (COMPLEXITY, COMPLEXITY.replace("variance rises", "variance falls"), "direction"),
    (PERPLEXITY, PERPLEXITY.replace("better", "worse"), "direction"),
    (TREES, TREES.replace("overfit", "underfit"), "swap"),
    (TREES, TREES.replace("does not overfit", "overfits"), "negation"),
    (DISTILLATION, "In knowledge distillation a small teacher model is trained to imitate a larger, already trained student model.", "swap"),
    (COMPLEXITY, "It is a myth that " + COMPLEXITY[0].lower() + COMPLEXITY[1:], "framing"),
    (TRADE, "Trading variance for bias is the usual effect of adding flexibility.", "swap"),
]

KEPT = [
    (COMPLEXITY, COMPLEXITY),
    (PERPLEXITY, PERPLEXITY.replace("lower is better", "higher is worse")),  # two reversals say the same
    (HYBRID, "Hybrid search runs a dense retriever and a BM25 retriever on the same query and merges their results."),
    (DISTILLATION, DISTILLATION.replace("small", "compact")),
    (TREES, "Adding more trees to a random forest does not overfit; it only costs more compute."),
    (COMPLEXITY, "Regularisation restricts the model, buying a large drop in variance for a small increase in bias."),  # no copy
]


@pytest.mark.parametrize(("claim", "statement", "kind"), CONTRADICTED)
def test_a_copy_with_one_reversal_contradicts_the_sentence_it_copies(claim: str, statement: str, kind: str) -> None:
    found = copy_edit(statement, ["Unrelated text about tokenisers and vocabularies.", claim], THINGS.get(claim, ()))
    assert found is not None, statement
    assert found.kind == kind
    assert found.copied


@pytest.mark.parametrize(("claim", "statement"), KEPT)
def test_a_copy_that_keeps_the_meaning_is_no_contradiction(claim: str, statement: str) -> None:
    assert copy_edit(statement, [claim], THINGS.get(claim, ())) is None


def test_a_sentence_far_from_every_claim_is_not_read_as_a_copy() -> None:
    assert copy_edit("Variance falls as the model gets more flexible.", [COMPLEXITY]) is None
    assert copy_edit("", [COMPLEXITY]) is None
