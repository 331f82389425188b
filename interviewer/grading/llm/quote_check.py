"""Is a model's quote real evidence for its point? The checks a gullible model cannot talk past.

``interviewer.grading.evidence.check_verdicts`` makes sure a quote is in the answer. That is not enough:
a model that quotes one word of the answer ("Static") for every point, or one sentence for every
point, would pass it. A credited verdict (covered or partial) keeps its credit only when its quote

1. is a substantive span: at least ``min_words`` words, or a whole sentence or clause of the
   answer of at least ``min_sentence_words`` words, and not a bare list of keywords;
2. does not contradict the point: neither the quote nor its sentence negates it or frames it as
   a myth (``interviewer.grading.contradiction``, when that module is installed);
3. is about the point by the offline grader's own measure: ``prose * (sim_weight * cosine +
   lex_weight * cue_coverage)`` with the fitted ``GraderParams``, the cosine taken against the
   point's text and aliases. The value counted is the better of the quote's and its sentence's
   (a tight quote is judged with the sentence it comes from); a quote over several sentences
   counts as its best sentence (quoting the whole answer for every point earns each point no
   more than its own sentence). It must reach ``floor``; under
   ``partial_below`` it must not be clearly (``margin``) more about another point of the question;
   a "covered" quote under ``partial_below`` counts as partial. The three are fitted on the bank's
   graded examples by ``bench/fit_quote_floor.py`` (``interviewer/data/quote_check.json``);
4. is not spent on points it is not about: a quote (or overlapping passage) credited for several
   points keeps the point it relates to best, and the others only if it clears the floor for them.

A failed check drops the verdict to missed, with a note in the style of the evidence check.
Embedding is CPU work: async callers run ``check_quotes`` in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from interviewer.domain import PointVerdict, Question, RubricPoint, Verdict
from interviewer.grading.contradiction import Conflict, against
from interviewer.grading.evidence import _ELLIPSIS, normalise
from interviewer.grading.offline.engine import fitted, point_lex, point_phrasings, question_contrasts
from interviewer.text import prose_factor, split_clauses, split_sentences, words

log = logging.getLogger(__name__)

PARAMS_FILE = "quote_check.json"


@dataclass(frozen=True)
class QuoteCheckParams:
    """Thresholds of the quote check (the floor is fitted by bench/fit_quote_floor.py)."""

    floor: float = 0.25  # below: the quote is not about the point (missed)
    partial_below: float = 0.45  # a "covered" quote below this counts as partial
    margin: float = 0.25  # under partial_below and this much more about another point: that point's evidence
    min_words: int = 4
    min_sentence_words: int = 3  # a whole sentence or clause this short is still a statement
    min_prose: float = 0.2  # prose factor under which a quote is a keyword list

    @classmethod
    def packaged(cls, **overrides: Any) -> "QuoteCheckParams":
        """The fitted thresholds shipped with the package (defaults if the file is absent or bad)."""
        return fitted(cls, PARAMS_FILE, overrides)

    def to_dict(self) -> dict:
        return asdict(self)

    def rejects(self, value: float, other: float) -> bool:
        """Whether a quote of ``value`` for its point (``other``: its best value for another point
        of the question) is no evidence for it."""
        return value < self.floor or (value < self.partial_below and value < other - self.margin)


# measuring ------------------------------------------------------------------------------------


def question_cues(question: Question) -> list[str]:
    """Every keyword cue of the question: what the prose factor discounts (as the offline grader)."""
    return list(dict.fromkeys(c for p in question.points for c in p.keywords))


class QuoteMeter:
    """The offline grader's value of any text against any point of one question.

    ``embedder`` is an ``interviewer.embedder.Embedder``; point vectors come from its cache.
    """

    def __init__(self, embedder: Any, question: Question, grader: Any = None) -> None:
        if grader is None:
            from interviewer.grading.offline.engine import GraderParams

            grader = GraderParams.packaged()
        self.embedder = embedder
        self.question = question
        self.sim_weight = float(grader.sim_weight)
        self.lex_weight = float(grader.lex_weight)
        self.cues = question_cues(question)
        self._vectors: dict[str, np.ndarray] = {}
        self._prose: dict[str, tuple[list[str], float]] = {}  # per text: it does not depend on the point

    def encode(self, texts: Sequence[str]) -> None:
        """Embed, in one batch, the texts not embedded yet (answer text: not kept in the shared cache)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.embedder.encode(missing)))

    def cosine(self, text: str, point: RubricPoint) -> float:
        self.encode([text])
        refs = self.embedder.encode_cached([point.text, *point.aliases])
        return float((refs @ self._vectors[text]).max())

    def value(self, text: str, point: RubricPoint) -> float:
        if text not in self._prose:
            tokens = words(text)
            self._prose[text] = (tokens, prose_factor(tokens, self.cues) if tokens else 0.0)
        tokens, prose = self._prose[text]
        if not tokens:
            return 0.0
        return prose * (self.sim_weight * self.cosine(text, point) + self.lex_weight * point_lex(point, tokens))


