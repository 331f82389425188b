"""The embedded default engine: rubric-point coverage with no key and no network.

Each rubric point is compared with every unit of the answer (sentences, clauses of long
sentences, and pairs of adjacent sentences) by embedding similarity and by lexical cues; the
best unit is the point's evidence and its combined score sets the verdict. Sentences that state
a known misconception are not accepted as evidence and cost the answer a penalty.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from interviewer.domain import Assessment, MisconceptionHit, PointVerdict, Question, RubricPoint, Verdict
from interviewer.embedder import Embedder, EmbedderError, shared_embedder
from interviewer.scoring import score_verdicts
from interviewer.text import STOP_WORDS, clean, content_words, cue_coverage, cue_present, split_clauses
from interviewer.text import split_sentences, truncate, words

MAX_SENTENCES = 200


@dataclass(frozen=True)
class GraderParams:
    """Weights and thresholds of the offline grader."""

    sim_weight: float = 0.65
    lex_weight: float = 0.35
    covered: float = 0.58
    partial: float = 0.42
    misconception_sim: float = 0.72
    misconception_sim_with_cue: float = 0.55
    misconception_margin: float = 0.0
    max_chars: int = 20_000


@dataclass
class _Unit:
    text: str
    sentences: tuple[int, ...]
    tokens: list[str]
    prose: float  # 1.0 for ordinary prose, lower for bare keyword lists


def _prose_factor(tokens: list[str]) -> float:
    """Keyword lists have almost no function words; full sentences have plenty."""
    if len(tokens) < 4:
        return 1.0
    ratio = sum(t in STOP_WORDS for t in tokens) / len(tokens)
    return min(1.0, ratio / 0.2)


def _units(sentences: list[str]) -> list[_Unit]:
    """Grading units: sentences, clauses of long sentences, pairs of adjacent sentences."""
    units: list[_Unit] = []
    for i, sentence in enumerate(sentences):
        units.append(_Unit(sentence, (i,), [], 1.0))
        if len(sentence.split()) >= 12:
            units.extend(_Unit(c, (i,), [], 1.0) for c in split_clauses(sentence) if c != sentence)
        if i + 1 < len(sentences):
            units.append(_Unit(f"{sentence} {sentences[i + 1]}", (i, i + 1), [], 1.0))
    for unit in units:
        unit.tokens = words(unit.text)
        unit.prose = _prose_factor(unit.tokens)
    return units


def points_from_reference(question: Question) -> list[RubricPoint]:
    """'Grade against a reference answer': the reference's sentences and clauses become points."""
    pieces: list[str] = []
    for sentence in split_sentences(question.reference_answer or ""):
        clauses = split_clauses(sentence) if len(sentence.split()) >= 20 else []
        pieces.extend(clauses or [sentence])
    points = []
    for n, piece in enumerate(pieces[:8], start=1):
        key_terms = ", ".join(list(dict.fromkeys(content_words(piece)))[:3])
        points.append(
            RubricPoint(
                id=f"ref-{n}",
                text=piece,
                follow_up="Is there anything you would add to your answer? Think about what a complete answer would also mention.",
                hint=f"A complete answer also touches on {key_terms or 'one more aspect of the question'}.",
            )
        )
    return points


