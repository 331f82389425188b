"""How feedback words are put together, the same in every channel."""

from __future__ import annotations

from interviewer.interview.feedback import quoted_claim


def test_a_quoted_misconception_closes_with_one_full_stop() -> None:
    assert quoted_claim("Variance is systematic error.") == "“Variance is systematic error.”"
    assert quoted_claim("  variance is systematic error ") == "“variance is systematic error”."
    assert quoted_claim("Is it biased?") == "“Is it biased?”"
