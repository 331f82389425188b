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


def test_the_torch_thread_count_comes_from_the_environment(monkeypatch) -> None:
    from interviewer.embedder import torch_threads

    for value, expected in (("1", 1), ("4", 4), ("0", 0), ("-3", 0), ("many", 0)):
        monkeypatch.setenv("INTERVIEWER_TORCH_THREADS", value)
        assert torch_threads() == expected
    monkeypatch.delenv("INTERVIEWER_TORCH_THREADS")
    assert torch_threads() == 0                                              # torch's own default: every core


def test_serving_defaults_to_one_torch_thread_and_keeps_a_choice(monkeypatch, isolated_data_dir) -> None:
    import os

    from interviewer import plugins

    monkeypatch.setattr("interviewer.app.build_app", lambda settings: type("App", (), {"warm_up_server": lambda self: None})())
    monkeypatch.delenv("INTERVIEWER_TORCH_THREADS", raising=False)
    plugins.serving()
    assert os.environ["INTERVIEWER_TORCH_THREADS"] == "1"
    monkeypatch.setenv("INTERVIEWER_TORCH_THREADS", "2")
    plugins.serving()
    assert os.environ["INTERVIEWER_TORCH_THREADS"] == "2"


def test_the_packaged_vectors_cover_the_bank_and_match_the_model() -> None:
    """Every rubric text of the packaged bank is embedded ahead; stale vectors would grade with
    another model's view of a text, so a sample is checked against a fresh encode."""
    import random

    from interviewer.embedder import packaged_vectors, text_key
    from interviewer.grading.offline.engine import rubric_texts
    from interviewer.rubrics import RubricBank

    stored = packaged_vectors()
    texts = list(dict.fromkeys(t for q in RubricBank.load().questions.values() for t in rubric_texts(q)))
    missing = [t for t in texts if text_key(t) not in stored]
    assert missing == [], f"{len(missing)} rubric texts have no packaged vector: run bench/build_bank_vectors.py ({missing[:2]})"
    sample = random.Random(3).sample(texts, 24)
    fresh = shared_embedder().encode(sample)
    for text, vector in zip(sample, fresh):
        assert float(stored[text_key(text)] @ vector) > 0.999, text


def test_cached_encodes_use_the_packaged_vectors_and_embed_only_the_rest(monkeypatch) -> None:
    from interviewer.embedder import packaged_vectors
    from interviewer.rubrics import RubricBank

    question = next(iter(RubricBank.load().questions.values()))
    embedder = Embedder()
    encoded: list[str] = []
    monkeypatch.setattr(embedder, "encode", lambda texts: (encoded.extend(texts), np.ones((len(texts), 384), np.float32))[1])
    vectors = embedder.encode_cached([question.points[0].text, "a text no rubric has"])
    assert encoded == ["a text no rubric has"] and vectors.shape == (2, 384)
    assert len(packaged_vectors()) > 3000


def test_texts_embedded_ahead_are_served_without_running_the_model_again(monkeypatch) -> None:
    embedder = Embedder()
    texts = ["Gradient descent follows the negative gradient.", "momentum", "A learning rate too high diverges."]
    plain = embedder.encode(texts)
    embedder.embed_ahead(texts, token_texts=[texts[0]])
    runs: list[int] = []
    forward, forward_tokens = embedder._forward, embedder._forward_tokens
    monkeypatch.setattr(embedder, "_forward", lambda batch: runs.append(len(batch)) or forward(batch))
    monkeypatch.setattr(embedder, "_forward_tokens", lambda batch: runs.append(len(batch)) or forward_tokens(batch))
    assert np.allclose(embedder.encode(texts), plain, atol=1e-5) and runs == []
    assert np.allclose(embedder.encode_tokens([texts[0]])[0].sentence, plain[0], atol=1e-5) and runs == []
    mixed = embedder.encode([texts[1], "a text nobody embedded ahead"])  # only what is missing runs
    assert runs == [1] and np.allclose(mixed[0], plain[1], atol=1e-5)
