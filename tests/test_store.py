"""The transcript store: append-only turns, one grade per turn, migrations, crash recovery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from interviewer.domain import Assessment, PointVerdict, SessionOptions, Turn, Verdict
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.errors import StoreError
from interviewer.storage.schema import HEAD_REVISION
from interviewer.storage.store import Store
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
    assert message.startswith(f"cannot open the transcript store: {damaged} is damaged or not an SQLite database")
    assert f"mv '{damaged}' '{damaged}.broken'" in message and "SELECT" not in message and "sqlalche.me" not in message
    assert damaged.read_bytes().startswith(b"this is not an SQLite file")  # nothing was overwritten


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "interviewer.storage:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrations_and_table_definitions_agree(any_store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from interviewer.storage.tables import Base

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


def _store_with_a_full_disk(path: Path) -> Store:
    """A store whose SQLite connections may not grow the file by a single page: the error SQLite
    gives on a full disk ("database or disk is full"), without filling a real disk."""
    from sqlalchemy import event

    store = Store(f"sqlite:///{path}")
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def no_room(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    return store


def test_a_full_disk_is_named_with_its_path_and_never_called_saved(tmp_path: Path) -> None:
    from sqlalchemy.exc import DBAPIError

    from interviewer.storage.errors import failure_message

    path = tmp_path / "data" / "interviewer.db"
    store = _store_with_a_full_disk(path)
    try:
        with pytest.raises(DBAPIError) as info:
            session = store.create_session(user_key="u", channel="test", options=SessionOptions())
            store.append_turn(session.id, role="candidate", kind="answer", text="x" * 50_000)
    finally:
        store.close()
    message = failure_message(info.value, f"sqlite:///{path}")
    assert message.startswith(f"the disk holding {path} is full: free some space there.")
    assert "was NOT saved" in message and "interviewer resume" in message
    assert "INSERT" not in message and "sqlalche.me" not in message and "\n" not in message


def test_other_store_failures_each_get_their_cause_and_fix() -> None:
    from sqlalchemy.exc import OperationalError

    from interviewer.storage.errors import failure_message

    def error(text: str) -> OperationalError:
        return OperationalError("INSERT INTO turns ...", {}, Exception(text))

    url = "sqlite:////srv/data/interviewer.db"
    assert failure_message(error("attempt to write a readonly database"), url).startswith(
        "/srv/data/interviewer.db cannot be written: make /srv/data writable")
    assert "mv /srv/data/interviewer.db /srv/data/interviewer.db.broken" in failure_message(error("database disk image is malformed"), url)
    server = failure_message(error("terminating connection due to administrator command"), "postgresql+psycopg://me:SECRET@127.0.0.1/db")
    assert server.startswith("the database server at postgresql+psycopg://me:***@127.0.0.1/db failed or cannot be reached")
    assert "SECRET" not in server
    assert failure_message(error("database or disk is full"), url, writing=False) == (
        "cannot open the transcript store: the disk holding /srv/data/interviewer.db is full: free some space there.")


FULL_DISK_CLI = '''
import sys
from sqlalchemy import Engine, event

@event.listens_for(Engine, "connect")
def no_room(dbapi_connection, _record):
    if "sqlite" in type(dbapi_connection).__module__:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 1}")
        cursor.close()

sys.argv = ["interviewer", *sys.argv[1:]]
from interviewer.cli.main import main
main()
'''


def test_practice_on_a_full_disk_keeps_the_answer_and_resume_stores_it(isolated_data_dir: Path) -> None:
    """The store fills up mid-interview: one line naming the file and the fix, exit 1, never
    "internal error"; the answer the store refused is kept in the spool beside the data, and
    `interviewer resume` (with room again) stores and grades it without it being typed again."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    made = subprocess.run([sys.executable, "-m", "interviewer", "transcripts", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr  # the store exists and is migrated, with room to spare no more
    first = "Retrieval augmented generation retrieves passages from an index and puts them into the prompt."
    long_answer = "A long answer that fills the disk. " * 500
    done = subprocess.run([sys.executable, "-c", FULL_DISK_CLI, "practice", "-n", "2", "-q", "rag-what-and-why"],
                          input=f"{first}\n\n{long_answer}\n\n", env=env, capture_output=True, text=True, timeout=240)
    path = isolated_data_dir / "interviewer.db"
    said = " ".join(done.stderr.split())
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and "internal error" not in done.stderr
    assert said.startswith(f"error: the disk holding {path} is full")
    assert f"kept in {isolated_data_dir / 'unsaved-answers.jsonl'}" in said and "interviewer resume" in said

    def stored() -> list[str]:
        store = Store(f"sqlite:///{path}")
        try:
            [summary] = store.list_sessions("tester")
            return [t.text for t in store.turns(summary.session.id) if t.kind == "answer"]
        finally:
            store.close()

    assert stored() == [first]  # the first answer in the store; the refused one in the spool
    resumed = subprocess.run([sys.executable, "-m", "interviewer", "resume"], input="end\n", env=env, capture_output=True,
                             text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr
    assert "saved now" in " ".join(resumed.stdout.split())
    assert [text.strip() for text in stored()] == [first, long_answer.strip()]
    assert not (isolated_data_dir / "unsaved-answers.jsonl").exists()


def test_a_lock_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    """The folder of per-session lock files beside a SQLite store cannot be created (a read-only
    data folder, or something else at that path): a StoreError naming it, not an internal error."""
    database = tmp_path / "interviewer.db"
    blocker = tmp_path / "interviewer.db.owners"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError) as info:
        Store(f"sqlite:///{database}")
    message = str(info.value)
    assert message.startswith(f"cannot open the transcript store: {blocker} cannot be created")
    assert "writable" in message and "Traceback" not in message


