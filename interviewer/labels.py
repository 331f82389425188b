"""What scores and verdicts are called and how they are marked: one definition for every channel.

The chat, the terminal, the exports and the HTML report must agree on what a "strong" answer is
and on how a covered point looks; each renderer picks its own colours or markup from these.
"""

from __future__ import annotations

from typing import Literal

STRONG_SCORE = 7.5
"""From here an answer is strong: the next question gets harder and it shows green."""
WEAK_SCORE = 4.0
"""Under this an answer is weak: the next question gets easier and it shows red."""

Band = Literal["high", "mid", "low"]


def score_band(score: float) -> Band:
    """The band of a 0-10 score, the same in every channel."""
    return "high" if score >= STRONG_SCORE else "mid" if score >= WEAK_SCORE else "low"


TEXT_MARK = {"covered": "[x]", "partial": "[~]", "missed": "[ ]"}
"""Verdict marks in plain text (terminal, Markdown checklists)."""
EMOJI_MARK = {"covered": "✅", "partial": "🟡", "missed": "❌"}
"""Verdict marks where emoji render (Discord, plain-text exports)."""
SYMBOL_MARK = {"covered": "✓", "partial": "◐", "missed": "✗"}
"""Verdict marks set in type (the HTML report)."""
BAND_COLOUR = {"high": "green", "mid": "yellow", "low": "red"}
"""Colour names of the bands and verdicts (covered is high, partial mid, missed low)."""
VERDICT_BAND: dict[str, Band] = {"covered": "high", "partial": "mid", "missed": "low"}
