"""The contradiction check: statements that say the opposite of a claim, and ones that do not.

Each case is one claim (a rubric point's wording) and one statement a candidate might make.
The ones that must not conflict matter as much as the ones that must: a false contradiction
takes credit from a correct answer.
"""

from __future__ import annotations

import pytest

from interviewer.grading.contradiction import against, conflict, denies_previous, derived_contrasts

STATIC = "Static embeddings such as word2vec or GloVe assign each word type a single fixed vector, whatever sentence it appears in."
CONTEXTUAL = (
    "Contextual embeddings, produced by models such as BERT or ELMo, compute a different vector for each occurrence "
    "of a word from the surrounding tokens."
)
EMBEDDINGS = ["static|word2vec|glove|fasttext", "contextual|bert|elmo"]
COMPLEXITY = "As complexity or flexibility increases, bias decreases and variance increases."
NO_LABELS = "Unsupervised learning does not need labels."
SCALER = "Fit the scaler on the training set only and apply it to the test set."
PCA = "PCA ignores the labels, so the highest-variance directions need not be the ones that separate the classes."

CONTRADICTIONS = [
    (STATIC, "Static embeddings such as word2vec or GloVe do not assign each word type a single fixed vector.", "negation"),
    (STATIC, "It is false that static embeddings such as word2vec assign each word type a single fixed vector.", "framing"),
    (STATIC, "It is a common myth that word2vec assigns each word type a single fixed vector.", "framing"),
    (STATIC, "Many people wrongly believe that word2vec gives each word one fixed vector.", "framing"),
    (STATIC, "The idea that word2vec gives every word a single vector is a myth.", "framing"),
    (STATIC, "People often claim that word2vec assigns each word a single vector, but that is false.", "framing"),
    (STATIC, "Contextual embeddings such as BERT assign each word type a single fixed vector, whatever sentence it appears in.", "swap"),
    (STATIC, "BERT assigns each word a single fixed vector whatever the sentence.", "swap"),
    (CONTEXTUAL, "Static embeddings such as word2vec compute a different vector for each occurrence of a word from its neighbours.", "swap"),
    (NO_LABELS, "Unsupervised learning needs labels.", "negation"),
    (COMPLEXITY, "As complexity increases, bias increases and variance increases.", "direction"),
    (COMPLEXITY, "As complexity or flexibility increases, bias decreases and variance decreases.", "direction"),
    (SCALER, "Fit the scaler on the test set.", "swap"),
    ("Dropout is switched off at inference time.", "Dropout is not switched off at inference time.", "negation"),
    ("L1 regularisation drives some weights exactly to zero.", "L2 regularisation drives some weights exactly to zero.", "swap"),
]

AGREEMENTS = [
    (STATIC, "Word2vec gives each word one fixed vector; it does not change with the sentence."),
    (STATIC, "In word2vec a word's vector does not change with the sentence it appears in."),
    (STATIC, "Unlike BERT, word2vec assigns a single fixed vector to each word."),
    (STATIC, "BERT does not assign each word a single fixed vector."),  # the other side, negated: true
    (CONTEXTUAL, "BERT does not give the same vector to a word every time; it depends on the surrounding words."),
    (CONTEXTUAL, "BERT computes a vector for each occurrence from the surrounding tokens, unlike word2vec."),
    (CONTEXTUAL, "A word like bank shares one vector in word2vec but gets different vectors from BERT."),
    (NO_LABELS, "Unsupervised learning needs no labels."),
    (NO_LABELS, "Unsupervised learning works on unlabelled data."),
    (COMPLEXITY, "As complexity decreases, bias increases and variance decreases."),
    (COMPLEXITY, "More flexible models have lower bias and higher variance."),
    (SCALER, "You fit the scaler on training data, then transform the test data with it."),
    ("Regularisation reduces variance.", "Regularisation does not increase variance."),
    ("Filter methods score each feature independently of the model.", "Filter methods score each feature without a model."),
    ("One-shot methods prune LLMs without full retraining.", "One-shot methods avoid full retraining."),
    ("Choose the threshold on held-out data using precision and recall, not accuracy.",
     "Set the threshold on held-out data and check precision and recall rather than accuracy."),
    ("Static embeddings are cheap to look up.", "Contextual embeddings are expensive to compute."),
    (PCA, "PCA never looks at the target, so a direction with little variance that separates the classes can be thrown away."),
    ("The sky is blue.", "Gradient descent follows the negative gradient."),  # unrelated: says nothing of it
]


@pytest.mark.parametrize(("claim", "statement", "kind"), CONTRADICTIONS)
def test_a_statement_that_says_the_opposite_conflicts(claim: str, statement: str, kind: str) -> None:
    found = conflict(statement, claim, EMBEDDINGS)
    assert found is not None, statement
    assert found.kind == kind


@pytest.mark.parametrize(("claim", "statement"), AGREEMENTS)
def test_a_statement_that_agrees_or_says_the_other_side_does_not_conflict(claim: str, statement: str) -> None:
    assert conflict(statement, claim, EMBEDDINGS) is None, statement


def test_double_negation_states_the_claim() -> None:
    assert conflict("It is not true that unsupervised learning does not need labels.", NO_LABELS) is not None
    assert conflict("It is not true that unsupervised learning needs labels.", NO_LABELS) is None


