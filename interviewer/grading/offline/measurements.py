"""What the offline grader measures of one answer, computed once and read by every decision.

Its own module so that the reference-answer model can read the measurements without importing
the engine that makes them (the engine imports the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from interviewer.grading.contradiction import Conflict

EMBEDDING_DIM = 384


@dataclass
class Unit:
    text: str
    sentences: tuple[int, ...]
    tokens: list[str]
    prose: float  # 1.0 for ordinary prose, lower for bare keyword lists


@dataclass
class Measurements:
    """Everything the verdicts depend on, computed once per answer."""

    sentences: list[str]
    units: list[Unit]
    point_sims: dict[str, np.ndarray] = field(default_factory=dict)  # per unit
    point_lex: dict[str, np.ndarray] = field(default_factory=dict)  # per unit
    single: list[int] = field(default_factory=list)  # units that are one sentence or clause
    claim_sims: np.ndarray | None = None  # single units x misconceptions
    claim_cues: np.ndarray | None = None  # same shape, bool
    best_point_sims: np.ndarray | None = None  # single units: max similarity to any point
    unit_vectors: np.ndarray | None = None  # one normalised row per unit
    notes: list[str] = field(default_factory=list)
    hostile: set[int] = field(default_factory=set)  # sentences addressed to the grader: never evidence
    conflicts: dict[str, list[Conflict | None]] = field(default_factory=dict)  # per point, per unit
    claim_denied: np.ndarray | None = None  # single units x misconceptions: the unit denies the claim
    # sentences that reverse a model-answer piece filed under no point: (index, conflict, piece)
    false_copies: list[tuple[int, Conflict, int]] = field(default_factory=list)
    # the learned detector's probability that a unit states a point, for the units it read: (point id, unit)
    learned_states: dict[tuple[str, int], float] = field(default_factory=dict)

    def sentence_vectors(self) -> np.ndarray:
        """The vector of each whole sentence (its first unit), in sentence order."""
        if self.unit_vectors is None:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        rows = {u.sentences[0]: k for k, u in reversed(list(enumerate(self.units))) if len(u.sentences) == 1}
        return self.unit_vectors[[rows[i] for i in sorted(rows)]]
