"""The embedded default engine: rubric-point coverage with no key and no network.

Each rubric point is compared with every unit of the answer (sentences, clauses of long
sentences, and pairs of adjacent sentences) by embedding similarity and by lexical cues; the
best unit is the point's evidence and its combined score sets the verdict. Units that state a
known misconception are not accepted as evidence and cost the answer a penalty.

Grading is split in two: ``measure`` computes the similarities (the slow, model-bound part) and
``decide`` turns them into verdicts under ``GraderParams``. The calibration script fits the
parameters by re-running only ``decide``, so what is fitted is exactly what runs.

One module although long: ``measure`` and ``decide`` are the two halves of one grader and
share its private units and conflict bookkeeping; the calibration scripts import both from here.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import TypeVar
from importlib.resources import files

import numpy as np

from interviewer.domain import Assessment, MisconceptionHit, PointVerdict, Question, RubricPoint, Verdict
from interviewer.embedder import Embedder, EmbedderError, shared_embedder
from interviewer.grading.base import AssessContext
from interviewer.grading.contradiction import Conflict, against, conflict, denies_previous, derived_contrasts, framed_by_next, canonical_names, mirrored, named_in, read
from interviewer.grading.copy_edits import Copy, copied
from interviewer.grading.contradiction_model import DENIES, STATES, ContradictionModel, shared_detector, unavailable
from interviewer.grading.evidence import hostile_passages, normalise
from interviewer.grading.offline.measurements import EMBEDDING_DIM, Measurements, Unit
from interviewer.grading.offline.reference_model import ReferenceModel, features_for, soft_recall_words
from interviewer.grading.scoring import score_verdicts
from interviewer.text import clean, content_words, cue_coverage, cue_present, prose_factor, question_words, split_clauses
from interviewer.text import split_sentences, states_something, truncate, words

MAX_SENTENCES = 200
PARAMS_FILE = "offline_grader.json"


Params = TypeVar("Params")


def fitted(cls: type[Params], filename: str, overrides: dict[str, object]) -> Params:
    """A parameters dataclass from the "params" of a fitted JSON file in ``interviewer/data``
    (numbers only, unknown keys ignored; defaults when the file is absent or unreadable), with
    ``overrides`` on top."""
    try:
        stored = json.loads(files("interviewer").joinpath("data", filename).read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        stored = {}
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    params = stored.get("params", {}) if isinstance(stored, dict) else {}
    values = {k: v for k, v in params.items() if k in known and isinstance(v, (int, float))}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


def point_phrasings(points: Sequence[RubricPoint]) -> list[str]:
    """Each point's text and aliases, once each: what an answer or a quote is measured against."""
    return list(dict.fromkeys(t for p in points for t in (p.text, *p.aliases)))


def rubric_texts(question: Question) -> list[str]:
    """Every text of a question's rubric the graders embed: points and their aliases,
    misconception claims, model-answer pieces (also what the packaged vectors hold)."""
    texts = point_phrasings(rubric_points(question))
    return list(dict.fromkeys(texts + [m.claim for m in question.misconceptions] + model_answer_pieces(question)))


@dataclass(frozen=True)
class GraderParams:
    """Weights and thresholds of the offline grader (fitted by bench/fit_offline_grader.py)."""

    sim_weight: float = 0.65
    covered: float = 0.58
    partial: float = 0.42
    misconception_sim_with_cue: float = 0.5
    misconception_sim: float = 0.9
    misconception_margin: float = 0.0
    # A sentence that contradicts a point is reported (and penalised) when it is about that point:
    # its value for the point reaches this, and no other point suits it clearly better.
    contradiction_min: float = 0.36
    contradiction_margin: float = 0.05
    # The learned detector's probability of "denies" from which a sentence contradicts a point.
    denial_min: float = 0.8
    # ... and of "states" (on average against the point's text and aliases), from which a
    # sentence worth partial credit covers the point. Chosen on the adversarial bench (held-out
    # aliases, hand-written paraphrases, fluent-wrong answers) and bank_examples: 0.5 cost the
    # bank's strong > partial > weak order 2 questions, 0.75 gave back most of the alias credit.
    states_min: float = 0.6
    max_chars: int = 20_000

    @property
    def lex_weight(self) -> float:
        return 1.0 - self.sim_weight

    def value(self, prose, sim, lex):  # type: ignore[no-untyped-def]  (floats or arrays alike)
        """How well a unit states a point: similarity and cue coverage blended, scaled by how much
        the unit is prose at all."""
        return prose * (self.sim_weight * sim + self.lex_weight * lex)

    @classmethod
    def packaged(cls, **overrides: object) -> "GraderParams":
        """The fitted parameters shipped with the package (defaults if the file is absent)."""
        return fitted(cls, PARAMS_FILE, overrides)

    def to_dict(self) -> dict:
        return asdict(self)