# --- the real filesystem failing: a read-only data folder, a full disk --------------------------


def _own_mounts_allowed() -> str | None:
    """Why a private mount namespace cannot be used here (None when it can)."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return "needs unshare(1) for a private mount namespace"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && mount -o remount,ro /mnt"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"mount namespaces are not allowed here ({probe.stderr.strip()[:100]}); the messages are tested without them above"
    return None


def _in_own_mounts(script: str, env: dict[str, str]):
    """Run a shell script in a mount namespace of its own: its mounts vanish with it, nothing else sees them."""
    import subprocess

    return subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)


def test_a_read_only_data_folder_is_named_with_the_fix_by_every_command(isolated_data_dir: Path, tmp_path: Path) -> None:
    """The data folder made read-only after the store was created (a remount, a full quota):
    `transcripts list` and `practice` each say so in one line naming the folder and the fix."""
    import os
    import shlex
    import subprocess
    import sys

    reason = _own_mounts_allowed()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    made = subprocess.run([sys.executable, "-m", "interviewer", "transcripts", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    folder = shlex.quote(str(isolated_data_dir))
    cli = f"{shlex.quote(sys.executable)} -m interviewer"
    ran = _in_own_mounts(
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} || exit 99; "
        f"{cli} transcripts list; echo rc=$? >&2; echo x | {cli} practice -n 1; echo rc=$? >&2", env)
    assert ran.returncode == 0, ran.stderr
    said = [line for line in ran.stderr.splitlines() if line.strip()]
    assert said[1::2] == ["rc=1", "rc=1"], ran.stderr
    for line in said[0::2]:
        assert line.startswith(f"error: cannot open the transcript store: {isolated_data_dir} cannot be written (Read-only file system)")
        assert "make it writable" in line
    assert "Traceback" not in ran.stdout + ran.stderr and "saved" not in ran.stderr


def test_a_really_full_disk_keeps_the_answer_in_the_temp_folder(isolated_data_dir: Path, tmp_path: Path) -> None:
    """The data folder on a 300 kB filesystem that fills mid-answer: the spool beside the data
    cannot take the answer either, so it goes to the temp folder, and resume stores it."""
    import os
    import shlex
    import subprocess
    import sys

    reason = _own_mounts_allowed()
    if reason:
        pytest.skip(reason)
    temp, copy = tmp_path / "tmp", tmp_path / "copy"
    temp.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(temp)}
    first = "Retrieval augmented generation retrieves passages and puts them into the prompt."
    long_answer = "A long answer that fills the disk. " * 3000
    (tmp_path / "answers.txt").write_text(f"{first}\n\n{long_answer}\n\n", encoding="utf-8")
    folder, cli = shlex.quote(str(isolated_data_dir)), f"{shlex.quote(sys.executable)} -m interviewer"
    ran = _in_own_mounts(
        f"mkdir -p {folder} && mount -t tmpfs -o size=300k tmpfs {folder} || exit 99; "
        f"{cli} practice -n 2 -q rag-what-and-why < {shlex.quote(str(tmp_path / 'answers.txt'))}; echo rc=$? >&2; "
        f"cp -a {folder}/. {shlex.quote(str(copy))}/", env)
    said = " ".join(ran.stderr.split())
    spool = temp / f"interviewer-{os.getuid()}" / "unsaved-answers.jsonl"
    assert said.startswith(f"error: the disk holding {isolated_data_dir / 'interviewer.db'} is full"), ran.stderr
    assert f"kept in {spool}" in said and said.endswith("rc=1") and "Traceback" not in ran.stdout + ran.stderr
    assert not (copy / "unsaved-answers.jsonl").exists()                  # no empty or torn file left beside the data
    resumed = subprocess.run([sys.executable, "-m", "interviewer", "resume"], input="end\n", capture_output=True, text=True,
                             timeout=240, env={**env, "INTERVIEWER_DATA_DIR": str(copy)})
    assert resumed.returncode == 0, resumed.stderr
    store = Store(f"sqlite:///{copy / 'interviewer.db'}")
    try:
        [summary] = store.list_sessions("tester")
        stored = [t.text.strip() for t in store.turns(summary.session.id) if t.kind == "answer"]
    finally:
        store.close()
    assert stored == [first, long_answer.strip()] and not spool.exists()
