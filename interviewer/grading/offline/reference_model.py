"""A calibrated score for questions graded against a reference answer instead of a rubric.

When a question has no rubric points, the offline grader turns the reference answer's sentences
into points, and per-point coverage alone ranks answers poorly: short correct answers in other
words miss "points", and answers that restate the question look close to the reference. A small
logistic model over cheap, explainable features does better on questions it has never seen: the
per-point values, embedding cosines (whole answer, best sentence, and against the question
itself), word overlap with the reference once the question's own words are removed, a word-piece
alignment of answer and reference by contextual vectors, length and a negation mismatch. How much
each of these counts depends on how long the question and the reference are (each answer feature
also enters multiplied by both lengths): overlap means one thing against a one-line reference to
"Why?" and another against a paragraph. Its probability that a grader would accept the answer,
times ten, is the score.

The coefficients live in ``interviewer/data/reference_model.json``. ``bench/fit_reference_model.py``
fits them on the SemEval-2013 "fit" questions and the bank's "fit" examples through
``features_for``, the same function grading calls, so what is fitted is exactly what runs; it
reports on held-out questions only. Without the file, grading falls back to the coverage score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files

import numpy as np

from interviewer.domain import PointVerdict, Question, Verdict
from interviewer.embedder import TokenVectors
from interviewer.grading.offline.measurements import Measurements
from interviewer.text import STOP_WORDS, prose_factor, words


MODEL_FILE = "reference_model.json"
NEGATORS = frozenset(
    "not no never none nothing nor neither cannot without isn't aren't wasn't weren't don't doesn't didn't "
    "won't can't couldn't shouldn't wouldn't hasn't haven't hadn't".split()
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")

ANSWER_FEATURES = (
    "offline",       # the coverage grader's 0-10 score / 10
    "pt_mean",       # mean per-point value (similarity and cues combined)
    "pt_min",        # the weakest point's value
    "covered",       # share of points covered
    "cos",           # cosine of the whole answer with the reference
    "cos_sent",      # best cosine of one answer sentence with the reference
    "cos_q",         # cosine of the answer with the question (restating it is not answering it)
    "rec",           # share of the reference's word stems present in the answer
    "rec_new",       # the same, counting only stems the question does not already contain
    "prec",          # share of the answer's stems found in the reference
    "prec_new",      # the same over the answer's stems that are not in the question
    "log_len",       # log(1 + answer words)
    "len_ratio",     # log((1 + answer words) / (1 + reference words))
    "neg_mismatch",  # one of answer and reference is negated while they share words
    "n_sent",        # sentences, capped at 5, / 5
    "soft_rec_new",  # per reference word not in the question, its closest answer word's cosine; the mean
    "tok_rec",       # per reference word piece (in context), its closest answer piece's cosine; the mean
    "tok_prec",      # the same from the answer's side: how much of the answer the reference supports
    "tok_f1",        # their harmonic mean (BERTScore's F, without idf weights)
)
LENGTHS = (
    "q_len",         # log(1 + words of the question): "Why?" leaves more for the answer to say
    "ref_len",       # log(1 + words of the reference): one line, or a paragraph to cover
)
FEATURES = ANSWER_FEATURES + LENGTHS  # what features_for measures
AT_LENGTHS = slice(len(ANSWER_FEATURES), len(FEATURES))  # where the lengths sit in a features row
# The model's terms: the features, then every answer feature times each length (a varying-coefficient
# model). Chosen by cross-validation over the fit questions (bench/fit_reference_model.py): pooled
# macro-F1 0.695 -> 0.702, higher in each of 5 shuffles.
TERMS = FEATURES + tuple(f"{name}*{length}" for length in LENGTHS for name in ANSWER_FEATURES)


def terms(x: np.ndarray) -> np.ndarray:
    """The model's terms (``TERMS`` order) from features (``FEATURES`` order): one row or many."""
    x = np.asarray(x, dtype=float)
    rows = np.atleast_2d(x)
    answer, lengths = rows[:, : len(ANSWER_FEATURES)], rows[:, AT_LENGTHS]
    out = np.concatenate([rows, *(answer * lengths[:, [k]] for k in range(len(LENGTHS)))], axis=1)
    return out[0] if x.ndim == 1 else out


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'closed'/'closes'/'closing' without NLTK data."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def stems(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOP_WORDS and w not in NEGATORS and len(w) > 1}


def _content(text: str) -> list[str]:
    return list(dict.fromkeys(w for w in words(text) if w not in STOP_WORDS and w not in NEGATORS and len(w) > 1))