class OfflineEngine:
    """Rubric-point coverage grader (embedding similarity + lexical cues)."""

    name = "offline"
    model: str | None = "all-MiniLM-L6-v2"

    def __init__(self, embedder: Embedder | None = None, params: GraderParams | None = None) -> None:
        self.embedder = embedder or shared_embedder()
        self.params = params or GraderParams()

    def warm_up(self) -> None:
        self.embedder.start()

    def prepare(self, question: Question) -> None:
        """Embed the question's rubric texts in the background while the candidate types."""

        def work() -> None:
            try:
                points = question.points or points_from_reference(question)
                texts = [t for p in points for t in (p.text, *p.aliases)]
                self.embedder.encode_cached(texts + [m.claim for m in question.misconceptions])
            except EmbedderError:
                pass  # reported on the grading call, where the user sees it

        threading.Thread(target=work, name=f"prepare-{question.id}", daemon=True).start()

    async def assess(self, question: Question, answer: str, *, focus: Sequence[str] | None = None) -> Assessment:
        return await asyncio.to_thread(self.assess_sync, question, answer, focus=focus)

    def assess_sync(self, question: Question, answer: str, *, focus: Sequence[str] | None = None) -> Assessment:
        started = time.perf_counter()
        params = self.params
        notes: list[str] = []
        text, truncated = truncate(clean(answer), params.max_chars)
        if truncated:
            notes.append(f"answer truncated to its first {params.max_chars:,} characters for grading")
        points = question.points or points_from_reference(question)
        graded = [p for p in points if focus is None or p.id in focus]
        sentences = split_sentences(text)[:MAX_SENTENCES]
        units = _units(sentences)
        if not units:
            verdicts = [PointVerdict(point_id=p.id, verdict=Verdict.missed) for p in graded]
            return self._result(question, points, verdicts, [], notes, started)

        unit_vectors = self.embedder.encode([u.text for u in units])
        hits, wrong_sentences = self._misconceptions(question, units, unit_vectors, points)
        verdicts = [self._grade_point(p, units, unit_vectors, sentences, wrong_sentences) for p in graded]
        return self._result(question, points, verdicts, hits, notes, started)

    def _grade_point(
        self,
        point: RubricPoint,
        units: list[_Unit],
        unit_vectors: np.ndarray,
        sentences: list[str],
        wrong_sentences: set[int],
    ) -> PointVerdict:
        params = self.params
        ref_vectors = self.embedder.encode_cached([point.text, *point.aliases])
        sims = (unit_vectors @ ref_vectors.T).max(axis=1)
        if point.keywords:
            lex = np.array([cue_coverage(point.keywords, u.tokens) * u.prose for u in units])
        else:
            wanted = set(content_words(point.text))
            lex = np.array(
                [len(wanted & set(u.tokens)) / len(wanted) * u.prose if wanted else 0.0 for u in units]
            )
        combined = params.sim_weight * sims + params.lex_weight * lex
        for k, unit in enumerate(units):
            if wrong_sentences.intersection(unit.sentences):
                combined[k] = -1.0
        best = int(np.argmax(combined))
        value = float(combined[best])
        if value >= params.covered:
            verdict = Verdict.covered
        elif value >= params.partial:
            verdict = Verdict.partial
        else:
            verdict = Verdict.missed
        evidence = " ".join(sentences[i] for i in units[best].sentences) if verdict != Verdict.missed else None
        return PointVerdict(
            point_id=point.id,
            verdict=verdict,
            evidence=evidence,
            confidence=round(max(0.0, value), 3),
            reasoning=f"similarity {float(sims[best]):.2f}, keyword cues {float(lex[best]):.2f}",
        )

    def _misconceptions(
        self, question: Question, units: list[_Unit], unit_vectors: np.ndarray, points: list[RubricPoint]
    ) -> tuple[list[MisconceptionHit], set[int]]:
        """Known wrong beliefs stated in the answer, and the sentences that state them.

        Checked per sentence and per clause (a wrong clause can hide in a long sentence), and a
        unit only counts when it is closer to the wrong claim than to any rubric point.
        """
        params = self.params
        hits: list[MisconceptionHit] = []
        wrong: set[int] = set()
        if not question.misconceptions:
            return hits, wrong
        single = [k for k, u in enumerate(units) if len(u.sentences) == 1]
        vectors = unit_vectors[single]
        refs = self.embedder.encode_cached([t for p in points for t in (p.text, *p.aliases)])
        point_sims = (vectors @ refs.T).max(axis=1)
        claim_sims = vectors @ self.embedder.encode_cached([m.claim for m in question.misconceptions]).T
        for j, misconception in enumerate(question.misconceptions):
            best: tuple[float, int] | None = None
            for row, k in enumerate(single):
                sim = float(claim_sims[row, j])
                cue = any(cue_present(c, units[k].tokens) for c in misconception.keywords)
                strong_enough = sim >= params.misconception_sim or (cue and sim >= params.misconception_sim_with_cue)
                if strong_enough and sim >= float(point_sims[row]) + params.misconception_margin:
                    if best is None or sim > best[0]:
                        best = (sim, k)
            if best is not None:
                unit = units[best[1]]
                hits.append(
                    MisconceptionHit(
                        misconception_id=misconception.id, evidence=unit.text, correction=misconception.correction
                    )
                )
                wrong.update(unit.sentences)
        return hits, wrong

    def _result(
        self,
        question: Question,
        points: list[RubricPoint],
        verdicts: list[PointVerdict],
        hits: list[MisconceptionHit],
        notes: list[str],
        started: float,
    ) -> Assessment:
        scoring_question = question if question.points else question.model_copy(update={"points": points})
        return Assessment(
            question_id=question.id,
            verdicts=verdicts,
            misconceptions=hits,
            score=score_verdicts(scoring_question, verdicts, hits),
            engine=self.name,
            model=self.model,
            rubric_hash=question.content_hash,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            notes=notes,
        )
