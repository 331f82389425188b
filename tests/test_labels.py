"""Scores and verdicts are named and marked in one place (``interviewer/labels.py``): the chat,
the terminal, the exports and the HTML report agree on what a strong answer is."""

from __future__ import annotations

import discord
import pytest

from interviewer_adapters.discord_render import _colour
from interviewer import labels, report_html, selection
from interviewer.charts import bar_chart


@pytest.mark.parametrize(
    ("score", "band"), [(0.0, "low"), (3.9, "low"), (4.0, "mid"), (7.2, "mid"), (7.4, "mid"), (7.5, "high"), (10.0, "high")]
)
def test_every_channel_puts_a_score_in_the_same_band(score: float, band: str) -> None:
    assert labels.score_band(score) == band
    assert report_html.band(score) == band  # the report once called 7.0-7.4 high while the chat said mid
    expected = {"high": discord.Colour.green(), "mid": discord.Colour.gold(), "low": discord.Colour.red()}[band]
    assert _colour(score) == expected
    assert f'class="bar {band}"' in bar_chart([("topic", score)])  # the chart's bar colour too
    assert f'class="bar {band}"' in bar_chart([("topic", score / 2)], max_value=5)


def test_the_next_question_adapts_on_the_same_bands() -> None:
    assert selection.next_difficulty(2, labels.STRONG_SCORE) == 3
    assert selection.next_difficulty(2, labels.STRONG_SCORE - 0.1) == 2
    assert selection.next_difficulty(2, labels.WEAK_SCORE - 0.1) == 1


def test_each_verdict_has_a_mark_in_every_style() -> None:
    verdicts = {"covered", "partial", "missed"}
    for marks in (labels.TEXT_MARK, labels.EMOJI_MARK, labels.SYMBOL_MARK, labels.VERDICT_BAND):
        assert set(marks) == verdicts
    assert len(set(labels.TEXT_MARK.values())) == len(set(labels.EMOJI_MARK.values())) == len(set(labels.SYMBOL_MARK.values())) == 3
    assert labels.BAND_COLOUR[labels.VERDICT_BAND["covered"]] == labels.BAND_COLOUR[labels.score_band(10.0)]