def soft_recall_words(answer: str) -> list[str]:
    """The answer's words soft recall embeds one by one."""
    return _content(answer)


def soft_recall(reference: str, answer: str, question: str, cached: "Vectors") -> float:
    """How well the answer's words cover the reference's new words, allowing synonyms: for each
    reference word the question does not already contain, the cosine of its closest answer word
    (single words embedded once and cached), averaged. 'connected' still counts for 'linked'."""
    asked = stems(question)
    soft_recall_words = _content(reference)
    new = [w for w in soft_recall_words if stem(w) not in asked] or soft_recall_words
    answer_words = _content(answer)
    if not new or not answer_words:
        return 0.0
    vectors = cached(new + answer_words)
    return float((vectors[: len(new)] @ vectors[len(new):].T).max(axis=1).mean())


def content_pieces(tokens: TokenVectors) -> np.ndarray:
    """The vectors of a text's word pieces that carry content: not punctuation, not a stop word
    (a word's continuation pieces, '##ed', always count: they belong to a content word or not)."""
    keep = [i for i, piece in enumerate(tokens.pieces)
            if any(c.isalnum() for c in piece) and (piece.startswith("##") or piece not in STOP_WORDS)]
    return tokens.vectors[keep]


def token_alignment(reference: TokenVectors, answer: TokenVectors) -> tuple[float, float, float]:
    """Recall, precision and F of a greedy word-piece alignment by contextual cosine (BERTScore).
    Contextual vectors tell 'the bulb is in a closed path' from 'the path is closed off' better
    than whole-sentence cosines or single-word vectors do. Measured by bench/fit_reference_model.py:
    SemEval macro-F1 0.690 -> 0.695 in cross-validation over the fit questions (higher in each of
    5 shuffles), 0.693 -> 0.701 and ROC AUC 0.761 -> 0.767 on the held-out questions."""
    r, a = content_pieces(reference), content_pieces(answer)
    if not len(r) or not len(a):
        return 0.0, 0.0, 0.0
    similarity = r @ a.T
    recall, precision = float(similarity.max(axis=1).mean()), float(similarity.max(axis=0).mean())
    return recall, precision, 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0


def negated(text: str) -> bool:
    return any(t in NEGATORS or t.endswith("n't") for t in words(text))


Vectors = Callable[[list[str]], np.ndarray]
Tokens = Callable[[list[str]], list[TokenVectors]]
RELATED_COSINE = 0.3


def stated(sentences: Sequence[str], vectors: np.ndarray, topic_stems: set[str], reference: np.ndarray) -> list[int]:
    """Indexes of the sentences that say something about the question: they read as prose (not a
    bare keyword list) and share a word stem with the question or reference, or are close to it.
    When no sentence relates, all prose sentences are kept: a short answer in other words ("there
    is a gap") is still the answer, and its low similarity already tells the model so."""
    prose = [i for i, sentence in enumerate(sentences) if prose_factor(words(sentence)) >= 0.5]
    related = [
        i for i in prose
        if stems(sentences[i]) & topic_stems or (i < len(vectors) and float(vectors[i] @ reference) >= RELATED_COSINE)
    ]
    return related or prose