def _units(sentences: list[str], cues: Sequence[str] = (), question: str = "") -> list[Unit]:
    """Grading units: sentences, clauses of long sentences, pairs of adjacent sentences.

    Each unit's ``prose`` says how much it can state: a bare keyword list, the rubric's cue
    phrases strung together with function words, a question, or the question restated state
    nothing, however close their words are to a point."""
    units: list[Unit] = []
    for i, sentence in enumerate(sentences):
        units.append(Unit(sentence, (i,), [], 1.0))
        if len(sentence.split()) >= 12:
            units.extend(Unit(c, (i,), [], 1.0) for c in split_clauses(sentence) if c != sentence)
        if i + 1 < len(sentences):
            units.append(Unit(f"{sentence} {sentences[i + 1]}", (i, i + 1), [], 1.0))
    asked = question_words(question)
    for unit in units:
        unit.tokens = words(unit.text)
        unit.prose = prose_factor(unit.tokens, cues) * states_something(unit.text, unit.tokens, cues, asked)
    alone = {u.sentences[0]: u.prose for u in units if len(u.sentences) == 1 and u.text == sentences[u.sentences[0]]}
    for unit in units:
        if len(unit.sentences) == 2:  # a pair is as much prose as its less prose-like sentence
            unit.prose = min(unit.prose, *(alone[i] for i in unit.sentences))
        elif alone[unit.sentences[0]] == 0.0:  # a clause of a sentence that only names cues names them too
            unit.prose = 0.0
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


def rubric_points(question: Question) -> list[RubricPoint]:
    return question.points or points_from_reference(question)


def graded_question(question: Question) -> Question:
    """The question with the points it is graded on (a reference answer's sentences if it has none)."""
    return question if question.points else question.model_copy(update={"points": points_from_reference(question)})


