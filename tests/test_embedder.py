"""The embedder: one pass gives sentence and word-piece vectors; another encoder can be weighed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interviewer.embedder import Embedder, EmbedderError, shared_embedder


def test_sentence_and_piece_vectors_come_from_one_pass_and_agree_with_encode() -> None:
    embedder = shared_embedder()
    [tokens] = embedder.encode_tokens(["Dropout switches off random units."])
    assert np.allclose(tokens.sentence, embedder.encode(["Dropout switches off random units."])[0], atol=1e-5)
    assert "[CLS]" not in tokens.pieces and "[SEP]" not in tokens.pieces
    assert tokens.vectors.shape == (len(tokens.pieces), 384)
    assert np.allclose(np.linalg.norm(tokens.vectors, axis=1), 1.0, atol=1e-5)


def test_a_candidate_encoder_that_cannot_load_is_named_in_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EmbedderError, match="no-such-model"):
        Embedder(missing).encode(["anything"])
