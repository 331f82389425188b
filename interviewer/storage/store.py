"""The transcript store: sessions, append-only turns and assessments, over SQLAlchemy.

SQLite (the default) runs in WAL mode so a process killed mid-write leaves every committed
turn intact; each append is its own transaction, committed before grading starts. PostgreSQL
(``postgresql+psycopg://...``) takes the same statements and the same migrations.

Several processes (replicas) may serve one store: ``Store.owning`` makes handling one turn of a
session exclusive across all of them (``storage.locks``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, delete, event, func, insert, select, update
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError, OperationalError

from interviewer.domain import Assessment, Session, SessionOptions, TurnRecord, utcnow
from interviewer.storage.errors import RECONNECT_PAUSES, StoreError, failure_message, lost_connection, one_line, reconnecting, shown_url
from interviewer.storage.locks import Locks, SessionHold, migration_lock
from interviewer.storage.schema import HEAD_REVISION, current_revision, migrate, upgrade_to_head
from interviewer.storage.tables import AssessmentRow, DeliveryRow, SessionRow, TurnRow

MIN_ID_PREFIX = 4  # shortest id prefix that names an interview (listings print 8 characters)

_SESSIONS = SessionRow.__table__
_TURNS = TurnRow.__table__
_ASSESSMENTS = AssessmentRow.__table__
_ASSESSMENT_FIELDS = frozenset(Assessment.model_fields)

_INSERT_SESSION = insert(_SESSIONS)
_SESSION_BY_ID = select(_SESSIONS).where(_SESSIONS.c.id == bindparam("session_id"))
_ACTIVE_AT_KEY = (
    select(_SESSIONS)
    .where(_SESSIONS.c.session_key == bindparam("session_key"), _SESSIONS.c.status == "active")
    .order_by(_SESSIONS.c.created_at.desc())
    .limit(1)
)
_FINISH = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .values(status="finished", finished_at=bindparam("now"), updated_at=bindparam("now"))
)
_TOUCH = update(_SESSIONS).where(_SESSIONS.c.id == bindparam("session_id")).values(updated_at=bindparam("now"))
_SEEN = (
    select(_TURNS.c.question_id, func.max(_TURNS.c.created_at))
    .join(_SESSIONS, _SESSIONS.c.id == _TURNS.c.session_id)
    .where(_SESSIONS.c.user_key == bindparam("user_key"), _TURNS.c.kind == "question")
    .group_by(_TURNS.c.question_id)
)
_LAST_SEQ = select(func.max(_TURNS.c.seq)).where(_TURNS.c.session_id == bindparam("session_id"))
_INSERT_TURN = insert(_TURNS)
_HAS_EVENT = select(_TURNS.c.id).where(
    _TURNS.c.session_id == bindparam("session_id"), _TURNS.c.event_id == bindparam("event_id")
).limit(1)
_TURNS_OF = select(_TURNS).where(_TURNS.c.session_id == bindparam("session_id")).order_by(_TURNS.c.seq)
_INSERT_ASSESSMENT = insert(_ASSESSMENTS)
_DELIVERIES = DeliveryRow.__table__
_INSERT_DELIVERY = insert(_DELIVERIES)
_PRUNE_DELIVERIES = delete(_DELIVERIES).where(_DELIVERIES.c.created_at < bindparam("cutoff"))
DELIVERY_MEMORY = timedelta(days=2)  # far longer than any platform retries an event
DELIVERY_PRUNE_EVERY = 500  # claims per process between two clean-ups of older deliveries
_ASSESSMENTS_OF = (
    select(_ASSESSMENTS).where(_ASSESSMENTS.c.session_id == bindparam("session_id")).order_by(_ASSESSMENTS.c.turn_seq)
)


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    """Id lists cut to a size every database takes in one IN (...)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _assessment(row: Mapping[str, Any]) -> Assessment:
    return Assessment.model_validate({k: row[k] for k in _ASSESSMENT_FIELDS} | {"notes": row["notes"] or []})


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The busy timeout comes first: the switch to WAL below takes a lock of its own, and must wait
    # for another process's transaction like any other statement rather than fail at once.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass
class SessionSummary:
    session: Session
    questions: int
    average_score: float | None
    engines: list[str]
    topics: list[str]


