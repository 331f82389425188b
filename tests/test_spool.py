"""An answer the store refuses is kept in the spool, never lost, and stored exactly once when the
interview moves again (resume, or the next message in a chat)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from interviewer.domain import SessionOptions, Turn
from interviewer.interview.replies import failed_turn
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.errors import AnswerKept
from interviewer.storage.spool import KeptAnswer, Spool
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"
FULL = "the disk holding {} is full"


def refuse_answers(store, monkeypatch, times: int = 1) -> None:
    """The next ``times`` answers hit a full disk; everything else is written as usual."""
    real = store.append_turn
    left = {"n": times}

    def append_turn(session_id, **fields):
        if fields.get("kind") == "answer" and left["n"] > 0:
            left["n"] -= 1
            raise OperationalError("INSERT INTO turns ...", {}, Exception("database or disk is full"))
        return real(session_id, **fields)

    monkeypatch.setattr(store, "append_turn", append_turn)


@pytest.fixture
def world(store, tmp_path):
    spool = Spool([tmp_path / "data" / "unsaved-answers.jsonl"])
    engine = ScriptedEngine(rule=keyword_rule)
    interviewer = Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, store, spool=spool)
    return interviewer, engine, store, spool


async def started(interviewer):
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(topics=["tiny"], questions=1),
                                         session_key="k")
    return session


async def answer_refused(interviewer, store, monkeypatch, text: str, *, times: int = 1) -> AnswerKept:
    """Start the interview and answer while the store refuses answers: what the candidate is told."""
    await started(interviewer)
    refuse_answers(store, monkeypatch, times)
    with pytest.raises(AnswerKept) as kept:
        await interviewer.handle(Turn(session_key="k", user_key="u", text=text))
    return kept.value


def answers(store, session) -> list[str]:
    return [t.text for t in store.turns(session.id) if t.kind == "answer"]


async def test_a_refused_answer_is_kept_then_stored_and_graded_once_on_resume(world, monkeypatch) -> None:
    interviewer, engine, store, spool = world
    message = str(await answer_refused(interviewer, store, monkeypatch, "omega is the end, the last, greek"))
    session = store.active_session("k")
    assert message.startswith(FULL.format(store.url.removeprefix("sqlite:///")))
    assert f"kept in {spool.places[0]}" in message and "NOT saved" not in message
    assert answers(store, session) == [] and [a.text for a in spool.waiting()] == ["omega is the end, the last, greek"]

    reply = await interviewer.resume(store.get_session(session.id))       # the disk has room again
    assert any(m.data.get("reason") == "kept_answer_saved" for m in reply.messages)
    assert "10.0/10" in reply.text and reply.finished
    assert answers(store, session) == ["omega is the end, the last, greek"] and len(engine.calls) == 1
    assert not spool.places[0].exists()                                   # nothing left to replay
    await interviewer.resume(store.get_session(session.id))
    assert answers(store, session) == ["omega is the end, the last, greek"]  # never stored twice


async def test_in_a_chat_the_next_message_stores_the_kept_answer_first(world, monkeypatch) -> None:
    interviewer, engine, store, spool = world
    said = failed_turn(await answer_refused(interviewer, store, monkeypatch, "omega is the end")).text
    session = store.active_session("k")
    assert "kept it aside" in said and "may not have been saved" not in said
    reply = await interviewer.handle(Turn(session_key="k", user_key="u", text="repeat"))
    assert reply.messages[0].data.get("reason") == "kept_answer_saved"
    assert "Which letter is omega?" in reply.text                         # graded, and the follow-up asked
    assert answers(store, session) == ["omega is the end"]


async def test_a_kept_answer_the_interview_moved_past_is_dropped_not_misfiled(world, monkeypatch) -> None:
    interviewer, engine, store, spool = world
    await answer_refused(interviewer, store, monkeypatch, "omega is the end")
    session = store.active_session("k")
    [kept] = spool.waiting()
    spool.forget([kept])
    spool.keep(KeptAnswer(**{**kept.__dict__, "prompt_seq": kept.prompt_seq + 50}))  # answers a prompt never shown here
    reply = await interviewer.handle(Turn(session_key="k", user_key="u", text="skip"))
    assert all(m.data.get("reason") != "kept_answer_saved" for m in reply.messages)
    assert answers(store, session) == [] and spool.waiting() == []


async def test_a_store_still_failing_keeps_the_answer_for_the_next_try(world, monkeypatch) -> None:
    interviewer, engine, store, spool = world
    await answer_refused(interviewer, store, monkeypatch, "omega is the end", times=2)
    session = store.active_session("k")
    with pytest.raises(OperationalError):
        await interviewer.resume(store.get_session(session.id))           # still full: the replay fails
    assert [a.text for a in spool.waiting()] == ["omega is the end"]      # and the answer is still kept
    await interviewer.resume(store.get_session(session.id))
    assert answers(store, session) == ["omega is the end"] and spool.waiting() == []


def test_the_spool_falls_back_to_the_next_place_and_skips_torn_lines(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool's folder should be")
    spool = Spool([blocked / "unsaved-answers.jsonl", tmp_path / "elsewhere" / "unsaved-answers.jsonl"])
    place = spool.keep(KeptAnswer(session_id="s", question_id="q", prompt_seq=3, text="an answer"))
    assert place == spool.places[1]
    with open(place, "a", encoding="utf-8") as torn:
        torn.write('{"session_id": "s", "text": "cut off by a cra')          # a crash mid-write
    assert [a.text for a in spool.waiting("s")] == ["an answer"] and spool.waiting("other") == []
    assert Spool([blocked / "x.jsonl"]).keep(KeptAnswer(session_id="s", question_id="q", prompt_seq=1, text="t")) is None


async def test_without_a_place_for_the_spool_the_error_says_not_saved(store, tmp_path, monkeypatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    interviewer = Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), ScriptedEngine(rule=keyword_rule), store,
                              spool=Spool([blocked / "unsaved-answers.jsonl"]))
    await started(interviewer)
    refuse_answers(store, monkeypatch)
    with pytest.raises(OperationalError):                                  # the CLI says "was NOT saved" for this one
        await interviewer.handle(Turn(session_key="k", user_key="u", text="omega is the end"))