def test_the_claim_phrasing_that_shares_most_words_decides() -> None:
    claims = [STATIC, "A static embedding is a lookup table from a word to one vector."]
    assert against("A static embedding is not a lookup table from a word to one vector.", claims) is not None
    assert against("Word2vec is a lookup table: one vector per word.", claims) is None


def test_a_sentence_that_only_denies_the_one_before_it() -> None:
    assert denies_previous("That is a myth.")
    assert denies_previous("But this is simply wrong.")
    assert not denies_previous("That is why we scale the features before PCA.")


def test_contrasts_are_read_from_the_question_when_the_rubric_names_none() -> None:
    assert derived_contrasts("What is the difference between stemming and lemmatisation?") == ["stemming", "lemmatisation"]
    assert derived_contrasts("Explain bagging vs boosting.") == ["bagging", "boosting"]
    assert derived_contrasts("What is an embedding?") == []


BIAS_VARIANCE = ["bias|underfit", "variance|overfit"]
HYBRID = ["bm25|lexical|sparse|keyword", "dense|embedding|vector|semantic|cosine"]
VARIANCE_DEF = (
    "Variance is error from sensitivity to the particular training sample; a high-variance model changes a lot when "
    "the training data changes, because it fits noise."
)
FIT_LINK = "High bias shows up as underfitting (poor on training and test data) and high variance as overfitting (good on training data, poor on new data)."
TRADEOFF = "Making a model more flexible usually lowers bias and raises variance, so the aim is the complexity that minimises error on unseen data."
DENSE = "Dense retrieval compares embeddings of query and chunk, so it finds paraphrases and synonyms with no shared words."
SCALES = "BM25 scores and cosine similarities live on incompatible scales, so you either fuse on ranks or normalise the scores."

# Things bound the other way round across a whole sentence, and directions reversed on a cause
# that a nearer word does not claim.
SENTENCE_SWAPS = [
    (VARIANCE_DEF, "Bias is instability: a very flexible model follows the noise of its particular training sample, so retraining changes it.", BIAS_VARIANCE),
    (FIT_LINK, "High variance shows up as underfitting, where training and validation scores are both poor, and high bias as overfitting.", BIAS_VARIANCE),
    (DENSE, "BM25 compares embeddings, so it finds paraphrases and synonyms that share no words with the query.", HYBRID),
    (TRADEOFF, "More flexibility raises bias and lowers variance.", BIAS_VARIANCE),
]
SENTENCE_AGREEMENTS = [
    (FIT_LINK, "High bias shows up as underfitting and high variance as overfitting.", BIAS_VARIANCE),
    (TRADEOFF, "A simpler model has higher bias and lower variance.", BIAS_VARIANCE),  # the other side, in other words
    (SCALES, "Dense scores and BM25 scores are on incompatible scales, so fuse on ranks.", HYBRID),  # both are the subject
    (CONTEXTUAL, "Word2vec and BERT both compute a vector for each word from data.", EMBEDDINGS),  # both are the subject
]


@pytest.mark.parametrize(("claim", "statement", "contrasts"), SENTENCE_SWAPS)
def test_things_bound_the_other_way_round_across_a_sentence_conflict(claim: str, statement: str, contrasts: list[str]) -> None:
    assert conflict(statement, claim, contrasts) is not None, statement


@pytest.mark.parametrize(("claim", "statement", "contrasts"), SENTENCE_AGREEMENTS)
def test_words_shared_by_both_things_or_a_joint_subject_do_not_conflict(claim: str, statement: str, contrasts: list[str]) -> None:
    assert conflict(statement, claim, contrasts) is None, statement


def test_mirrored_trades_the_names_of_two_contrasted_things_and_canonical_names_only_renames() -> None:
    from interviewer.grading.contradiction import canonical_names, mirrored

    contrasts = ["bias|high bias|underfit", "variance|high variance|overfit"]
    # each name becomes the other thing's name in the same form (the lists are read as parallel),
    # an inflected mention keeps its ending: a sentence that still reads as English
    assert mirrored("High variance means the model overfits.", contrasts) == [(1, 0, "High bias means the model underfits.")]
    assert mirrored("Bias and variance trade off.", contrasts) == [(0, 1, "Variance and bias trade off.")]
    assert mirrored("Nothing to trade here.", contrasts) == []
    assert canonical_names("High variance means the model overfits.", contrasts) == "variance means the model variance."


def test_renamed_keeps_each_mention_in_its_form() -> None:
    from interviewer.grading.contradiction import renamed

    penalties = ["l1 regularis|l1 penalty|l1|lasso", "l2 regularis|l2 penalty|l2|ridge|weight decay"]
    swap = {0: 1, 1: 0}
    assert renamed("Ridge, the L2 penalty, beats L1 regularisation.", penalties, swap) == "Lasso, the L1 penalty, beats L2 regularisation."
    # a stem listed beside the full name carries the ending: "explor" + "ing" -> "exploit" + "ing"
    assert renamed("Exploring too little", ["exploration|explor", "exploitation|exploit"], swap) == "Exploiting too little"
    # an abbreviation becomes the other's abbreviation, in capitals; words that only start alike stay
    norms = ["batch norm|batchnorm|bn", "layer norm|layernorm|rmsnorm|ln"]
    assert renamed("BN, batch normalisation; bnx", norms, swap) == "LN, layer normalisation; bnx"
    assert renamed("Nothing named here.", norms, swap) == "Nothing named here."
