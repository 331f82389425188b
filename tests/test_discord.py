"""The Discord adapter on real discord.py objects: slash commands, thread messages and button
presses driven through the real core with a scripted engine, checked on the JSON discord.py sends
(``discord_wire``), every message held to Discord's limits."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest

from discord_wire import Wire, custom_ids, open_wire
from interviewer_adapters.discord import CONTROL, ControlButton, DiscordChannel, session_key
from interviewer_adapters.discord_server import InterviewBot
from interviewer_adapters.discord_render import (
    CONTENT_LIMIT, DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, EMBEDS_PER_MESSAGE, FIELD_VALUE_LIMIT, FIELDS_PER_EMBED, render,
)
from interviewer.interview.replies import Reply
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"
EPHEMERAL = 64
NO_PINGS = {"parse": []}  # AllowedMentions.none(): nobody, no role, not everyone
NOT_YOURS = "This is <@{}>'s interview. Start your own with `/interview start`."


@dataclass
class Rig:
    channel: DiscordChannel
    bot: InterviewBot
    wire: Wire
    engine: ScriptedEngine
    store: object

    def command(self, name: str):
        return self.bot.tree.get_command("interview").get_command(name).callback


@pytest.fixture
def rig(store, monkeypatch):
    engine = ScriptedEngine(rule=keyword_rule)
    channel = DiscordChannel(Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, store))
    bot = InterviewBot(channel)                                  # the real client: its state, its allowed_mentions
    wire = open_wire(bot, monkeypatch)
    yield Rig(channel, bot, wire, engine, store)
    assert wire.breaches == [], "a message Discord would refuse (400)"


async def started(rig: Rig, owner=None, **options):
    """/interview start in a server channel; the private thread it opened, and the interaction."""
    owner = owner or rig.wire.member(name="ada")
    event = rig.wire.interaction(owner, rig.wire.text_channel())
    await rig.command("start")(event, **({"topic": "tiny", "questions": 1} | options))
    return owner, rig.wire.threads_opened[-1], event


def texts_of(bodies) -> list[str]:
    return [b.get("content") or "" for b in bodies]


async def test_a_full_interview_in_a_private_thread(rig) -> None:
    wire, store = rig.wire, rig.store
    owner, place, event = await started(rig)
    assert wire.callbacks(event) == [{"type": 5, "data": {"flags": EPHEMERAL}}]     # deferred, thinking, ephemeral
    [opened] = [c for c in wire.calls if c.path == f"/channels/{event.channel.id}/threads"]
    assert {k: opened.body[k] for k in ("name", "type", "invitable", "auto_archive_duration")} == {
        "name": "Interview · ada", "type": 12, "invitable": False, "auto_archive_duration": 1440}
    assert any(c.method == "PUT" and c.path == f"/channels/{place.id}/thread-members/{owner.id}" for c in wire.calls)
    [told] = wire.followups(event)
    assert told["content"] == f"Your interview is in <#{place.id}>. Answer there." and told["flags"] == EPHEMERAL
    [first] = wire.posted(place)
    assert first["content"].startswith("Mock interview: 1 question on Tiny topic.")
    assert first["content"].endswith("-# Question 1/1 · Tiny topic · difficulty 2\n**What is omega?**")
    session = store.active_session(session_key(place.id))
    [asked] = [t.seq for t in store.turns(session.id) if t.kind == "question"]
    assert custom_ids(first) == [f"interview:{a}:{session.id}:{asked}" for a in ("hint", "skip", "end")]
    assert [b["label"] for row in first["components"] for b in row["components"]] == ["Hint", "Skip", "End"]

    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)
    assert wire.sent_texts(place)[1] == "💬 Thanks, that's a start. Which letter is omega?"
    press = wire.interaction(owner, place, button=custom_ids(first)[0])
    await rig.channel.on_button(press, "hint", session.id)
    assert wire.callbacks(press) == [{"type": 6}]                                  # deferred update, no new message
    assert wire.sent_texts(place)[2] == "💡 Hint: Last."
    await rig.channel.on_message(wire.message(owner, place, "omega is the last letter, greek"), rig.bot.user)
    feedback, summary = wire.posted(place)[3:]
    [card] = feedback["embeds"]
    assert card["title"] == "Score 10.0/10" and card["color"] == discord.Colour.green().value
    assert [f["name"] for f in card["fields"]][:3] == ["✅ Omega is the end.", "✅ Omega is the last letter.", "✅ Omega is Greek."]
    assert card["fields"][0]["value"] == "> omega is the end"
    assert summary["embeds"][0]["title"] == "Interview summary"
    assert not summary.get("components")                                          # no buttons once it is over
    assert store.get_session(session.id).status == "finished"
    assert [c[0] for c in rig.engine.calls] == ["tiny-two", "tiny-two"]


async def test_buttons_and_messages_are_for_the_owner_only(rig) -> None:
    wire, store = rig.wire, rig.store
    owner, place, _ = await started(rig)
    session = store.active_session(session_key(place.id))
    stranger = wire.member(name="eve")
    press = wire.interaction(stranger, place, button=custom_ids(wire.posted(place)[0])[1])
    await rig.channel.on_button(press, "skip", session.id)
    assert wire.callbacks(press) == [{"type": 6}]
    [refused] = wire.followups(press)
    assert refused["content"] == NOT_YOURS.format(owner.id) and refused["flags"] == EPHEMERAL
    said = wire.message(stranger, place, "omega is the end")
    await rig.channel.on_message(said, rig.bot.user)
    [reply] = wire.replies_to(said)
    assert reply["content"] == NOT_YOURS.format(owner.id)
    assert reply["allowed_mentions"]["parse"] == [] and not reply["allowed_mentions"].get("replied_user")
    ended = wire.interaction(stranger, place)
    await rig.command("end")(ended)
    assert [f["content"] for f in wire.followups(ended)] == [NOT_YOURS.format(owner.id)]
    assert rig.engine.calls == [] and len(wire.posted(place)) == 2                  # the question and the note to eve
    assert [t.kind for t in store.turns(session.id)] == ["question"]


async def test_bots_and_other_channels_are_ignored(rig) -> None:
    wire = rig.wire
    owner, place, _ = await started(rig)
    robot = wire.member(name="robot", bot=True)
    await rig.channel.on_message(wire.message(robot, place, "omega"), rig.bot.user)
    await rig.channel.on_message(wire.message(rig.bot.user, place, "omega"), rig.bot.user)
    await rig.channel.on_message(wire.message(owner, wire.thread(), "omega is the end"), rig.bot.user)  # not an interview thread
    assert rig.engine.calls == [] and len(wire.posted(place)) == 1


async def test_without_the_message_content_intent_a_mention_still_works(rig) -> None:
    wire = rig.wire
    owner, place, _ = await started(rig)
    await rig.channel.on_message(wire.message(owner, place, ""), rig.bot.user)            # Discord hid the text
    assert "Message Content intent" in wire.sent_texts(place)[1]
    assert rig.engine.calls == []
    await rig.channel.on_message(wire.message(owner, place, f"<@{rig.bot.user.id}> omega is the end, the last, greek"), rig.bot.user)
    assert rig.engine.calls[0][1] == "omega is the end, the last, greek"


def threads_forbidden(wire: Wire) -> None:
    wire.refuse("POST", lambda path: path.endswith("/threads"), 403, "Missing Permissions")


async def test_a_dm_is_used_when_no_thread_can_be_opened(rig) -> None:
    """The DM fallback: a real DMChannel has no ``mention``; pointing the user at it crashed."""
    wire, store = rig.wire, rig.store
    threads_forbidden(wire)
    owner = wire.member(name="ada")
    event = wire.interaction(owner, wire.text_channel())
    await rig.command("start")(event, topic="tiny", questions=1)
    assert any(c.path == "/users/@me/channels" and c.body == {"recipient_id": owner.id} for c in wire.calls)
    dm = wire.dm_of(owner)
    assert "What is omega?" in wire.sent_texts(dm)[0]
    [summary] = store.list_sessions(f"discord:{owner.id}")
    assert summary.session.session_key == session_key(dm.id)
    assert texts_of(wire.followups(event)) == ["Your interview is in our direct messages. Answer there."]
    await rig.channel.on_message(wire.message(owner, dm, "omega is the end, the last, greek"), rig.bot.user)
    assert wire.sent_texts(dm)[1].startswith("Score 10.0/10")


@pytest.mark.parametrize("where", ["thread", "dm"])
async def test_start_from_a_thread_or_a_dm_opens_the_interview_in_a_dm(rig, where) -> None:
    """Starting where no private thread can be made (inside a thread, or in DMs) falls back to a DM."""
    wire = rig.wire
    owner = wire.member(name="ada")
    place = wire.thread() if where == "thread" else None
    if place is None:
        await owner.create_dm()
        place = wire.dm_of(owner)
    event = wire.interaction(owner, place)
    await rig.command("start")(event, topic="tiny", questions=1)
    assert texts_of(wire.followups(event)) == ["Your interview is in our direct messages. Answer there."]
    assert "What is omega?" in wire.sent_texts(wire.dm_of(owner))[0]


async def test_the_interaction_is_deferred_before_a_slow_model_call(rig) -> None:
    wire, store = rig.wire, rig.store
    order: list[str] = []

    async def slow_coach(results: str):
        order.append("model called")
        await asyncio.sleep(0.5)
        return None

    rig.engine.coach = slow_coach                                             # the end of a session calls the model
    owner, place, _ = await started(rig)
    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)
    session = store.active_session(session_key(place.id))
    press = wire.interaction(owner, place, button=f"interview:end:{session.id}")
    wire.on_call = lambda call: order.append("deferred") if call.path.endswith("/callback") else None
    await rig.channel.on_button(press, "end", session.id)
    assert order == ["deferred", "model called"]


async def test_two_quick_messages_are_handled_in_order(rig) -> None:
    wire = rig.wire
    rig.engine.delay = 0.2
    owner, place, _ = await started(rig, questions=2)
    await asyncio.gather(
        rig.channel.on_message(wire.message(owner, place, "omega is the end, the last, greek"), rig.bot.user),
        rig.channel.on_message(wire.message(owner, place, "hint"), rig.bot.user),
    )
    texts = wire.sent_texts(place)
    assert texts[1].startswith("Score 10.0/10")                            # the grade of the first message first,
    assert texts[-1].startswith("💡 ")                                     # then the reply to the second
    assert len(rig.engine.calls) == 1


async def test_history_and_show_are_ephemeral_and_private(rig) -> None:
    wire, store = rig.wire, rig.store
    owner, place, _ = await started(rig)
    await rig.channel.on_message(wire.message(owner, place, "omega is the end, the last letter, greek"), rig.bot.user)
    session = store.list_sessions(f"discord:{owner.id}")[0].session
    asked = wire.interaction(owner, place)
    await rig.command("history")(asked)
    [listed] = wire.followups(asked)
    assert listed["flags"] == EPHEMERAL
    description = listed["embeds"][0]["description"]
    assert f"`{session.id[:8]}`" in description and "**10.0/10**" in description
    shown = wire.interaction(owner, place)
    await rig.command("show")(shown, id=session.id[:8])
    assert all(body["flags"] == EPHEMERAL for body in wire.followups(shown))
    assert any("Interview summary" in text for text in texts_of(wire.followups(shown)))
    snoop = wire.interaction(wire.member(name="eve"), place)
    await rig.command("show")(snoop, id=session.id[:8])
    assert texts_of(wire.followups(snoop)) == [f"You have no interview `{session.id[:8]}`. See `/interview history`."]


async def test_a_failing_turn_is_reported_in_the_thread(rig) -> None:
    wire, store = rig.wire, rig.store
    owner, place, _ = await started(rig)
    rig.engine.fail_times = 1
    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)
    assert "Your answer is saved" in wire.sent_texts(place)[1]
    session = store.active_session(session_key(place.id))
    assert [t.kind for t in store.turns(session.id)] == ["question", "answer"]


async def test_a_button_pressed_under_an_earlier_prompt_does_not_act_on_the_current_one(rig) -> None:
    wire, store = rig.wire, rig.store
    owner, place, _ = await started(rig)
    session = store.active_session(session_key(place.id))
    skip_id = custom_ids(wire.posted(place)[0])[1]                                # Skip, on the question's message
    press = wire.interaction(owner, place, button=skip_id)
    stale = await ControlButton.from_custom_id(press, None, CONTROL.fullmatch(skip_id))
    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)   # a follow-up is asked now
    await rig.channel.on_button(press, stale.action, stale.session_id, stale.prompt_seq)
    assert "moved on" in wire.sent_texts(place)[2]
    assert [t.kind for t in store.turns(session.id)].count("command") == 0        # nothing was skipped


async def test_a_turn_the_store_could_not_write_is_never_called_saved(rig, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    wire, store = rig.wire, rig.store
    owner, place, _ = await started(rig)

    def full(*_args, **_kwargs):
        raise OperationalError("INSERT INTO turns ...", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store, "append_turn", full)
    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)
    said = wire.sent_texts(place)[1]
    assert "may not have been saved" in said and "is saved" not in said and "INSERT" not in said
    assert "the disk of the interview database is full" in said          # the cause, without the server's path


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
    asked = rig.wire.interaction(rig.wire.member(name="eve"), rig.wire.thread())
    await rig.command("show")(asked, id="`@everyone` <@123>")
    [text] = texts_of(rig.wire.followups(asked))
    assert "@" not in text and text.count("`") == 4  # the id is one clean code span


# --- defects found on real payloads (issue: channels as plugins) ---------------------------------


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


async def test_a_long_summary_and_scorecard_reach_discord_as_messages_it_accepts(rig) -> None:
    """The same long reply sent through discord.py to a real thread: every message body is one
    Discord accepts (the rig answers 400 to any over a limit, as Discord did to 6,121 characters)."""
    reply = Reply(session_id="a" * 32, buttons=["hint", "skip", "end"])
    rows = [{"question": f"Question {n}: " + "q" * 150, "topic": "rag", "score": 5.0, "skipped": False} for n in range(30)]
    reply.add("summary", "summary", questions=rows, average=5.0, topics={"rag": 5.0},
              weakest=[{"text": "w" * 200, "cite": "rag.md"}] * 5, coaching="c" * 900)
    points = [{"id": f"p{n}", "text": f"Point {n} " + "t" * 200, "verdict": "partial", "evidence": "e" * 1000} for n in range(12)]
    reply.add("feedback", "f", score=4.0, points=points, misconceptions=[], notes=[], model_answer="m " * 1500)
    place = rig.wire.thread()
    assert await rig.channel.send(place, reply) is True
    bodies = rig.wire.posted(place)
    assert len(bodies) >= 4 and rig.wire.breaches == []
    assert sum(len(custom_ids(b)) for b in bodies) == 3                          # the buttons once, on the last message
    assert custom_ids(bodies[-1])


async def test_a_message_over_discords_limits_is_refused_and_reported_as_not_sent(rig) -> None:
    """The rig is as strict as Discord: a message over 6,000 characters across embeds is a 400,
    and ``send`` says it failed instead of pretending it was delivered."""
    place = rig.wire.thread()
    embeds = [discord.Embed(description="d" * 4000) for _ in range(2)]
    with pytest.raises(discord.HTTPException):
        await place.send(embeds=embeds)
    assert rig.wire.breaches == ["8000 characters over all embeds > 6000"]
    rig.wire.breaches.clear()


async def test_nothing_the_bot_sends_can_ping(rig) -> None:
    """Model text (a follow-up, a question from notes) may say @everyone; the "not yours" note
    names the owner: no message on the wire may ping anyone."""
    wire = rig.wire
    owner, place, _ = await started(rig)
    intrusion = wire.message(wire.member(name="eve"), place, "let me answer @everyone")
    await rig.channel.on_message(intrusion, rig.bot.user)
    await rig.channel.on_message(wire.message(owner, place, "omega is the end"), rig.bot.user)
    from_model = Reply(session_id="a" * 32)
    from_model.add("follow_up", "Tell @everyone and <@&55> about it?")
    await rig.channel.send(place, from_model)
    bodies = wire.posted(place)
    assert len(bodies) == 4 and "@everyone" in bodies[-1]["content"]
    for body in bodies:
        mentions = body["allowed_mentions"]
        assert mentions["parse"] == [] and not mentions.get("users") and not mentions.get("roles") and not mentions.get("replied_user")
    assert rig.bot.allowed_mentions is not None and rig.bot.allowed_mentions.to_dict() == NO_PINGS


async def test_closed_direct_messages_are_said_and_leave_no_interview_running(rig) -> None:
    """The DM fallback with DMs closed (403): the user was told "Your interview is in our direct
    messages" while nothing had reached them."""
    wire, store = rig.wire, rig.store
    threads_forbidden(wire)
    wire.refuse("POST", lambda path: any(path == f"/channels/{dm}/messages" for dm in wire.dm_ids), 403,
                "Cannot send messages to this user")
    owner = wire.member(name="ada")
    event = wire.interaction(owner, wire.text_channel())
    await rig.command("start")(event, topic="tiny", questions=1)
    [told] = texts_of(wire.followups(event))
    assert "could not post the first question in our direct messages" in told and "Your interview is in" not in told
    assert store.active_session(session_key(wire.dm_of(owner).id)) is None       # a new start is not blocked


def test_the_topic_option_completes_from_the_bank(rig) -> None:
    channel = rig.channel
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
    for _ in range(3):
        owner, place, _ = await started(rig)
        await rig.channel.on_message(rig.wire.message(owner, place, "omega is the end, the last, greek"), rig.bot.user)
    assert rig.channel.sessions_in_flight == 0 and rig.channel.interviewer.journal.sessions_held == 0