class Store:
    """Persistence for transcripts; every method is one short transaction."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            folder = Path(url.removeprefix("sqlite:///")).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot open the transcript store at {url!r}: {exc.strerror} ({folder})") from None
        self.url = url
        try:
            # A pooled connection the server has since closed (a restart, a failover, an idle
            # timeout) is tested and replaced before use, not handed to the next statement.
            self.engine = create_engine(url, future=True, pool_pre_ping=True)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open the transcript store at {shown_url(url)!r}: {exc}") from None
        sqlite = self.engine.dialect.name == "sqlite"
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._write_lock: AbstractContextManager[object] = threading.Lock() if sqlite else nullcontext()
        self._claims = 0  # deliveries claimed by this process (old ones are pruned every so often)
        try:
            self.locks = Locks(url, self.engine.dialect.name)
        except OSError as exc:  # a read-only folder, or a file where the lock folder goes
            where = exc.filename or url
            raise StoreError(
                f"cannot open the transcript store: {where} cannot be created ({exc.strerror}): make its folder "
                "writable and remove anything else at that path, or point INTERVIEWER_DATABASE_URL at a place that is"
            ) from None
        if auto_migrate:
            try:
                # The whole first look at a SQLite file, its first connection included, happens under
                # the migration lock: replicas started together on a new file would otherwise race
                # one another's switch to WAL and schema creation, and SQLite answers a lock it sees
                # as a deadlock with "database is locked" at once, without waiting.
                with migration_lock(self.locks.folder):
                    if current_revision(self.engine) != HEAD_REVISION:
                        upgrade_to_head(self.engine)
            except OperationalError as exc:
                raise StoreError(failure_message(exc, url, writing=False)) from None
            except OSError as exc:  # the lock folder is there but cannot be written (made read-only since)
                where = Path(url.removeprefix("sqlite:///")).expanduser().parent if sqlite else exc.filename
                raise StoreError(
                    f"cannot open the transcript store: {where} cannot be written ({exc.strerror}): make it writable, "
                    "or point INTERVIEWER_DATA_DIR (or INTERVIEWER_DATABASE_URL) at a place that is"
                ) from None
            except DatabaseError as exc:  # a file that is not SQLite: damaged, or some other file at that path
                if sqlite and "not a database" in str(exc.orig):
                    raise StoreError(failure_message(exc, url, writing=False)) from None
                raise StoreError(f"cannot open the transcript store at {shown_url(url)!r}: {one_line(exc.orig)}") from None

    def close(self) -> None:
        self.engine.dispose()
        self.locks.close()

    def owning(self, session_id: str) -> SessionHold:
        """Exclusive hold of a session across processes while one turn is handled: ``async with
        store.owning(id).held()`` from an event loop, ``with store.owning(id)`` from a thread."""
        return self.locks.session(session_id)

    def revision(self) -> str | None:
        """The schema revision of the database; StoreError (one line) when it cannot be reached."""
        try:
            return current_revision(self.engine)
        except OperationalError as exc:
            raise StoreError(f"cannot reach the transcript store at {shown_url(self.url)!r}: {one_line(exc.orig)}") from None

    def upgrade(self) -> tuple[str | None, str | None]:
        """Migrate to the head revision; returns (before, after)."""
        before = self.revision()
        try:
            migrate(self.engine, self.locks.folder)
        except OperationalError as exc:
            raise StoreError(f"cannot migrate the transcript store at {shown_url(self.url)!r}: {one_line(exc.orig)}") from None
        return before, self.revision()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction. SQLite takes one writer at a time and makes the others sleep in
        its busy handler (in steps of up to 100 ms); queueing writers on a lock in this process
        instead hands the database over the moment it is free."""
        with self._write_lock, self.engine.begin() as db:
            yield db

    # Every statement below is Core, built once with bound parameters: this runs for every line of
    # every interview, and the ORM's unit of work and per-call statement building cost more than
    # the database itself.

    # sessions -----------------------------------------------------------------------------

    def create_session(
        self, *, user_key: str, channel: str, options: SessionOptions, session_key: str | None = None
    ) -> Session:
        now = utcnow()
        session_id = uuid.uuid4().hex
        row = {
            "id": session_id, "session_key": session_key or session_id, "user_key": user_key, "channel": channel,
            "status": "active", "options": options.model_dump(mode="json"), "created_at": now, "updated_at": now,
            "finished_at": None,
        }
        with self._writing() as db:
            db.execute(_INSERT_SESSION, row)
        return self._to_session(row)

    @reconnecting
    def get_session(self, session_id: str) -> Session | None:
        with self.engine.connect() as db:
            row = db.execute(_SESSION_BY_ID, {"session_id": session_id}).mappings().first()
            return self._to_session(row) if row else None

    @reconnecting
    def find_session(self, prefix: str, user_key: str | None = None) -> Session | None:
        """A session by full id or unique id prefix (as printed in listings) of at least
        ``MIN_ID_PREFIX`` characters: "a" would pick whichever interview happens to be alone."""
        if len(prefix) < MIN_ID_PREFIX or not all(c in "0123456789abcdef" for c in prefix.lower()):
            return None
        query = select(_SESSIONS).where(_SESSIONS.c.id.startswith(prefix.lower()))
        if user_key is not None:
            query = query.where(_SESSIONS.c.user_key == user_key)
        with self.engine.connect() as db:
            rows = db.execute(query.limit(2)).mappings().all()
            return self._to_session(rows[0]) if len(rows) == 1 else None

    @reconnecting
    def active_session(self, session_key: str) -> Session | None:
        with self.engine.connect() as db:
            row = db.execute(_ACTIVE_AT_KEY, {"session_key": session_key}).mappings().first()
            return self._to_session(row) if row else None

    @reconnecting
    def latest_unfinished(self, user_key: str, channel: str | None = None) -> Session | None:
        query = select(_SESSIONS).where(_SESSIONS.c.user_key == user_key, _SESSIONS.c.status == "active")
        if channel:
            query = query.where(_SESSIONS.c.channel == channel)
        with self.engine.connect() as db:
            row = db.execute(query.order_by(_SESSIONS.c.updated_at.desc()).limit(1)).mappings().first()
            return self._to_session(row) if row else None

    @reconnecting
    def finish_session(self, session_id: str) -> None:
        now = utcnow()
        with self._writing() as db:
            db.execute(_FINISH, {"session_id": session_id, "now": now})

    def sessions(
        self, user_key: str | None = None, *, since: datetime | None = None, limit: int | None = None
    ) -> list[Session]:
        """Sessions newest first, of one user (or everyone's), started at or after ``since``."""
        query = select(_SESSIONS).order_by(_SESSIONS.c.created_at.desc(), _SESSIONS.c.id)
        if user_key is not None:
            query = query.where(_SESSIONS.c.user_key == user_key)
        if since is not None:
            query = query.where(_SESSIONS.c.created_at >= since)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [self._to_session(row) for row in db.execute(query).mappings()]

    def list_sessions(self, user_key: str | None = None, limit: int = 50) -> list[SessionSummary]:
        sessions = self.sessions(user_key, limit=limit)
        ids = [s.id for s in sessions]
        finals: dict[str, dict[str, float]] = {i: {} for i in ids}
        engines: dict[str, set[str]] = {i: set() for i in ids}
        topics: dict[str, set[str]] = {i: set() for i in ids}
        with self.engine.connect() as db:
            for chunk in _chunks(ids):
                grades = db.execute(
                    select(_ASSESSMENTS.c.session_id, _ASSESSMENTS.c.question_id, _ASSESSMENTS.c.score, _ASSESSMENTS.c.engine)
                    .where(_ASSESSMENTS.c.session_id.in_(chunk))
                    .order_by(_ASSESSMENTS.c.session_id, _ASSESSMENTS.c.turn_seq)
                )
                for session_id, question_id, score, engine in grades:
                    finals[session_id][question_id] = score  # the last grade of a question is its final one
                    engines[session_id].add(engine)
                metas = db.execute(
                    select(_TURNS.c.session_id, _TURNS.c.meta).where(_TURNS.c.session_id.in_(chunk), _TURNS.c.kind == "question")
                )
                for session_id, meta in metas:
                    if meta and meta.get("topic"):
                        topics[session_id].add(meta["topic"])
        return [
            SessionSummary(
                session=s,
                questions=len(finals[s.id]),
                average_score=sum(finals[s.id].values()) / len(finals[s.id]) if finals[s.id] else None,
                engines=sorted(engines[s.id]),
                topics=sorted(topics[s.id]),
            )
            for s in sessions
        ]

    @reconnecting
    def seen_questions(self, user_key: str) -> dict[str, datetime]:
        """When the user was last asked each question, across all their sessions."""
        with self.engine.connect() as db:
            rows = db.execute(_SEEN, {"user_key": user_key}).all()
            return {qid: _as_utc(when) for qid, when in rows if qid}

    # turns --------------------------------------------------------------------------------

    def append_turn(
        self,
        session_id: str,
        *,
        role: str,
        kind: str,
        text: str,
        question_id: str | None = None,
        meta: dict | None = None,
        event_id: str | None = None,
    ) -> TurnRecord | None:
        """Append one turn and commit it. Returns None when ``event_id`` was already stored.

        When the server connection is lost under the write, it is tried again on a fresh one,
        unless the lost attempt had in fact committed (the connection went after the commit
        reached the server), which is then returned as is: never stored twice."""
        pauses = iter(RECONNECT_PAUSES)
        for _attempt in range(5):
            try:
                with self._writing() as db:
                    return self._append(db, session_id, role, kind, text, question_id, meta or {}, event_id)
            except IntegrityError:
                if event_id is not None and self.has_event(session_id, event_id):
                    return None
                continue  # a concurrent writer took the same seq: read the new max and retry
            except DBAPIError as exc:
                pause = next(pauses, None)
                if not lost_connection(exc) or pause is None:
                    raise
                time.sleep(pause)
                landed = self._just_stored(session_id, role, kind, text, question_id, event_id)
                if landed is not None:
                    return landed
        raise StoreError(f"could not append to session {session_id} after 5 attempts")

    def _just_stored(
        self, session_id: str, role: str, kind: str, text: str, question_id: str | None, event_id: str | None
    ) -> TurnRecord | None:
        """The session's last turn if it is this very turn, stored within the last minute."""
        turns = self.turns(session_id)
        if not turns:
            return None
        last = turns[-1]
        same = (last.role, last.kind, last.text, last.question_id) == (role, kind, text, question_id)
        if same and (event_id is None or self.has_event(session_id, event_id)) and (utcnow() - last.created_at).total_seconds() < 60:
            return last
        return None

    @staticmethod
    def _append(
        db: Connection,
        session_id: str,
        role: str,
        kind: str,
        text: str,
        question_id: str | None,
        meta: dict,
        event_id: str | None,
    ) -> TurnRecord:
        now = utcnow()
        if not db.execute(_TOUCH, {"session_id": session_id, "now": now}).rowcount:
            raise StoreError(f"no session {session_id}")
        seq = (db.execute(_LAST_SEQ, {"session_id": session_id}).scalar() or 0) + 1
        db.execute(_INSERT_TURN, {
            "session_id": session_id, "seq": seq, "role": role, "kind": kind, "text": text,
            "question_id": question_id, "meta": meta, "event_id": event_id, "created_at": now,
        })
        return TurnRecord(
            session_id=session_id, seq=seq, role=role, kind=kind, text=text,  # type: ignore[arg-type]
            question_id=question_id, meta=meta, created_at=now,
        )

    @reconnecting
    def has_event(self, session_id: str, event_id: str) -> bool:
        """Whether a turn of the session was stored from this delivery (chat platforms redeliver)."""
        with self.engine.connect() as db:
            return db.execute(_HAS_EVENT, {"session_id": session_id, "event_id": event_id}).first() is not None

    @reconnecting
    def turns(self, session_id: str) -> list[TurnRecord]:
        with self.engine.connect() as db:
            return self._turns(db, session_id)

    @reconnecting
    def transcript(self, session_id: str) -> tuple[list[TurnRecord], dict[int, Assessment]]:
        """Turns and grades of a session, read together in one transaction."""
        with self.engine.connect() as db, db.begin():
            return self._turns(db, session_id), self._assessments(db, session_id)

    @staticmethod
    def _turns(db: Connection, session_id: str) -> list[TurnRecord]:
        rows = db.execute(_TURNS_OF, {"session_id": session_id}).mappings()
        return [
            TurnRecord(
                session_id=r["session_id"], seq=r["seq"], role=r["role"], kind=r["kind"], text=r["text"],
                question_id=r["question_id"], meta=r["meta"] or {}, created_at=_as_utc(r["created_at"]),
            )
            for r in rows
        ]

    # assessments --------------------------------------------------------------------------

    def claim_delivery(self, event_id: str) -> bool:
        """True for the first delivery of a platform event, in this process or any other using
        the store; False for a retry of one already taken in (the primary key decides). Not
        re-run on a dropped connection: the insert may have landed, and the re-run would then
        call the first delivery a retry (the caller takes the event in when this raises)."""
        self._claims += 1
        now = utcnow()
        try:
            with self._writing() as db:
                if self._claims % DELIVERY_PRUNE_EVERY == 0:
                    db.execute(_PRUNE_DELIVERIES, {"cutoff": now - DELIVERY_MEMORY})
                db.execute(_INSERT_DELIVERY, {"event_id": event_id[:255], "created_at": now})
        except IntegrityError:
            return False
        return True

    @reconnecting
    def add_assessment(self, session_id: str, turn_seq: int, assessment: Assessment) -> bool:
        """Store the grade of one candidate turn; False if that turn was already graded."""
        row = assessment.model_dump(mode="json", include=_ASSESSMENT_FIELDS)
        row.update(session_id=session_id, turn_seq=turn_seq, created_at=utcnow())
        try:
            with self._writing() as db:
                db.execute(_INSERT_ASSESSMENT, row)
        except IntegrityError:
            return False
        return True

    @reconnecting
    def assessments(self, session_id: str) -> dict[int, Assessment]:
        """Grades of a session keyed by the seq of the candidate turn they grade."""
        with self.engine.connect() as db:
            return self._assessments(db, session_id)

    @staticmethod
    def _assessments(db: Connection, session_id: str) -> dict[int, Assessment]:
        rows = db.execute(_ASSESSMENTS_OF, {"session_id": session_id}).mappings()
        return {r["turn_seq"]: _assessment(r) for r in rows}

    def transcripts(self, session_ids: list[str]) -> dict[str, tuple[list[TurnRecord], dict[int, Assessment]]]:
        """Turns and grades of many sessions in a few queries (exports of a whole history)."""
        found: dict[str, tuple[list[TurnRecord], dict[int, Assessment]]] = {i: ([], {}) for i in session_ids}
        with self.engine.connect() as db, db.begin():
            for chunk in _chunks(session_ids):
                for r in db.execute(
                    select(_TURNS).where(_TURNS.c.session_id.in_(chunk)).order_by(_TURNS.c.session_id, _TURNS.c.seq)
                ).mappings():
                    found[r["session_id"]][0].append(TurnRecord(
                        session_id=r["session_id"], seq=r["seq"], role=r["role"], kind=r["kind"], text=r["text"],
                        question_id=r["question_id"], meta=r["meta"] or {}, created_at=_as_utc(r["created_at"]),
                    ))
                for r in db.execute(
                    select(_ASSESSMENTS).where(_ASSESSMENTS.c.session_id.in_(chunk))
                    .order_by(_ASSESSMENTS.c.session_id, _ASSESSMENTS.c.turn_seq)
                ).mappings():
                    found[r["session_id"]][1][r["turn_seq"]] = _assessment(r)
        return found

    def delete_session(self, session_id: str) -> bool:
        """Remove a session with all its turns and grades; False when there was none."""
        return self.delete_sessions([session_id]) == 1

    def delete_sessions(self, session_ids: list[str]) -> int:
        """Remove sessions with their turns and grades, in one transaction; returns how many."""
        removed = 0
        with self._writing() as db:
            for chunk in _chunks(session_ids):
                db.execute(delete(_ASSESSMENTS).where(_ASSESSMENTS.c.session_id.in_(chunk)))
                db.execute(delete(_TURNS).where(_TURNS.c.session_id.in_(chunk)))
                removed += db.execute(delete(_SESSIONS).where(_SESSIONS.c.id.in_(chunk))).rowcount
        return removed

    @staticmethod
    def _to_session(row: Mapping[str, Any]) -> Session:
        return Session(
            id=row["id"],
            session_key=row["session_key"],
            user_key=row["user_key"],
            channel=row["channel"],
            status=row["status"],
            options=SessionOptions.model_validate(row["options"] or {}),
            created_at=_as_utc(row["created_at"]),
            updated_at=_as_utc(row["updated_at"]),
        )
