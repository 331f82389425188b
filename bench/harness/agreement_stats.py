"""Agreement statistics between a grader's scores and human scores, with numpy only.

Correlations, RMSE, quadratic weighted kappa, ROC AUC, macro-F1, isotonic regression, and the
leave-one-question-out (LOQO) maps and thresholds: each question's rows are mapped by a map
fitted on all the other questions' rows, so no figure is fitted on the rows it scores. numpy only,
on purpose: the package does not depend on scipy directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

RAW_MAX = 10.0  # grader scores are 0-10


def _arrays(*values: Sequence[float]) -> list[np.ndarray]:
    arrays = [np.asarray(v, dtype=float) for v in values]
    if len({a.shape for a in arrays}) > 1:
        raise ValueError("the arrays differ in length")
    return arrays


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; NaN when there are fewer than two values or either side is constant."""
    x, y = _arrays(x, y)
    if x.size < 2:
        return math.nan
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(dx @ dx) * float(dy @ dy))
    return float(dx @ dy) / denominator if denominator > 1e-12 else math.nan


def ranks(x: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    average = (starts + ends + 1) / 2.0  # mean of the 1-based positions start+1 .. end
    result = np.empty(x.size)
    result[order] = np.repeat(average, ends - starts)
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = _arrays(x, y)
    return pearson(ranks(x), ranks(y)) if x.size >= 2 else math.nan


def rmse(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = _arrays(x, y)
    return float(np.sqrt(np.mean((x - y) ** 2))) if x.size else math.nan


def qwk(a: Sequence[float], b: Sequence[float], low: int, high: int) -> float:
    """Quadratic weighted kappa of two integer ratings on ``low..high`` (values are rounded, clipped)."""
    a, b = _arrays(a, b)
    if a.size == 0 or high <= low:
        return math.nan
    k = high - low + 1
    ia = (np.clip(np.floor(a + 0.5), low, high) - low).astype(int)
    ib = (np.clip(np.floor(b + 0.5), low, high) - low).astype(int)
    observed = np.zeros((k, k))
    np.add.at(observed, (ia, ib), 1.0)
    expected = np.outer(np.bincount(ia, minlength=k), np.bincount(ib, minlength=k)) / a.size
    grid = np.arange(k)
    weights = (grid[:, None] - grid[None, :]) ** 2 / (k - 1) ** 2
    chance = float((weights * expected).sum())
    return 1.0 - float((weights * observed).sum()) / chance if chance > 1e-12 else math.nan


def roc_auc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    scores, labels = _arrays(scores, labels)
    positive = labels > 0.5
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    rank_sum = float(ranks(scores)[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _f1(tp, fp, fn):
    tp, fp, fn = (np.asarray(v, dtype=float) for v in (tp, fp, fn))
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(denominator), where=denominator > 0)


def macro_f1(predicted: Sequence[float], labels: Sequence[float]) -> float:
    """Mean of the F1 of class 1 and the F1 of class 0."""
    predicted, labels = _arrays(predicted, labels)
    if predicted.size == 0:
        return math.nan
    p, t = predicted > 0.5, labels > 0.5
    tp, fp, fn, tn = (p & t).sum(), (p & ~t).sum(), (~p & t).sum(), (~p & ~t).sum()
    return float((_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2)


def isotonic_fit(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The non-decreasing least-squares fit of y on x (pool adjacent violators), as knots
    (distinct x, fitted y); apply it with ``np.interp`` (constant beyond the ends)."""
    x, y = _arrays(x, y)
    knots, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=y) / counts
    values: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for mean, weight in zip(means.tolist(), counts.tolist()):
        values.append(mean)
        weights.append(weight)
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v2, w2, s2 = values.pop(), weights.pop(), sizes.pop()
            v1, w1, s1 = values.pop(), weights.pop(), sizes.pop()
            values.append((v1 * w1 + v2 * w2) / (w1 + w2))
            weights.append(w1 + w2)
            sizes.append(s1 + s2)
    return knots, np.repeat(values, sizes)


def _groups(groups: Sequence) -> tuple[np.ndarray, int]:
    _, index = np.unique(np.asarray([str(g) for g in groups], dtype=object), return_inverse=True)
    return index, int(index.max()) + 1 if index.size else 0


def loqo_linear(raw: Sequence[float], y: Sequence[float], groups: Sequence, low: float, high: float) -> np.ndarray:
    """Each question's raw scores mapped by a least-squares line fitted on the *other* questions'
    rows, clipped to low..high. With nothing to fit on, the raw 0-10 scale is rescaled to low..high."""
    raw, y = _arrays(raw, y)
    index, n = _groups(groups)
    mapped = np.empty(raw.size)
    for g in range(n):
        mine = index == g
        xs, ys = raw[~mine], y[~mine]
        if xs.size == 0:
            mapped[mine] = low + (high - low) * raw[mine] / RAW_MAX
            continue
        variance = float(np.var(xs))
        if variance <= 1e-12:
            mapped[mine] = ys.mean()
            continue
        slope = float(np.mean((xs - xs.mean()) * (ys - ys.mean()))) / variance
        mapped[mine] = ys.mean() + slope * (raw[mine] - xs.mean())
    return np.clip(mapped, low, high)


def loqo_isotonic(raw: Sequence[float], y: Sequence[float], groups: Sequence, low: float, high: float) -> np.ndarray:
    """Like ``loqo_linear`` with a monotone (isotonic) map fitted on the other questions' rows."""
    raw, y = _arrays(raw, y)
    index, n = _groups(groups)
    mapped = np.empty(raw.size)
    for g in range(n):
        mine = index == g
        if not (~mine).any():
            mapped[mine] = low + (high - low) * raw[mine] / RAW_MAX
            continue
        knots, fitted = isotonic_fit(raw[~mine], y[~mine])
        mapped[mine] = np.interp(raw[mine], knots, fitted)
    return np.clip(mapped, low, high)


def loqo_threshold(raw: Sequence[float], labels: Sequence[float], groups: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """0/1 predictions ``raw >= t`` where each question's t maximises macro-F1 on the *other*
    questions' rows (candidates: midpoints between distinct raw scores, and both extremes; of
    equally good candidates the middle one, the widest margin). Returns (predictions, the threshold used for each row)."""
    raw, labels = _arrays(raw, labels)
    index, n = _groups(groups)
    if raw.size == 0:
        return np.zeros(0), np.zeros(0)
    distinct = np.unique(raw)
    candidates = np.r_[-np.inf, (distinct[1:] + distinct[:-1]) / 2, np.inf]
    position = np.searchsorted(distinct, raw)  # a row is predicted 1 for candidates[0..position]
    positive = labels > 0.5
    t = candidates.size
    pos_hist = np.zeros((n, t))
    neg_hist = np.zeros((n, t))
    np.add.at(pos_hist, (index[positive], position[positive]), 1.0)
    np.add.at(neg_hist, (index[~positive], position[~positive]), 1.0)
    pos_at_least = np.cumsum(pos_hist[:, ::-1], axis=1)[:, ::-1]  # [g, j]: positives predicted 1 at candidate j
    neg_at_least = np.cumsum(neg_hist[:, ::-1], axis=1)[:, ::-1]
    tp = pos_at_least.sum(axis=0) - pos_at_least
    fp = neg_at_least.sum(axis=0) - neg_at_least
    n_pos = pos_hist.sum() - pos_hist.sum(axis=1, keepdims=True)
    n_neg = neg_hist.sum() - neg_hist.sum(axis=1, keepdims=True)
    fn, tn = n_pos - tp, n_neg - fp
    score = (_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2
    tied = score >= score.max(axis=1, keepdims=True) - 1e-12
    best = np.array([np.flatnonzero(row)[int(row.sum()) // 2] for row in tied], dtype=int)  # the middle of the ties
    thresholds = candidates[best][index]
    return (raw >= thresholds).astype(float), thresholds


def within_question_pearson(raw: Sequence[float], y: Sequence[float], groups: Sequence) -> tuple[float, int, int]:
    """Mean Pearson r inside questions with >= 3 rows whose human scores are not all equal.

    A question where the grader gave every row the same score has no within-question agreement
    and counts as r = 0. Returns (mean r, questions used, of which the grader was constant on).
    """
    raw, y = _arrays(raw, y)
    index, n = _groups(groups)
    values, constant = [], 0
    for g in range(n):
        mine = index == g
        if mine.sum() < 3 or np.ptp(y[mine]) == 0:
            continue
        r = pearson(raw[mine], y[mine])
        if math.isnan(r):
            constant += 1
            r = 0.0
        values.append(r)
    return (float(np.mean(values)) if values else math.nan), len(values), constant


MIN_INTERVAL_QUESTIONS = 5  # fewer questions give an interval that means nothing


def question_interval(
    metric: Callable[[np.ndarray], float], groups: Sequence, *, level: float = 0.90, draws: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """The central ``level`` interval of ``metric(rows)`` over resamples of the questions.

    Each draw picks as many questions as there are, with replacement, and measures ``metric`` on
    all their rows (an index array). Answers to one question are not independent, so this, not a
    row bootstrap, says how much a figure depends on which questions happened to be in the set:
    a figure 0.002 under a target with an interval of +-0.03 has not missed it by much, nor met
    it. None for fewer than ``MIN_INTERVAL_QUESTIONS`` questions. Seeded: the same rows give the
    same interval.
    """
    index, n = _groups(groups)
    if n < MIN_INTERVAL_QUESTIONS:
        return None
    rows_of = [np.flatnonzero(index == g) for g in range(n)]
    rng = np.random.default_rng(seed)
    values = np.array([metric(np.concatenate([rows_of[k] for k in rng.integers(0, n, n)])) for _ in range(draws)])
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    tail = (1.0 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1.0 - tail))
