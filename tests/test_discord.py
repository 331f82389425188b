"""The Discord adapter with spec'd mocks of discord.py objects: command callbacks, thread
messages and button presses driven through the real core with a scripted engine."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest

from discord_helpers import dm_channel, interaction, member, message, sent_texts, text_channel, thread
from interviewer_adapters.discord import CONTROL, ControlButton, DiscordChannel, interview_commands, session_key
from interviewer_adapters.discord_server import InterviewBot
from interviewer_adapters.discord_render import (
    CONTENT_LIMIT, DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE, FIELD_VALUE_LIMIT, FIELDS_PER_EMBED, render,
)
from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"
BOT = member(999, "interviewer")


@pytest.fixture
def rig(store):
    engine = ScriptedEngine(rule=keyword_rule)
    interviewer = Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, store)
    channel = DiscordChannel(interviewer)
    return channel, interview_commands(channel), engine, store


def command(group, name: str):
    return group.get_command(name).callback


async def started(rig, owner=None, **options):
    channel, group, _, store = rig
    owner = owner or member(name="ada")
    place = thread()
    event = interaction(owner, text_channel(place))
    await command(group, "start")(event, **({"topic": "tiny", "questions": 1} | options))
    return owner, place, event


async def test_a_full_interview_in_a_private_thread(rig) -> None:
    channel, group, engine, store = rig
    owner, place, event = await started(rig)
    event.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    event.channel.create_thread.assert_awaited_once_with(
        name="Interview · ada", type=discord.ChannelType.private_thread, invitable=False, auto_archive_duration=1440
    )
    place.add_user.assert_awaited_once_with(owner)
    event.followup.send.assert_awaited_once_with(f"Your interview is in <#{place.id}>. Answer there.", ephemeral=True)
    [first] = place.send.await_args_list
    assert first.kwargs["content"].startswith("Mock interview: 1 question on Tiny topic.")
    assert first.kwargs["content"].endswith("-# Question 1/1 · Tiny topic · difficulty 2\n**What is omega?**")
    view = first.kwargs["view"]
    session = store.active_session(session_key(place.id))
    [asked] = [t.seq for t in store.turns(session.id) if t.kind == "question"]
    assert [b.custom_id for b in view.children] == [f"interview:{a}:{session.id}:{asked}" for a in ("hint", "skip", "end")]
    assert [b.item.label for b in view.children] == ["Hint", "Skip", "End"]

    await channel.on_message(message(owner, place, "omega is the end"), BOT)
    assert sent_texts(place)[1] == "💬 Thanks, that's a start. Which letter is omega?"
    press = interaction(owner, place)
    await channel.on_button(press, "hint", session.id)
    press.response.defer.assert_awaited_once_with()
    assert sent_texts(place)[2] == "💡 Hint: Last."
    await channel.on_message(message(owner, place, "omega is the last letter, greek"), BOT)
    feedback, summary = place.send.await_args_list[3:]
    [card] = feedback.kwargs["embeds"]
    assert card.title == "Score 10.0/10" and card.colour == discord.Colour.green()
    assert [f.name for f in card.fields][:3] == ["✅ Omega is the end.", "✅ Omega is the last letter.", "✅ Omega is Greek."]
    assert card.fields[0].value == "> omega is the end"
    assert summary.kwargs["embeds"][0].title == "Interview summary"
    assert "view" not in summary.kwargs                                   # no buttons once it is over
    assert store.get_session(session.id).status == "finished"
    assert [c[0] for c in engine.calls] == ["tiny-two", "tiny-two"]


async def test_buttons_and_messages_are_for_the_owner_only(rig) -> None:
    channel, group, engine, store = rig
    owner, place, _ = await started(rig)
    session = store.active_session(session_key(place.id))
    stranger = member(name="eve")
    press = interaction(stranger, place)
    await channel.on_button(press, "skip", session.id)
    press.response.defer.assert_awaited_once()
    press.followup.send.assert_awaited_once_with(f"This is <@{owner.id}>'s interview. Start your own with `/interview start`.", ephemeral=True)
    said = message(stranger, place, "omega is the end")
    await channel.on_message(said, BOT)
    said.reply.assert_awaited_once()
    assert said.reply.await_args.args == (f"This is <@{owner.id}>'s interview. Start your own with `/interview start`.",)
    assert said.reply.await_args.kwargs["mention_author"] is False and said.reply.await_args.kwargs["delete_after"] == 15
    ended = interaction(stranger, place)
    await command(group, "end")(ended)
    ended.followup.send.assert_awaited_once()
    assert engine.calls == [] and len(place.send.await_args_list) == 1
    assert [t.kind for t in store.turns(session.id)] == ["question"]


async def test_bots_and_other_channels_are_ignored(rig) -> None:
    channel, _, engine, _ = rig
    owner, place, _ = await started(rig)
    robot = member(name="robot")
    robot.bot = True
    await channel.on_message(message(robot, place, "omega"), BOT)
    await channel.on_message(message(BOT, place, "omega"), BOT)
    await channel.on_message(message(owner, thread(), "omega is the end"), BOT)   # not an interview thread
    assert engine.calls == [] and len(place.send.await_args_list) == 1


async def test_without_the_message_content_intent_a_mention_still_works(rig) -> None:
    channel, _, engine, _ = rig
    owner, place, _ = await started(rig)
    await channel.on_message(message(owner, place, ""), BOT)            # Discord hid the text
    assert "Message Content intent" in sent_texts(place)[1]
    assert engine.calls == []
    await channel.on_message(message(owner, place, f"<@{BOT.id}> omega is the end, the last, greek"), BOT)
    assert engine.calls[0][1] == "omega is the end, the last, greek"


async def test_a_dm_is_used_when_no_thread_can_be_opened(rig) -> None:
    channel, group, _, store = rig
    owner = member(name="ada")
    dm = dm_channel()
    owner.create_dm.side_effect = None
    owner.create_dm.return_value = dm
    event = interaction(owner, text_channel(threads_allowed=False))
    await command(group, "start")(event, topic="tiny", questions=1)
    owner.create_dm.assert_awaited_once()
    assert "What is omega?" in sent_texts(dm)[0]
    [summary] = store.list_sessions(f"discord:{owner.id}")
    assert summary.session.session_key == session_key(dm.id)
    event.followup.send.assert_awaited_once_with("Your interview is in our direct messages. Answer there.", ephemeral=True)
    await channel.on_message(message(owner, dm, "omega is the end, the last, greek"), BOT)
    assert sent_texts(dm)[1].startswith("Score 10.0/10")


async def test_the_interaction_is_deferred_before_a_slow_model_call(rig) -> None:
    channel, group, engine, store = rig
    order: list[str] = []

    async def slow_coach(results: str):
        order.append("model called")
        await asyncio.sleep(0.5)
        return None

    engine.coach = slow_coach                                             # the end of a session calls the model
    owner, place, _ = await started(rig)
    await channel.on_message(message(owner, place, "omega is the end"), BOT)
    session = store.active_session(session_key(place.id))
    press = interaction(owner, place)
    press.response.defer.side_effect = lambda *a, **k: order.append("deferred")
    await channel.on_button(press, "end", session.id)
    assert order == ["deferred", "model called"]


async def test_two_quick_messages_are_handled_in_order(rig) -> None:
    channel, group, engine, store = rig
    engine.delay = 0.2
    owner, place, _ = await started(rig, questions=2)
    await asyncio.gather(
        channel.on_message(message(owner, place, "omega is the end, the last, greek"), BOT),
        channel.on_message(message(owner, place, "hint"), BOT),
    )
    texts = sent_texts(place)
    assert texts[1].startswith("Score 10.0/10")                            # the grade of the first message first,
    assert texts[-1].startswith("💡 ")                                     # then the reply to the second
    assert len(engine.calls) == 1


async def test_history_and_show_are_ephemeral_and_private(rig) -> None:
    channel, group, _, store = rig
    owner, place, _ = await started(rig)
    await channel.on_message(message(owner, place, "omega is the end, the last letter, greek"), BOT)
    session = store.list_sessions(f"discord:{owner.id}")[0].session
    asked = interaction(owner, place)
    await command(group, "history")(asked)
    embed = asked.followup.send.await_args.kwargs["embed"]
    assert asked.followup.send.await_args.kwargs["ephemeral"] is True
    assert f"`{session.id[:8]}`" in embed.description and "**10.0/10**" in embed.description
    shown = interaction(owner, place)
    await command(group, "show")(shown, id=session.id[:8])
    assert all(c.kwargs["ephemeral"] for c in shown.followup.send.await_args_list)
    assert any("Interview summary" in (c.kwargs["content"] or "") for c in shown.followup.send.await_args_list)
    snoop = interaction(member(name="eve"), place)
    await command(group, "show")(snoop, id=session.id[:8])
    snoop.followup.send.assert_awaited_once_with(f"You have no interview `{session.id[:8]}`. See `/interview history`.", ephemeral=True)


async def test_a_failing_turn_is_reported_in_the_thread(rig) -> None:
    channel, _, engine, store = rig
    owner, place, _ = await started(rig)
    engine.fail_times = 1
    await channel.on_message(message(owner, place, "omega is the end"), BOT)
    assert "Your answer is saved" in sent_texts(place)[1]
    session = store.active_session(session_key(place.id))
    assert [t.kind for t in store.turns(session.id)] == ["question", "answer"]


async def test_a_button_pressed_under_an_earlier_prompt_does_not_act_on_the_current_one(rig) -> None:
    channel, _, _, store = rig
    owner, place, _ = await started(rig)
    session = store.active_session(session_key(place.id))
    skip = place.send.await_args_list[0].kwargs["view"].children[1]              # Skip, on the question's message
    press = interaction(owner, place)
    stale = await ControlButton.from_custom_id(press, skip.item, CONTROL.fullmatch(skip.custom_id))
    await channel.on_message(message(owner, place, "omega is the end"), BOT)   # a follow-up is asked now
    await channel.on_button(press, stale.action, stale.session_id, stale.prompt_seq)
    assert "moved on" in sent_texts(place)[2]
    assert [t.kind for t in store.turns(session.id)].count("command") == 0        # nothing was skipped


async def test_a_turn_the_store_could_not_write_is_never_called_saved(rig, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    channel, _, _, store = rig
    owner, place, _ = await started(rig)

    def full(*_args, **_kwargs):
        raise OperationalError("INSERT INTO turns ...", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store, "append_turn", full)
    await channel.on_message(message(owner, place, "omega is the end"), BOT)
    said = sent_texts(place)[1]
    assert "may not have been saved" in said and "is saved" not in said and "INSERT" not in said


def test_a_5000_character_feedback_is_split_within_discord_limits() -> None:
    reply = Reply(session_id="a" * 32, buttons=["hint", "skip", "end"])
    points = [{"id": f"p{n}", "text": f"Point {n}", "verdict": "partial", "evidence": "e" * 1500} for n in range(30)]
    reply.add("follow_up", "Why? " + "w" * 5000)
    reply.add("feedback", "f" * 5000, score=4.0, points=points, misconceptions=[], notes=["n" * 300], model_answer="m " * 2500)
    messages = render(reply)
    assert all(len(m.content or "") <= CONTENT_LIMIT for m in messages)
    assert sum(len(m.content or "") for m in messages) >= 5000               # nothing was cut off
    for m in messages:
        assert len(m.embeds) <= EMBEDS_PER_MESSAGE
        for embed in m.embeds:
            assert len(embed) <= EMBED_TOTAL_LIMIT and len(embed.fields) <= FIELDS_PER_EMBED
            assert len(embed.description or "") <= DESCRIPTION_LIMIT
            assert all(len(f.value) <= FIELD_VALUE_LIMIT for f in embed.fields)
    evidence = sum(f.value.count("e") for m in messages for e in m.embeds for f in e.fields if f.name.startswith("🟡"))
    assert evidence >= 30 * 1500
    assert [m.controls for m in messages].count(True) == 1 and messages[-1].controls


def test_the_command_tree_has_the_interview_group() -> None:
    bot = InterviewBot(DiscordChannel(Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), ScriptedEngine(), None)))  # type: ignore[arg-type]
    group = bot.tree.get_command("interview")
    assert sorted(c.name for c in group.commands) == ["end", "history", "show", "start"]
    assert [p.name for p in group.get_command("start").parameters] == ["topic", "questions"]
    assert bot.intents.message_content and not bot.intents.members


def test_serve_discord_without_a_token_says_so() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    result = subprocess.run([sys.executable, "-m", "interviewer", "serve", "discord"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "DISCORD_TOKEN is not set" in result.stderr and "Traceback" not in result.stderr


def test_the_adapter_stays_thin() -> None:
    source = (Path(__file__).parents[1] / "adapters" / "discord.py").read_text(encoding="utf-8")
    for forbidden in ("interviewer.grading", "interviewer.grading.scoring", "interviewer.interview.state", "interviewer.interview.feedback", "Verdict"):
        assert forbidden not in source


async def test_a_hostile_id_in_show_cannot_break_markup_or_ping(rig) -> None:
    _, group, _, _ = rig
    asked = interaction(member(name="eve"), text_channel(thread()))
    await command(group, "show")(asked, id="`@everyone` <@123>")
    text = asked.followup.send.await_args.args[0]
    assert "@" not in text and text.count("`") == 4  # the id is one clean code span


# --- defects found on real payloads (issue: channels as plugins) ---------------------------------


NO_PINGS = {"parse": []}  # AllowedMentions.none(): nobody, no role, not everyone


def assert_within_discord_limits(messages) -> None:
    """Every documented limit of one Discord message, the 6,000 characters over all embeds too."""
    for m in messages:
        assert len(m.content or "") <= CONTENT_LIMIT
        assert len(m.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(embed) for embed in m.embeds) <= EMBED_TOTAL_LIMIT, [len(e) for e in m.embeds]
        for embed in m.embeds:
            assert len(embed.title or "") <= 256 and len(embed.description or "") <= DESCRIPTION_LIMIT
            assert len(embed.fields) <= FIELDS_PER_EMBED
            assert all(len(f.name) <= 256 and len(f.value) <= FIELD_VALUE_LIMIT for f in embed.fields)


def test_a_long_summary_and_a_long_scorecard_stay_under_6000_characters_per_message() -> None:
    """A 30-question summary came to 6,121 characters in one message and a 12-point scorecard
    to 18,703 in four embeds: Discord refuses such a message and the candidate never sees it."""
    reply = Reply(session_id="a" * 32)
    rows = [{"question": f"Question {n}: " + "q" * 150, "topic": "rag", "score": 5.0, "skipped": False} for n in range(30)]
    reply.add("summary", "summary", questions=rows, average=5.0, topics={"rag": 5.0},
              weakest=[{"text": "w" * 200, "cite": "rag.md"}] * 5, coaching="c" * 900)
    points = [{"id": f"p{n}", "text": f"Point {n} " + "t" * 200, "verdict": "partial", "evidence": "e" * 1000} for n in range(12)]
    reply.add("feedback", "f", score=4.0, points=points, misconceptions=[], notes=[], model_answer="m " * 1500)
    messages = render(reply)
    assert_within_discord_limits(messages)
    shown = "\n".join(f"{e.description}\n" + "\n".join(f.value for f in e.fields) for m in messages for e in m.embeds)
    assert all(f"Question {n}:" in shown for n in range(30))                  # split, never cut
    assert shown.count("e") >= 12 * 1000


def test_a_long_quoted_answer_stays_a_quote_in_every_piece() -> None:
    reply = Reply(session_id="a" * 32)
    evidence = "line one of a long answer. " * 120 + "\nand a second line"
    reply.add("feedback", "f", score=4.0, points=[{"id": "p", "text": "Point", "verdict": "partial", "evidence": evidence}],
              misconceptions=[], notes=[])
    fields = [f for m in render(reply) for e in m.embeds for f in e.fields if f.name.endswith("Point") or "(continued)" in f.name]
    assert len(fields) >= 3
    assert all(line.startswith("> ") for f in fields for line in f.value.split("\n"))


async def test_nothing_the_bot_sends_can_ping(rig) -> None:
    """Model text (a follow-up, a question from notes) may say @everyone; the "not yours" note
    names the owner: no message may ping anyone."""
    channel, group, _, _ = rig
    owner, place, _ = await started(rig)
    intrusion = message(member(name="eve"), place, "let me answer @everyone")
    await channel.on_message(intrusion, BOT)
    await channel.on_message(message(owner, place, "omega is the end"), BOT)
    assert place.send.await_args_list
    for call in place.send.await_args_list:
        assert call.kwargs["allowed_mentions"].to_dict() == NO_PINGS
    assert intrusion.reply.await_args.kwargs["allowed_mentions"].to_dict() == NO_PINGS  # names the owner, no ping
    bot = InterviewBot(DiscordChannel(channel.interviewer))
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == NO_PINGS


async def test_closed_direct_messages_are_said_and_leave_no_interview_running(rig) -> None:
    """The DM fallback with DMs closed (403): the user was told "Your interview is in our direct
    messages" while nothing had reached them."""
    channel, group, _, store = rig
    owner = member(name="ada")
    dm = dm_channel()
    dm.send.side_effect = discord.Forbidden(type("R", (), {"status": 403, "reason": "Forbidden"})(), "Cannot send messages to this user")
    owner.create_dm.side_effect = None
    owner.create_dm.return_value = dm
    event = interaction(owner, text_channel(threads_allowed=False))
    await command(group, "start")(event, topic="tiny", questions=1)
    told = event.followup.send.await_args.args[0]
    assert "could not post the first question in our direct messages" in told and "Your interview is in" not in told
    assert store.active_session(session_key(dm.id)) is None                  # a new start is not blocked