class OfflineEngine:
    """Rubric-point coverage grader (embedding similarity + lexical cues)."""

    name = "offline"
    model: str | None = "all-MiniLM-L6-v2"
    wants_context = False

    def __init__(
        self,
        embedder: Embedder | None = None,
        params: GraderParams | None = None,
        reference_model: ReferenceModel | None | str = "packaged",
        detector: ContradictionModel | None | str = "packaged",
    ) -> None:
        """``reference_model`` scores questions that have only a reference answer; "packaged" loads
        the fitted one, None keeps the plain coverage score (as the fitting script needs)."""
        self.embedder = embedder or shared_embedder()
        self.params = params or GraderParams.packaged()
        self.reference_model = ReferenceModel.packaged() if reference_model == "packaged" else reference_model
        self._detector = detector

    def warm_up(self) -> None:
        self.embedder.start()
        if self._detector == "packaged":  # loaded while the candidate reads the first question
            threading.Thread(target=self._load_detector, name="detector-load", daemon=True).start()

    def _load_detector(self) -> None:
        """After the embedder: transformers' lazy imports are not safe to race from two threads
        (the detector's import failed with ImportError while sentence-transformers was loading)."""
        try:
            self.embedder.wait()
        except EmbedderError:
            return  # reported on the grading call
        shared_detector()

    def prepare(self, question: Question) -> None:
        """Embed the question's rubric texts in the background while the candidate types."""

        def work() -> None:
            try:
                self.embedder.encode_cached(rubric_texts(question))
            except EmbedderError:
                pass  # reported on the grading call, where the user sees it

        threading.Thread(target=work, name=f"prepare-{question.id}", daemon=True).start()

    async def assess(
        self, question: Question, answer: str, *, focus: Sequence[str] | None = None, context: AssessContext | None = None
    ) -> Assessment:
        return await asyncio.to_thread(self.assess_sync, question, answer, focus=focus)

    def assess_sync(self, question: Question, answer: str, *, focus: Sequence[str] | None = None) -> Assessment:
        started = time.perf_counter()
        measured = self.measure(question, answer)
        verdicts, hits = decide(question, measured, self.params, focus)
        score = score_verdicts(graded_question(question), verdicts, hits)
        if self.reference_model is not None and not question.points and focus is None and measured.units:
            calibrated = self.reference_model.score(self.calibration_features(question, measured, verdicts, score))
            score = min(score, calibrated) if hits else calibrated  # a stated misconception still caps it
        return Assessment(
            question_id=question.id,
            verdicts=verdicts,
            misconceptions=hits,
            score=score,
            engine=self.name,
            model=self.model,
            rubric_hash=question.content_hash,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            notes=measured.notes,
        )

    def texts_ahead(self, question: Question, answer: str) -> tuple[list[str], list[str]]:
        """What grading ``answer`` will most likely embed: (texts, texts for word pieces), so a
        batch of answers can be embedded together first (``Embedder.embed_ahead``). The
        sentences and clauses, their words for the reference model's soft recall, and the
        answer for its word-piece alignment; anything missed is embedded when asked for."""
        text, _ = truncate(clean(answer), self.params.max_chars)
        sentences = split_sentences(text)[:MAX_SENTENCES]
        cues = list(dict.fromkeys(c for p in question.points for c in p.keywords))
        units = [u.text for u in _units(sentences, cues, question.text) if len(u.sentences) == 1]
        own = rubric_texts(question)  # the question's own texts: embedded once, then cached
        if question.points or not sentences:
            return own + units, []
        reference = question.reference_answer or " "
        joined = " ".join(sentences)
        own += [reference, question.text or " ", *soft_recall_words(reference)]
        return own + units + soft_recall_words(joined), [joined]

    def calibration_features(
        self, question: Question, measured: Measurements, verdicts: Sequence[PointVerdict], coverage_score: float
    ) -> np.ndarray:
        """The reference model's inputs (also what bench/fit_reference_model.py fits on)."""
        embedder = self.embedder
        return features_for(question, measured, verdicts, coverage_score, embedder.encode_cached,
                            embedder.encode_tokens_cached, embedder.encode_tokens)

    def _unit_vectors(self, units: list[Unit]) -> np.ndarray:
        """Embed sentences and clauses; a sentence pair's vector is the normalised sum of its two
        sentences' vectors (mean pooling is close to additive), which halves the encoding cost."""
        single = [k for k, u in enumerate(units) if len(u.sentences) == 1]
        vectors = np.zeros((len(units), EMBEDDING_DIM), dtype=np.float32)
        vectors[single] = self.embedder.encode([units[k].text for k in single])
        sentence_row = {units[k].sentences[0]: k for k in reversed(single)}  # first unit of each sentence
        for k, unit in enumerate(units):
            if len(unit.sentences) == 2:
                pair = vectors[sentence_row[unit.sentences[0]]] + vectors[sentence_row[unit.sentences[1]]]
                vectors[k] = pair / max(float(np.linalg.norm(pair)), 1e-9)
        return vectors

    def measure(self, question: Question, answer: str) -> Measurements:
        """Similarities of every answer unit to every rubric point and misconception."""
        text, truncated = truncate(clean(answer), self.params.max_chars)
        sentences = split_sentences(text)[:MAX_SENTENCES]
        cues = list(dict.fromkeys(c for p in question.points for c in p.keywords))
        measured = Measurements(sentences=sentences, units=_units(sentences, cues, question.text))
        measured.hostile = _hostile_sentences(answer[: 2 * self.params.max_chars], sentences)
        if measured.hostile:
            measured.notes.append(f"{len(measured.hostile)} sentence(s) addressed to the grader were not graded as answer")
        if truncated:
            measured.notes.append(f"answer truncated to its first {self.params.max_chars:,} characters for grading")
        if not measured.units:
            return measured
        units = measured.units
        unit_vectors = self._unit_vectors(units)
        measured.unit_vectors = unit_vectors
        points = rubric_points(question)
        for point in points:
            refs = self.embedder.encode_cached([point.text, *point.aliases])
            measured.point_sims[point.id] = (unit_vectors @ refs.T).max(axis=1)
            measured.point_lex[point.id] = np.array([point_lex(point, u.tokens) for u in units])
        reference = model_answer_claims(question, self.embedder.encode_cached)
        measured.conflicts, measured.false_copies = _conflicts(question, sentences, units, points, measured.point_sims, reference)
        self._mirror_swaps(question, measured, points)
        _spread_swaps(question, measured, points)
        if question.points:  # a reference answer's free wording leaves no phrasing to veto with
            self._learned_denials(measured, points, reference)
        if question.misconceptions:
            single = [k for k, u in enumerate(units) if len(u.sentences) == 1]
            measured.single = single
            claims = self.embedder.encode_cached([m.claim for m in question.misconceptions])
            measured.claim_sims = unit_vectors[single] @ claims.T
            measured.claim_cues = np.array(
                [[any(cue_present(c, units[k].tokens) for c in m.keywords) for m in question.misconceptions] for k in single],
                dtype=bool,
            ).reshape(len(single), len(question.misconceptions))
            measured.best_point_sims = np.max(np.stack([measured.point_sims[p.id][single] for p in points]), axis=0)
            measured.claim_denied = np.array(
                [[conflict(units[k].text, m.claim) is not None for m in question.misconceptions] for k in single], dtype=bool
            ).reshape(len(single), len(question.misconceptions))
        return measured

    @property
    def detector(self) -> ContradictionModel | None:
        """The learned contradiction detector ("packaged": the shared one, loaded on first use)."""
        if self._detector == "packaged":
            return shared_detector()
        return self._detector  # type: ignore[return-value]

    def _learned_denials(self, measured: Measurements, points: list[RubricPoint], reference: dict[str, list[str]]) -> None:
        """Denials by meaning: the sentences that would earn a point (their value reaches
        ``partial``; the ``LEARNED_CANDIDATES`` best per point) are read together with the
        point by the learned detector, and one it reads as denying the point with probability
        ``denial_min`` or more against the point's text and every other phrasing of it
        contradicts it. Catches what shares too few words with the point for the rules
        ("accuracy isn't really misleading" against "accuracy hides the minority class's
        errors"); marks, never clears."""
        detector = self.detector
        if detector is None and self._detector == "packaged":
            measured.notes.append(f"the learned contradiction check is unavailable ({unavailable()}); the rule checks graded alone")
        if detector is None or not points:
            return
        units, params = measured.units, self.params
        single = [k for k, u in enumerate(units) if len(u.sentences) == 1 and u.text == measured.sentences[u.sentences[0]]]
        asked: list[tuple[str, int]] = []
        values_of: dict[str, np.ndarray] = {}
        for point in points:
            conflicts = measured.conflicts.get(point.id, [None] * len(units))
            values = values_of[point.id] = unit_values(params, measured, point.id)
            ranked = sorted((k for k in single if values[k] >= params.partial and conflicts[k] is None), key=lambda k: -values[k])
            asked += [(point.id, k) for k in ranked[:LEARNED_CANDIDATES]]
        if not asked:
            return
        text = {p.id: p.text for p in points}
        read_as = detector.probabilities([(text[pid], units[k].text) for pid, k in asked])
        self._learned_statements(measured, points, asked, read_as[:, STATES], values_of)
        denied = [pair for pair, p in zip(asked, read_as[:, DENIES]) if p >= params.denial_min]
        # Every other phrasing of the point (aliases, the model answer's sentences about it) must
        # read the sentence as a denial too: one that reads it as agreeing vetoes (a correct
        # sentence worded with a "not": "I wouldn't just drop the rows").
        others = {p.id: [*p.aliases, *reference.get(p.id, [])] for p in points}
        pairs = [(claim, units[k].text) for pid, k in denied for claim in others[pid]]
        probs = iter(detector.probabilities(pairs)[:, DENIES])
        found: dict[tuple[str, int], Conflict] = {}
        for pid, k in denied:
            if min((next(probs) for _ in others[pid]), default=1.0) >= params.denial_min:
                # The sentence's clauses are no evidence for the point it denies either.
                for j, unit in enumerate(units):
                    if unit.sentences == units[k].sentences:
                        found[(pid, j)] = Conflict("meaning", "states the opposite")
        _add_conflicts(measured, found)

    def _learned_statements(
        self, measured: Measurements, points: list[RubricPoint], asked: list[tuple[str, int]], states: np.ndarray,
        values: dict[str, np.ndarray],
    ) -> None:
        """Statements by meaning: a sentence the detector reads as stating the point (against its
        text, then on average over its text and aliases, ``states_min``) covers it, however
        few of the point's words it uses: the paraphrase credit similarity and cue words miss."""
        detector = self.detector
        assert detector is not None
        # Only a point no sentence covers yet can gain, and only by its best sentence (the
        # evidence ``decide`` picks; ``asked`` lists each point's best first).
        done = {pid for pid, k in asked if values[pid][k] >= self.params.covered}
        best: dict[str, tuple[tuple[str, int], float]] = {}
        for pair, p in zip(asked, states):
            best.setdefault(pair[0], (pair, float(p)))
        likely = [(pair, p) for pid, (pair, p) in best.items() if p >= self.params.states_min and pid not in done]
        aliases = {p.id: p.aliases for p in points}
        pairs = [(alias, measured.units[k].text) for (pid, k), _ in likely for alias in aliases[pid]]
        probs = iter(detector.probabilities(pairs)[:, STATES] if pairs else [])
        for (pid, k), p in likely:
            alike = [p, *(float(next(probs)) for _ in aliases[pid])]
            measured.learned_states[(pid, k)] = sum(alike) / len(alike)

    def _mirror_swaps(self, question: Question, measured: Measurements, points: list[RubricPoint]) -> None:
        """Swaps by meaning: a sentence naming one of the question's contrasted things that,
        with that thing and another trading places, states a point clearly better than it
        states anything as written or with the things called by their first names
        ("Variance is systematic error from a model too simple" reads as the bias point once
        mirrored) binds that point's attributes to the wrong thing. Read per sentence; a pair
        takes the verdict of its sentence closer to the point. Marks what the structural
        reading missed, never clears what it found."""
        contrasts = question_contrasts(question)
        if len(contrasts) < 2 or not points:
            return
        units, params = measured.units, self.params
        # A sentence naming two of the things ("a choice between exploiting ... and exploring")
        # reads about as well mirrored as not, right or wrong: the structural check has those.
        alone = [k for k, u in enumerate(units) if len(u.sentences) == 1 and sum(named_in(u.text, c) for c in contrasts) == 1]
        candidates = [(k, a, b, text) for k in alone for a, b, text in mirrored(units[k].text, contrasts)]
        if not candidates:
            return
        vectors = self.embedder.encode([text for *_, text in candidates])
        plain = dict(zip(alone, self.embedder.encode([canonical_names(units[k].text, contrasts) for k in alone])))
        refs = {p.id: self.embedder.encode_cached([p.text, *p.aliases]) for p in points}
        found: dict[tuple[str, int], Conflict] = {}
        for (k, a, b, text), vector in zip(candidates, vectors):
            unit = units[k]
            best_as_written = max(max(float(measured.point_sims[p.id][k]), float((refs[p.id] @ plain[k]).max())) for p in points)
            tokens = words(text)
            for point in points:
                sim = float((refs[point.id] @ vector).max())
                value = params.value(unit.prose, sim, point_lex(point, tokens))
                if value >= params.covered and sim >= best_as_written + MIRROR_MARGIN:
                    said, meant = contrasts[a].split("|")[0], contrasts[b].split("|")[0]
                    found[(point.id, k)] = Conflict("swap", f"{said} where it is {meant}")
                    # The point the sentence reads as, by the name it uses, is told wrongly too.
                    named = max(points, key=lambda p: float(measured.point_sims[p.id][k]))
                    if named.id != point.id and named_in(named.text, contrasts[a]):
                        found[(named.id, k)] = Conflict("swap", f"{meant}'s part given to {said}")
        _add_conflicts(measured, found)


