"""Scores and verdicts are named and marked in one place (``interviewer/labels.py``): the chat,
the terminal, the exports and the HTML report agree on what a strong answer is."""

from __future__ import annotations

import discord
import pytest

from interviewer import labels
from interviewer.interview import policy
from interviewer.review import report_html
from interviewer.review.charts import bar_chart
from interviewer_adapters.discord_render import _colour


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
    assert policy.next_difficulty(2, labels.STRONG_SCORE) == 3
    assert policy.next_difficulty(2, labels.STRONG_SCORE - 0.1) == 2
    assert policy.next_difficulty(2, labels.WEAK_SCORE - 0.1) == 1


def test_each_verdict_has_a_mark_in_every_style() -> None:
    verdicts = {"covered", "partial", "missed"}
    for marks in (labels.TEXT_MARK, labels.EMOJI_MARK, labels.SYMBOL_MARK, labels.VERDICT_BAND):
        assert set(marks) == verdicts
    assert len(set(labels.TEXT_MARK.values())) == len(set(labels.EMOJI_MARK.values())) == len(set(labels.SYMBOL_MARK.values())) == 3
    assert labels.BAND_COLOUR[labels.VERDICT_BAND["covered"]] == labels.BAND_COLOUR[labels.score_band(10.0)]


@pytest.mark.parametrize(
    ("verdicts", "band"),
    [
        ({"alpha-beta": "missed", "gamma-delta": "missed", "epsilon-zeta": "missed"}, "low"),    # 0.0
        ({"alpha-beta": "covered", "gamma-delta": "partial", "epsilon-zeta": "missed"}, "mid"),  # 6.7
        ({"alpha-beta": "covered", "gamma-delta": "covered", "epsilon-zeta": "missed"}, "high"),  # 8.3
    ],
)
async def test_one_grade_shows_in_the_same_band_in_every_format(verdicts: dict, band: str, store) -> None:
    """One stored grade, rendered by the terminal, Discord and the HTML report: the band each
    reader sees (panel border, embed colour, badge class) is the band of labels.score_band."""
    import io
    import re

    from rich.console import Console

    from interviewer.domain import SessionOptions, Turn
    from interviewer.interview.records import load_records
    from interviewer.interview.session import Interviewer
    from interviewer.review.report_html import render_html
    from interviewer.rubrics import RubricBank
    from interviewer.testing import ScriptedEngine
    from interviewer_adapters.discord_render import render as discord_render
    from interviewer_adapters.repl import ReplRenderer

    from conftest import FIXTURES

    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    interviewer = Interviewer(bank, ScriptedEngine(script=[verdicts]), store)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one"], max_follow_ups=0))
    reply = await interviewer.handle(Turn(session_key=session.session_key, user_key="u", text="an answer about alpha"))
    [feedback] = [m for m in reply.messages if m.kind == "feedback"]
    score = feedback.data["score"]
    assert labels.score_band(score) == band

    terminal = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=100)
    ReplRenderer(terminal).render(reply)
    panel_colour = {"green": "32", "yellow": "33", "red": "31"}[labels.BAND_COLOUR[band]]
    assert re.search(rf"\x1b\[{panel_colour}m╭", terminal.file.getvalue())  # the scorecard's border

    embeds = [embed for out in discord_render(reply) for embed in out.embeds if embed.title and "Score" in embed.title]
    assert embeds and embeds[0].colour == _colour(score)
    assert embeds[0].colour == {"high": discord.Colour.green(), "mid": discord.Colour.gold(), "low": discord.Colour.red()}[band]

    html = render_html(load_records(store, bank, user="u"), user="u")
    assert re.search(rf'class="badge {band} score">{score:.1f} / 10', html)