def features_for(
    question: Question,
    measured: Measurements,
    verdicts: Sequence[PointVerdict],
    coverage_score: float,
    cached: Vectors,
    cached_tokens: Tokens,
    fresh_tokens: Tokens,
) -> np.ndarray:
    """The model's inputs for one graded answer, in ``FEATURES`` order.

    ``cached`` and ``cached_tokens`` embed the question's own texts (reused every turn),
    ``fresh_tokens`` the answer (never kept, one pass for its sentence and word-piece vectors);
    the answer's sentence vectors come from the measurements. Everything but the coverage
    values is measured on the sentences that state something about the question (``stated``), so
    an unrelated paragraph or a pasted list of the reference's words changes neither the length
    nor the overlap the model sees.
    """
    reference = question.reference_answer or ""
    values = [v.confidence or 0.0 for v in verdicts] or [0.0]
    covered = sum(v.verdict == Verdict.covered for v in verdicts) / len(verdicts) if verdicts else 0.0
    ref_vec, q_vec = cached([reference or " ", question.text or " "])
    q_stems, r_stems = stems(question.text), stems(reference)
    sentence_vecs = measured.sentence_vectors()
    keep = stated(measured.sentences, sentence_vecs, r_stems | q_stems, ref_vec)
    answer = " ".join(measured.sentences[i] for i in keep)
    tokens = words(answer)
    answer_tokens = fresh_tokens([answer])[0] if keep else None
    a_vec = answer_tokens.sentence if answer_tokens is not None else np.zeros_like(ref_vec)
    alignment = token_alignment(cached_tokens([reference or " "])[0], answer_tokens) if answer_tokens is not None else (0.0,) * 3
    cos_sent = float((sentence_vecs[keep] @ ref_vec).max()) if keep else 0.0
    a_stems = stems(answer)
    r_new, a_new = r_stems - q_stems, a_stems - q_stems
    n_words, ref_words = len(tokens), len(words(reference))
    mismatch = float(negated(answer) != negated(reference) and bool(r_stems & a_stems))
    prose = prose_factor(tokens)
    q_words = len(words(question.text))
    return np.array([
        coverage_score / 10.0,
        float(np.mean(values)),
        float(np.min(values)),
        covered,
        prose * float(a_vec @ ref_vec),
        prose * cos_sent,
        prose * float(a_vec @ q_vec),
        prose * (len(r_stems & a_stems) / len(r_stems) if r_stems else 0.0),
        prose * (len(r_new & a_stems) / len(r_new) if r_new else 0.0),
        prose * (len(a_stems & r_stems) / len(a_stems) if a_stems else 0.0),
        prose * (len(a_new & r_stems) / len(a_new) if a_new else 0.0),
        math.log1p(n_words),
        math.log((1 + n_words) / (1 + ref_words)),
        mismatch,
        min(len(keep), 5) / 5.0,
        prose * soft_recall(reference, answer, question.text, cached),
        *(prose * value for value in alignment),
        math.log1p(q_words),
        math.log1p(ref_words),
    ])


@dataclass(frozen=True)
class ReferenceModel:
    """A standardised logistic regression over ``terms(x)``: p = sigmoid(bias + coef . (t - mean) / std).

    ``length_range`` holds the lowest and highest q_len and ref_len of the rows it was fitted on;
    lengths outside it are clipped to it, so a 500-word reference does not stretch the
    length-dependent weights beyond anything the fit saw."""

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    bias: float
    coef: np.ndarray
    accept_threshold: float = 0.5
    length_range: tuple[tuple[float, float], ...] | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "ReferenceModel":
        names = tuple(data["features"])
        if names != FEATURES:
            raise ValueError(f"the model was fitted on features {list(names)}, but grading computes {list(FEATURES)}")
        if tuple(data.get("terms", ())) != TERMS:
            raise ValueError(f"the model's terms are {data.get('terms')}, but grading builds {list(TERMS)}")
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "std", "coef")]
        if any(a.shape != (len(TERMS),) for a in arrays):
            raise ValueError(f"mean, std and coef must each have {len(TERMS)} values")
        ranges = data.get("length_range")
        if ranges is not None:
            ranges = tuple((float(low), float(high)) for low, high in (ranges[name] for name in LENGTHS))
        return cls(names, *arrays[:2], float(data["bias"]), arrays[2], float(data.get("accept_threshold", 0.5)), ranges)

    @classmethod
    def packaged(cls) -> "ReferenceModel | None":
        """The model shipped with the package, or None when it is missing or unreadable."""
        try:
            data = json.loads(files("interviewer").joinpath("data", MODEL_FILE).read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (FileNotFoundError, OSError, ValueError, KeyError, TypeError):
            return None

    @cached_property
    def _length_bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``length_range`` as (lows, highs) arrays, built once rather than on every graded turn."""
        if self.length_range is None:
            return None
        low, high = np.array(self.length_range).T
        return low, high

    def probability(self, x: np.ndarray) -> float:
        """x: one answer's features, ``FEATURES`` order."""
        x = np.array(x, dtype=float)
        if self._length_bounds is not None:
            x[AT_LENGTHS] = np.clip(x[AT_LENGTHS], *self._length_bounds)
        z = self.bias + float(self.coef @ ((terms(x) - self.mean) / self.std))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def score(self, x: np.ndarray) -> float:
        """0-10: ten times the probability that a grader accepts the answer."""
        return round(10.0 * self.probability(x), 1)


# --- fitting (used by bench/fit_reference_model.py; numpy only) ----------------------------------


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, weights: np.ndarray | None = None, iterations: int = 50
) -> np.ndarray:
    """[bias, w...] minimising weighted cross-entropy + l2/2 |w|^2 by Newton steps (bias not
    penalised). ``y`` may hold soft targets in [0, 1], such as a human 0-10 score / 10."""
    n, d = x.shape
    design = np.c_[np.ones(n), x]
    s = np.ones(n) if weights is None else weights * n / weights.sum()
    w = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (s * (p - y)) + penalty * w
        hessian = (design * (s * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.c_[np.ones(len(x)), x] @ w)))