def _spread_swaps(question: Question, measured: Measurements, points: list[RubricPoint]) -> None:
    """A sentence that gives thing A the part of B's point is no evidence for A's own point
    either: "Precision is the share of real positives the model finds" states recall's
    definition, so it neither covers recall nor precision, however close the name brings it
    to the precision point. Spread only where the sentence carries more of the contradicted
    point's own cue words (the names left out) than of A's point: a correct sentence that a
    noisy reading marked as a swap carries A's cue words, not B's."""
    contrasts = question_contrasts(question)
    if len(contrasts) < 2:
        return
    units = measured.units
    attribute_cues = {
        p.id: [c for c in p.keywords if not any(named_in(alt, thing) for alt in c.split("|") for thing in contrasts)]
        for p in points
    }
    spread: dict[tuple[str, int], Conflict] = {}
    for k, unit in enumerate(units):
        if len(unit.sentences) != 1:
            continue
        said = [a for a, thing in enumerate(contrasts) if named_in(unit.text, thing)]
        if len(said) != 1:
            continue
        thing = contrasts[said[0]]
        for wrong in points:
            found = measured.conflicts.get(wrong.id, [None] * len(units))[k]
            if found is None or found.kind != "swap" or not attribute_cues[wrong.id]:
                continue
            theirs = cue_coverage(attribute_cues[wrong.id], unit.tokens)
            for own in points:
                if own.id == wrong.id or not named_in(own.text, thing) or named_in(wrong.text, thing) or not attribute_cues[own.id]:
                    continue
                if theirs > cue_coverage(attribute_cues[own.id], unit.tokens):
                    spread[(own.id, k)] = Conflict("swap", f"{wrong.id}'s part given to {thing.split('|')[0]}")
    _add_conflicts(measured, spread)