# where a quote sits in the answer --------------------------------------------------------------


def _pieces(quote: str) -> list[str]:
    return [n for n in (normalise(p) for p in _ELLIPSIS.split(quote.strip())) if n.strip()]


def locate(quote: str | None, normalised_answer: str) -> list[tuple[int, int]]:
    """Character spans of the quote's '...'-separated pieces in the normalised answer (empty: not found)."""
    if not quote or not quote.strip():
        return []
    spans, position = [], 0
    for piece in _pieces(quote):
        found = normalised_answer.find(piece, position)
        if found < 0:
            return []
        spans.append((found, found + len(piece)))
        position = found + len(piece) - 1
    return spans


@dataclass
class _Sentence:
    text: str
    span: tuple[int, int]
    wholes: frozenset[str]  # the normalised sentence and its clauses


def _sentences(answer: str, normalised_answer: str) -> list[_Sentence]:
    found, position = [], 0
    for sentence in split_sentences(answer):
        key = normalise(sentence)
        if not key.strip():
            continue
        start = normalised_answer.find(key, position)
        if start < 0:
            continue
        position = start + len(key) - 1
        clauses = {normalise(c) for c in split_clauses(sentence, min_words=1)}
        found.append(_Sentence(sentence, (start, start + len(key)), frozenset({key, *clauses})))
    return found


