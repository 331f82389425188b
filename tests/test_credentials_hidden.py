"""Credentials inside a model endpoint's URL never reach a screen or a log: the banner that names
the engine and the model client's failure log show ``***`` in their place."""

from __future__ import annotations

import pytest

from interviewer.config import Settings
from interviewer.grading.llm.client import _scrub
from interviewer.safe_text import hide_credentials

ENDPOINT = "http://alice:S3CRET-pass@127.0.0.1:9/v1?api_key=abc123DEF&mode=x"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (ENDPOINT, "http://***@127.0.0.1:9/v1?api_key=***&mode=x"),
        ("https://token@example.test/v1", "https://***@example.test/v1"),
        ("https://example.test/v1?token=t0k&x=1#frag", "https://example.test/v1?token=***&x=1#frag"),
        ("https://example.test/v1", "https://example.test/v1"),  # nothing secret: unchanged
        ("mail me at bob@example.test", "mail me at bob@example.test"),  # not a URL
    ],
)
def test_hide_credentials(text: str, shown: str) -> None:
    assert hide_credentials(text) == shown


def test_the_engine_banner_hides_the_endpoints_credentials() -> None:
    label = Settings(model="openai/stub", api_base=ENDPOINT).engine_label
    assert "S3CRET" not in label and "abc123DEF" not in label and "alice" not in label
    assert "openai/stub at http://***@127.0.0.1:9/v1" in label


def test_a_failure_quoting_the_endpoint_is_logged_without_its_credentials() -> None:
    logged = _scrub(f"Connection refused: {ENDPOINT}", None)  # what the client logs of a failed call
    assert "S3CRET" not in logged and "abc123DEF" not in logged
    assert logged.startswith("Connection refused: http://***@127.0.0.1:9/v1")