def _add_conflicts(measured: Measurements, found: dict[tuple[str, int], Conflict]) -> None:
    """Add conflicts found per sentence unit, keyed (point id, unit), to the measurements
    without clearing any already there; a sentence pair takes the conflict of its sentence
    closer to the point, as in ``_conflicts``."""
    units = measured.units
    row = {u.sentences[0]: k for k, u in reversed(list(enumerate(units))) if len(u.sentences) == 1}
    for point_id in {point_id for point_id, _ in found}:
        per_unit = measured.conflicts.setdefault(point_id, [None] * len(units))
        for k, unit in enumerate(units):
            if per_unit[k] is not None:
                continue
            if len(unit.sentences) == 1:
                per_unit[k] = found.get((point_id, k))
            else:
                ranked = sorted(unit.sentences, key=lambda i: -float(measured.point_sims[point_id][row[i]]))
                per_unit[k] = _pair_conflict([found.get((point_id, row[i])) for i in ranked])


LEARNED_CANDIDATES = 2  # sentences per point read by the learned detector


# How much closer (cosine) a mirrored sentence must come to a point than the sentence comes to
# any point as written. On the bank, sentences naming one thing: 0.05 flags 135 of 365 sentences
# of role-swapped model answers and 1 of 713 sentences of model answers and strong examples.
MIRROR_MARGIN = 0.05


def unit_values(params: GraderParams, measured: Measurements, point_id: str) -> np.ndarray:
    """Every unit's value for a point (``GraderParams.value``)."""
    prose = np.array([u.prose for u in measured.units])
    return params.value(prose, measured.point_sims[point_id], measured.point_lex[point_id])


def point_lex(point: RubricPoint, tokens: list[str]) -> float:
    """The lexical half of a unit's value for a point: its cue coverage, or, for a point with
    no cues (a reference answer's sentence), the share of the point's content words present."""
    if point.keywords:
        return cue_coverage(point.keywords, tokens)
    wanted = set(content_words(point.text))
    return len(wanted & set(tokens)) / len(wanted) if wanted else 0.0


def question_contrasts(question: Question) -> list[str]:
    """The things a question sets against each other: its rubric's list, or read from its wording."""
    return list(question.contrasts) or derived_contrasts(question.text)


