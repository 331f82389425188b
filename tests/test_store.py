"""The transcript store: append-only turns, one grade per turn, migrations, crash recovery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from interviewer.core import Interviewer
from interviewer.domain import Assessment, PointVerdict, SessionOptions, Turn, Verdict
from interviewer.rubrics import RubricBank
from interviewer.store import HEAD_REVISION, Store, StoreError
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"


def test_turns_get_consecutive_seqs_and_events_are_deduplicated(any_store: Store) -> None:
    store = any_store
    session = store.create_session(user_key="u", channel="test", options=SessionOptions())
    first = store.append_turn(session.id, role="candidate", kind="answer", text="a", event_id="e1")
    duplicate = store.append_turn(session.id, role="candidate", kind="answer", text="a", event_id="e1")
    second = store.append_turn(session.id, role="interviewer", kind="question", text="q", question_id="x")
    assert (first.seq, duplicate, second.seq) == (1, None, 2)
    assert [t.text for t in store.turns(session.id)] == ["a", "q"]


def test_a_turn_is_graded_at_most_once(any_store: Store) -> None:
    store = any_store
    session = store.create_session(user_key="u", channel="test", options=SessionOptions())
    turn = store.append_turn(session.id, role="candidate", kind="answer", text="a")
    grade = Assessment(question_id="q", verdicts=[PointVerdict(point_id="p", verdict=Verdict.covered, evidence="a")], score=10)
    assert store.add_assessment(session.id, turn.seq, grade) is True
    assert store.add_assessment(session.id, turn.seq, grade) is False
    stored = store.assessments(session.id)
    assert list(stored) == [turn.seq]
    assert stored[turn.seq].verdicts[0].evidence == "a"


def test_sqlite_runs_in_wal_mode_at_head_revision(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    Store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD_REVISION


def test_a_file_that_is_not_sqlite_gets_its_path_and_the_fix(tmp_path: Path) -> None:
    damaged = tmp_path / "my data" / "interviewer.db"
    damaged.parent.mkdir()
    damaged.write_bytes(b"this is not an SQLite file, it was overwritten by something else" * 20)
    with pytest.raises(StoreError) as info:
        Store(f"sqlite:///{damaged}")
    message = str(info.value)
    assert message.startswith(f"the transcript store {damaged} is not an SQLite database")
    assert f"mv '{damaged}' '{damaged}.broken'" in message and "SELECT" not in message and "sqlalche.me" not in message
    assert damaged.read_bytes().startswith(b"this is not an SQLite file")  # nothing was overwritten


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "interviewer:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_and_table_definitions_agree(any_store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from interviewer.tables import Base

    with any_store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert any_store.revision() == HEAD_REVISION


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot open the transcript store"):
        Store(f"sqlite:///{blocker}/sub/x.db")


async def test_resume_after_a_crash_between_saving_and_grading(store_url: str) -> None:
    """The answer was committed, then the process died before grading: resume grades it once."""
    url = store_url
    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    options = SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=0)

    first_life = Interviewer(bank, ScriptedEngine(rule=keyword_rule), Store(url))
    session, _ = await first_life.start(user_key="u", channel="repl", options=options)
    # What handle() does before grading, then the "crash": no grade is ever written.
    first_life.store.append_turn(session.id, role="candidate", kind="answer", text="alpha beta gamma delta epsilon zeta", question_id="tiny-one", meta={"stage": "question", "focus": []})
    first_life.store.close()

    second_store = Store(url)
    second_life = Interviewer(bank, ScriptedEngine(rule=keyword_rule), second_store)
    found = second_store.latest_unfinished("u", "repl")
    assert found is not None and found.id == session.id
    reply = await second_life.resume(found)
    kinds = [m.kind for m in reply.messages]
    assert kinds == ["notice", "feedback", "question"]
    assert reply.messages[1].data["score"] == 10.0
    assert reply.messages[2].data["question_id"] == "tiny-two"

    reply = await second_life.handle(Turn(session_key=session.session_key, user_key="u", text="omega end"))
    assert reply.finished
    answers = [t.text for t in second_store.turns(session.id) if t.kind == "answer"]
    assert answers == ["alpha beta gamma delta epsilon zeta", "omega end"]
    assert len(second_store.assessments(session.id)) == 2


async def test_resume_with_nothing_pending_repeats_the_open_question(store_url: str) -> None:
    url = store_url
    bank = RubricBank.load([FIXTURES / "tiny.yaml"])
    interviewer = Interviewer(bank, ScriptedEngine(rule=keyword_rule), Store(url))
    session, _ = await interviewer.start(user_key="u", channel="repl", options=SessionOptions(question_ids=["tiny-one"]))
    reply = await interviewer.resume(session)
    assert [m.kind for m in reply.messages] == ["notice", "question"]
    assert reply.messages[1].text == "What is alpha?"


def test_list_sessions_reports_final_scores(any_store: Store) -> None:
    store = any_store
    session = store.create_session(user_key="u", channel="test", options=SessionOptions())
    store.append_turn(session.id, role="interviewer", kind="question", text="q", question_id="q1", meta={"topic": "tiny"})
    a = store.append_turn(session.id, role="candidate", kind="answer", text="a", question_id="q1")
    b = store.append_turn(session.id, role="candidate", kind="answer", text="b", question_id="q1")
    store.add_assessment(session.id, a.seq, Assessment(question_id="q1", verdicts=[], score=4.0))
    store.add_assessment(session.id, b.seq, Assessment(question_id="q1", verdicts=[], score=7.0))
    [summary] = store.list_sessions("u")
    assert (summary.questions, summary.average_score, summary.topics) == (1, 7.0, ["tiny"])
    assert store.list_sessions("someone-else") == []