def _overlaps(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> bool:
    # spans include the spaces either side of a piece: touching pieces share one space, not a word
    return any(min(x[1], y[1]) - max(x[0], y[0]) > 1 for x in a for y in b)


# the contradiction check ---------------------------------------------------------------------


def contradiction(statement: str, point: RubricPoint, contrasts: Sequence[str] = ()) -> Conflict | None:
    """How ``statement`` contradicts ``point`` (read against its phrasing closest to it), as the
    offline grader reads it; a bug there must not cost the candidate the turn."""
    try:
        return against(statement, [point.text, *point.aliases], contrasts)
    except Exception:
        log.exception("the contradiction check failed")
        return None


# the check -----------------------------------------------------------------------------------

@dataclass
class _Credit:
    index: int
    point: RubricPoint
    verdict: PointVerdict
    spans: list[tuple[int, int]]
    quote: str  # the quote's pieces joined
    context: str  # the answer's sentences the quote lies in
    units: list[tuple[str, bool]]  # texts it is measured by; True: quoted (not only its context)
    short: bool  # within one sentence
    value: float = 0.0
    unit: str = ""  # the unit that gave the value


def _inside(sentence: _Sentence, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether the quote covers the whole sentence (its '...'-joined pieces may meet inside it)."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:  # pieces that touch (they share the space between them)
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return any(a <= sentence.span[0] + 1 and sentence.span[1] - 1 <= b for a, b in merged)


def _units(quote: str, inside: list[_Sentence], spans: list[tuple[int, int]]) -> tuple[list[tuple[str, bool]], bool]:
    """What a quote is measured by: sentences, as the floor was fitted on.

    A quote within one sentence: the quote itself and its sentence (a tight quote is judged with
    the sentence it comes from; the sentence counts as quoted when the quote is all of it). A
    quote over several sentences (two, a paragraph, the whole answer): each of them on its own,
    so quoting more for every point earns each point no more than its best sentence would (two
    sentences measured as one text gather the cue words of both).
    """
    if len(inside) <= 1:
        units = [(quote, True)] + [(s.text, _inside(s, spans)) for s in inside]
        return units, True
    return [(s.text, True) for s in inside], False


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def check_quotes(
    question: Question,
    verdicts: list[PointVerdict],
    answer: str,
    *,
    embedder: Any,
    grader: Any = None,
    params: QuoteCheckParams | None = None,
) -> tuple[list[PointVerdict], list[str]]:
    """Downgrade credited verdicts whose quote is no real evidence for its point; notes say why.

    ``verdicts`` have passed ``check_verdicts`` (their quotes are in the answer). Blocking: it
    embeds the quotes and their sentences. ``embedder`` None: only the checks that need no
    embedding run (span, keyword list, contradiction of a short quote).
    """
    from interviewer.grading.offline.engine import rubric_points

    params = params or QuoteCheckParams.packaged()
    every_point = rubric_points(question)  # a question with only a reference answer: its sentences
    points = {p.id: p for p in every_point}
    contrasts = question_contrasts(question)
    normalised_answer = normalise(answer)
    sentences = _sentences(answer, normalised_answer)
    cues = question_cues(question)
    checked = list(verdicts)
    notes: list[str] = []

    def downgrade(credit: _Credit, problem: str, to: Verdict = Verdict.missed) -> None:
        v = credit.verdict
        notes.append(f"evidence check: the model marked '{v.point_id}' {v.verdict.value} but {problem}; counted as {to.value}")
        update: dict[str, Any] = {"verdict": to}
        if to == Verdict.missed:
            update.update(evidence=None, confidence=0.0)
        checked[credit.index] = credit.verdict = v.model_copy(update=update)

    def contradicted(credit: _Credit, texts: Sequence[str]) -> bool:
        """The quote, or the sentence it is in, negates the point or frames it as a myth."""
        for text in dict.fromkeys(t for t in texts if t):
            found = contradiction(text, credit.point, contrasts)
            if found is not None:
                kind = getattr(found, "kind", "contradiction")
                downgrade(credit, f"its quote contradicts the point ({kind}): the answer says '{_short(text, 120)}' "
                                  f"while the point is '{_short(credit.point.text, 120)}'")
                return True
        return False

    credits: list[_Credit] = []
    for index, verdict in enumerate(verdicts):
        point = points.get(verdict.point_id)
        if verdict.verdict == Verdict.missed or point is None or not verdict.evidence:
            continue
        spans = locate(verdict.evidence, normalised_answer)
        if not spans:  # check_verdicts has dropped these already; nothing to measure
            continue
        pieces = [normalised_answer[a:b] for a, b in spans]
        quote = " ".join(p.strip() for p in pieces)
        inside = [s for s in sentences if _overlaps([s.span], spans)]
        # measured as the model wrote it (the answer's words, with their case and punctuation)
        written = " ".join(piece.strip() for piece in _ELLIPSIS.split(verdict.evidence.strip()) if piece.strip())
        units, short = _units(written, inside, spans)
        credit = _Credit(index, point, verdict, spans, quote, " ".join(s.text for s in inside) or quote, units, short)
        # 1. a substantive span, not a word or a keyword list
        count = len(quote.split())
        whole = all(any(p == w for s in inside for w in s.wholes) for p in pieces)
        if count < params.min_words and not (whole and count >= params.min_sentence_words):
            what = "a single word" if count == 1 else f"only {count} words"
            downgrade(credit, f"quoted {what} ('{_short(verdict.evidence)}'), too little to show the point")
            continue
        if prose_factor(words(quote), cues) < params.min_prose:
            downgrade(credit, f"quoted a bare list of keywords ('{_short(verdict.evidence)}'), not a statement")
            continue
        # 2. not a negated or myth-framed statement of the point (over several sentences: below,
        #    the quote counts as its best sentence that does not contradict the point)
        if short and contradicted(credit, [verdict.evidence, credit.context]):
            continue
        credits.append(credit)
    if not credits or embedder is None:  # without the embedding model, relatedness cannot be measured
        return checked, notes

    # 3. about its point, by the offline grader's measure
    meter = QuoteMeter(embedder, question, grader)
    meter.encode([text for c in credits for text, _ in c.units])
    # every point's phrasings in one batch (``LLMEngine.prepare`` has usually done it already)
    embedder.encode_cached(point_phrasings(every_point))

    def best_unit(credit: _Credit, point: RubricPoint, quoted_only: bool = False) -> tuple[float, str]:
        scored = [(meter.value(text, point), text) for text, quoted in credit.units if quoted or not quoted_only]
        return max(scored, default=(0.0, ""))

    def best_consistent_unit(credit: _Credit) -> tuple[float, str] | None:
        """Over several sentences: the best one that does not contradict the point (None: all do)."""
        scored = sorted(((meter.value(text, credit.point), text) for text, _ in credit.units), reverse=True)
        for value, text in scored:
            if contradiction(text, credit.point, contrasts) is None:
                return value, text
        contradicted(credit, [scored[0][1]]) if scored else None
        return None

    kept: list[_Credit] = []
    for credit in credits:
        if credit.short:
            credit.value, credit.unit = best_unit(credit, credit.point)
        else:
            found = best_consistent_unit(credit)
            if found is None:
                continue
            credit.value, credit.unit = found
        # how much the same text is about the question's other points
        others = [(meter.value(credit.unit, p), p.id) for p in every_point if p.id != credit.point.id]
        other_value, other_id = max(others, default=(0.0, ""))
        quoted = _short(credit.verdict.evidence or "")
        if credit.value < params.floor:
            downgrade(credit, f"its quote ('{quoted}') is not about this point "
                              f"(relatedness {credit.value:.2f}, below the floor {params.floor:.2f})")
        elif params.rejects(credit.value, other_value):
            downgrade(credit, f"its quote ('{quoted}') is about '{other_id}' ({other_value:.2f}), "
                              f"not this point ({credit.value:.2f})")
        else:
            kept.append(credit)

    # 4. one passage credited for several points keeps the point it is most about
    groups: list[list[_Credit]] = []
    for credit in kept:
        joined = [g for g in groups if any(_overlaps(credit.spans, other.spans) for other in g)]
        merged = [credit, *(c for g in joined for c in g)]
        groups = [g for g in groups if g not in joined] + [merged]
    for group in groups:
        if len(group) < 2:
            continue
        best = max(group, key=lambda c: c.value)
        for credit in group:
            if credit is best:
                continue
            # for this point the passage must show it by what it quotes, not by the rest of its
            # sentence: a sentence may touch two points, a piece of it re-used must show this one
            own, _ = best_unit(credit, credit.point, quoted_only=True)
            if own < params.floor:
                downgrade(credit, f"the same passage is its evidence for '{best.point.id}', which it fits better "
                                  f"({best.value:.2f} against {own:.2f}, below the floor {params.floor:.2f})")

    # a covered verdict whose evidence relates to the point only weakly: partial at most
    if params.partial_below > params.floor:
        for credit in kept:
            if credit.verdict.verdict == Verdict.covered and credit.value < params.partial_below:
                downgrade(credit, f"its quote relates to the point only weakly (relatedness {credit.value:.2f}, "
                                  f"below {params.partial_below:.2f})", to=Verdict.partial)
    return checked, notes