REFERENCE_CLAIM_SIM = 0.45  # a model-answer sentence this close to its nearest point restates that point
# Claims worded freely (a model answer's or a reference answer's sentences, not a rubric point
# written to be checked: "if a row's own label feeds its encoding ...", "unless you smooth")
# count against an answer only by a reversed direction, a swapped thing or an explicit frame
# ("it is false that ..."): a negation placed elsewhere than in their wording is a guess there.
FREE_WORDING_KINDS = frozenset({"swap", "direction", "opposite", "framing"})


def model_answer_pieces(question: Question) -> list[str]:
    """The model answer's sentences and the clauses of its long ones (none without points)."""
    if not question.points or not question.model_answer:
        return []
    pieces: list[str] = []
    for sentence in split_sentences(question.model_answer):
        pieces.append(sentence)
        if len(sentence.split()) >= 12:
            pieces.extend(c for c in split_clauses(sentence) if c != sentence)
    return list(dict.fromkeys(pieces))


def model_answer_claims(question: Question, encode: Callable[[list[str]], np.ndarray]) -> dict[str, list[str]]:
    """The model answer's sentences (and clauses of its long ones), each filed under the rubric
    point it is closest to: more true phrasings of each point for the contradiction check, so a
    sentence that copies the model answer with one word reversed is read against the sentence
    it copies. Empty for a question without points or model answer."""
    points = rubric_points(question)
    pieces = model_answer_pieces(question)
    if not pieces:
        return {}
    piece_vectors = encode(pieces)
    sims = np.stack([(piece_vectors @ encode([p.text, *p.aliases]).T).max(axis=1) for p in points], axis=1)
    out: dict[str, list[str]] = {}
    for k, piece in enumerate(pieces):
        best = int(np.argmax(sims[k]))
        if sims[k, best] >= REFERENCE_CLAIM_SIM:
            out.setdefault(points[best].id, []).append(piece)
    return out


def _conflicts(
    question: Question, sentences: list[str], units: list[Unit], points: list[RubricPoint],
    point_sims: dict[str, np.ndarray], reference: dict[str, list[str]] | None = None,
) -> tuple[dict[str, list[Conflict | None]], list[tuple[int, Conflict, int]]]:
    """For each point, how each unit contradicts it (None where it does not); and the sentences
    that reverse a model-answer piece filed under no point, as (sentence, conflict, piece index
    in ``model_answer_pieces``): false, though about no point in particular.

    A unit is read against the point's own phrasing (its text or an alias) and, failing that,
    against the model answer's sentences about the point (``reference``). A sentence followed
    by one that only denies it ("That is a myth.") is read as framed; a pair contradicts when
    its sentence closer to the point does; a clause is read alone, or as its sentence when a
    frame covers the whole sentence ("It is false that ..., which ...")."""
    reference = reference or {}
    free = not question.points  # the points are a reference answer's sentences
    row = {u.sentences[0]: k for k, u in reversed(list(enumerate(units))) if len(u.sentences) == 1}
    contrasts = question_contrasts(question)
    readable = [
        framed_by_next(s) if i + 1 < len(sentences) and denies_previous(sentences[i + 1]) else s
        for i, s in enumerate(sentences)
    ]
    # Every true phrasing of the question, with the point it is about (None: a model-answer
    # piece close to no point), for reading near copies (``copy_edits``).
    phrasings = [(p.id, text) for p in points for text in (p.text, *p.aliases)]
    filed = {piece: pid for pid, pieces in reference.items() for piece in pieces}
    own = {text for _, text in phrasings}
    pieces = model_answer_pieces(question)
    phrasings += [(filed.get(piece), piece) for piece in pieces if piece not in own]
    texts = [t for _, t in phrasings]
    copies: dict[str, Copy | None] = {}

    def copy_of(text: str) -> Copy | None:
        if text not in copies:
            copies[text] = copied(text, texts, contrasts)
        return copies[text]

    unowned: list[tuple[int, Conflict, int]] = []
    for i, sentence in enumerate(readable):
        copy = copy_of(sentence)
        if copy is not None and copy.conflict is not None and phrasings[copy.index][0] is None:
            unowned.append((i, copy.conflict, pieces.index(texts[copy.index])))

    found: dict[str, list[Conflict | None]] = {}
    for point in points:
        claims = [point.text, *point.aliases]
        extra = reference.get(point.id, [])

        def check(text: str) -> Conflict | None:
            copy = copy_of(text)
            if copy is not None and copy.faithful:
                return None  # a faithful copy of a true phrasing contradicts nothing
            if copy is not None and copy.conflict is not None and phrasings[copy.index][0] == point.id:
                return copy.conflict  # a near copy's edits leave nothing to guess, whoever wrote the phrasing
            found = against(text, claims, contrasts)
            if found is not None and free and found.kind not in FREE_WORDING_KINDS:
                found = None  # a reference's own sentence, worded freely: see FREE_WORDING_KINDS
            if found is None and extra:
                found = against(text, extra, contrasts)
                found = found if found is not None and found.kind in FREE_WORDING_KINDS else None
            return found

        per_sentence = [check(s) for s in readable]
        per_unit: list[Conflict | None] = []
        for unit in units:
            first = unit.sentences[0]
            if len(unit.sentences) == 2:
                ranked = sorted(unit.sentences, key=lambda i: -float(point_sims[point.id][row[i]]))
                per_unit.append(_pair_conflict([per_sentence[i] for i in ranked]))
            elif unit.text == sentences[first]:
                per_unit.append(per_sentence[first])
            else:
                framed = read(readable[first]).framed
                per_unit.append((per_sentence[first] if framed else None) or check(unit.text))
        found[point.id] = per_unit
    return found, unowned