def test_the_topic_option_completes_from_the_bank(rig) -> None:
    channel, *_ = rig
    assert ("Tiny topic (tiny)", "tiny") in channel.topic_choices("ti")
    assert channel.topic_choices("TINY")[0][1] == "tiny"
    assert channel.topic_choices("nothing-like-it") == []
    bank = RubricBank.load()
    wide = DiscordChannel(Interviewer(bank, ScriptedEngine(), None))  # type: ignore[arg-type]
    assert len(wide.topic_choices("")) == min(25, len(bank.topics))
    assert all(value.startswith("rag ") and value != "rag rag" for _, value in wide.topic_choices("rag e"))


def test_history_counts_one_question_in_the_singular(rig) -> None:
    from datetime import datetime, timezone

    from interviewer.interview.records import SessionRecord
    from interviewer_adapters.discord_render import history_line

    record = SessionRecord.model_construct(id="a" * 32, started_at=datetime(2026, 12, 1, tzinfo=timezone.utc), topics=["rag"],
                                           questions=[object()], average=5.0, status="finished")
    assert "· 1 question ·" in history_line(record)


async def test_per_session_locks_are_forgotten_when_idle(rig) -> None:
    channel, group, _, _ = rig
    for _ in range(3):
        owner, place, _ = await started(rig)
        await channel.on_message(message(owner, place, "omega is the end, the last, greek"), BOT)
    assert channel.sessions_in_flight == 0 and channel.interviewer.journal.sessions_held == 0