def _pair_conflict(conflicts: list[Conflict | None]) -> Conflict | None:
    """How a pair of sentences contradicts a point, given each sentence's reading, the one
    closer to the point first: as that one does; failing that, as the other does when it binds
    the point's part to the wrong thing. Two sentences that each name the wrong thing's part
    ("Ridge ... snaps weak weights to exactly zero. The lasso ... shrinks everything") must not
    add up to the point between them."""
    closer, other = conflicts
    if closer is not None:
        return closer
    # Not the pair's statement about the point (the closer sentence may state it rightly
    # alone), so it is never reported: the pair is only no evidence (``Conflict.borrowed``).
    return replace(other, borrowed=True) if other is not None and other.kind == "swap" else None


def _hostile_sentences(answer: str, sentences: list[str]) -> set[int]:
    """Sentences inside text that talks to the grader (an injection): a fake rubric row or JSON
    verdict naming a point must not earn that point, as the LLM engine's evidence check ensures.
    Found on the raw answer: cleaning drops the bidi and hiding characters that give text away."""
    passages = hostile_passages(answer)
    return {i for i, s in enumerate(sentences) if any(normalise(s) in p for p in passages)}


def decide(
    question: Question, measured: Measurements, params: GraderParams, focus: Sequence[str] | None = None
) -> tuple[list[PointVerdict], list[MisconceptionHit]]:
    """Verdicts and misconception hits from measurements (pure and cheap).

    A unit that contradicts a point is never its evidence. When the answer's strongest statement
    about a point contradicts it, that is a stated misconception (with the point as the
    correction), checked on every point even when a follow-up is graded on some of them only."""
    every = rubric_points(question)
    points = [p for p in every if focus is None or p.id in focus]
    if not measured.units:
        return [PointVerdict(point_id=p.id, verdict=Verdict.missed) for p in points], []
    hits, wrong = _misconceptions(question, measured, params)
    raw = {p.id: unit_values(params, measured, p.id) for p in every}
    contradicted = _contradictions(every, measured, params, raw, hits)
    hits = hits + contradicted + _reversed_pieces(question, measured, hits + contradicted)
    denied = {hit.point_id for hit in contradicted}
    wrong |= {i for hit in contradicted for i in _sentences_of(measured, hit.evidence)}
    wrong |= _false_sentences(measured)
    blocked = np.array([bool((wrong | measured.hostile).intersection(u.sentences)) for u in measured.units])
    verdicts = []
    for point in points:
        sims, lex = measured.point_sims[point.id], measured.point_lex[point.id]
        against_point = np.array([c is not None for c in measured.conflicts.get(point.id, [None] * len(measured.units))])
        # A bare keyword list states no idea: its similarity to the point counts as little as its cues.
        combined = np.where(blocked | against_point, -1.0, raw[point.id])
        best = int(np.argmax(combined))
        value = float(combined[best])
        verdict = Verdict.covered if value >= params.covered else Verdict.partial if value >= params.partial else Verdict.missed
        if verdict == Verdict.partial and measured.learned_states.get((point.id, best), 0.0) >= params.states_min:
            verdict = Verdict.covered  # worded its own way, but read as stating the point
        if verdict == Verdict.partial and point.id in denied:
            verdict = Verdict.missed  # the answer states the opposite; a vague echo elsewhere earns nothing
        evidence = " ".join(measured.sentences[i] for i in measured.units[best].sentences) if verdict != Verdict.missed else None
        verdicts.append(
            PointVerdict(
                point_id=point.id,
                verdict=verdict,
                evidence=evidence,
                confidence=round(max(0.0, value), 3),
                reasoning=f"similarity {float(sims[best]):.2f}, keyword cues {float(lex[best]):.2f}",
            )
        )
    return verdicts, hits


def _false_sentences(measured: Measurements) -> set[int]:
    """Sentences that are false as a whole, so no point can take them as evidence: near copies
    of a true phrasing with a word reversed (``copy_edits``: nothing guessed). Swaps the rules
    read from free wording are not enough: on the bank's strong answers they mark correct
    sentences ("Precision is TP over TP plus FP") as the other thing's part often enough to
    cost held-out credit (91.5% -> 88.3% covered)."""
    false: set[int] = {i for i, _, _ in measured.false_copies}
    for per_unit in measured.conflicts.values():
        for k, unit in enumerate(measured.units):
            found = per_unit[k]
            if found is not None and found.copied and len(unit.sentences) == 1:
                false.add(unit.sentences[0])
    return false


def _closer_sentence(measured: Measurements, unit: Unit, point_id: str) -> int:
    """The sentence of a unit (one sentence, or a pair) that is closer to the point: the quote a
    contradiction is reported with."""
    if len(unit.sentences) == 1:
        return unit.sentences[0]
    row = {u.sentences[0]: k for k, u in enumerate(measured.units) if len(u.sentences) == 1 and u.text == measured.sentences[u.sentences[0]]}
    return max(unit.sentences, key=lambda i: float(measured.point_sims[point_id][row[i]]) if i in row else -1.0)


def _sentences_of(measured: Measurements, evidence: str) -> set[int]:
    return {i for i, s in enumerate(measured.sentences) if s in evidence}


def _contradictions(
    points: list[RubricPoint], measured: Measurements, params: GraderParams, raw: dict[str, np.ndarray],
    named: list[MisconceptionHit],
) -> list[MisconceptionHit]:
    """Points the answer states the opposite of: the unit that contradicts a point is the
    answer's strongest statement about it (no agreeing unit says it better), it is about that
    point (its value reaches ``contradiction_min``) and about no other point clearly more.
    A near copy of the point's own phrasing with a word reversed (``copy_edits``) needs none of
    these: it is about the point by construction, and a true sentence elsewhere does not undo a
    false one. A sentence already reported as a named misconception is not reported twice."""
    hits: list[MisconceptionHit] = []
    named_sentences = {i for hit in named for i in _sentences_of(measured, hit.evidence)}
    best_any = np.max(np.stack([raw[p.id] for p in points]), axis=0)
    for point in points:
        conflicts = measured.conflicts.get(point.id)
        if not conflicts:
            continue
        values = raw[point.id]
        against_point = np.array([c is not None and not c.borrowed for c in conflicts])
        if not against_point.any():
            continue
        copied = np.array([c is not None and c.copied and not c.borrowed for c in conflicts])
        k = int(np.argmax(np.where(copied if copied.any() else against_point, values, -1.0)))
        agreeing = float(np.max(np.where([c is None for c in conflicts], values, -1.0)))
        unit = measured.units[k]
        unsure = not copied[k] and (
            values[k] < params.contradiction_min
            or values[k] <= agreeing
            or values[k] < best_any[k] - params.contradiction_margin
        )
        if unsure or named_sentences.intersection(unit.sentences) or measured.hostile.intersection(unit.sentences):
            continue
        found = conflicts[k]
        assert found is not None
        hits.append(
            MisconceptionHit(
                misconception_id=f"contradicts-{point.id}",
                evidence=measured.sentences[_closer_sentence(measured, unit, point.id)],
                correction=f"In fact: {point.text}",
                point_id=point.id,
                kind=found.kind,
            )
        )
    return hits


def _reversed_pieces(question: Question, measured: Measurements, reported: list[MisconceptionHit]) -> list[MisconceptionHit]:
    """Sentences that copy a model-answer sentence (or clause) about no point in particular with
    a word reversed: still a false statement the candidate should hear about, corrected by the
    sentence it reverses. One report per sentence; none for a sentence already reported."""
    said = set().union(*(_sentences_of(measured, hit.evidence) for hit in reported))
    pieces = model_answer_pieces(question)
    hits: list[MisconceptionHit] = []
    for i, found, piece in measured.false_copies:
        if i in said or i in measured.hostile:
            continue
        said.add(i)
        hits.append(
            MisconceptionHit(
                misconception_id=f"contradicts-model-answer-{piece + 1}",
                evidence=measured.sentences[i],
                correction=f"In fact: {pieces[piece]}",
                kind=found.kind,
            )
        )
    return hits


def _misconceptions(
    question: Question, measured: Measurements, params: GraderParams
) -> tuple[list[MisconceptionHit], set[int]]:
    """Known wrong beliefs stated in the answer, and the sentences that state them.

    A unit states a misconception when it carries the misconception's cue words and is
    semantically close to the claim (or, without cue words, very close), and is closer to the
    wrong claim than to any rubric point.
    """
    hits: list[MisconceptionHit] = []
    wrong: set[int] = set()
    if measured.claim_sims is None or measured.claim_cues is None or measured.best_point_sims is None:
        return hits, wrong
    sims, cues = measured.claim_sims, measured.claim_cues
    eligible = ((cues & (sims >= params.misconception_sim_with_cue)) | (sims >= params.misconception_sim)) & (
        sims >= measured.best_point_sims[:, None] + params.misconception_margin
    )
    if measured.claim_denied is not None:
        eligible &= ~measured.claim_denied  # "word2vec does not adjust the vector" denies the misconception
    for j, misconception in enumerate(question.misconceptions):
        rows = np.flatnonzero(eligible[:, j])
        if rows.size == 0:
            continue
        row = int(rows[np.argmax(sims[rows, j])])
        unit = measured.units[measured.single[row]]
        hits.append(MisconceptionHit(misconception_id=misconception.id, evidence=unit.text, correction=misconception.correction))
        wrong.update(unit.sentences)
    return hits, wrong
