"""The transcript store: sessions, append-only turns and assessments, over SQLAlchemy.

SQLite (the default) runs in WAL mode so a process killed mid-write leaves every committed
turn intact; each append is its own transaction, committed before grading starts.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from interviewer.domain import Assessment, Session, SessionOptions, TurnRecord, utcnow
from interviewer.tables import AssessmentRow, SessionRow, TurnRow

HEAD_REVISION = "0002"


class StoreError(Exception):
    """The store cannot be opened or written; the message is shown to the user as is."""


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the head revision with alembic (imported only when needed)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "interviewer:migrations")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


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
        try:
            self.engine = create_engine(url, future=True)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"cannot open the transcript store at {url!r}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: AbstractContextManager[object] = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        if auto_migrate:
            try:
                if current_revision(self.engine) != HEAD_REVISION:
                    migrate(self.engine)
            except OperationalError as exc:
                raise StoreError(f"cannot open the transcript store at {url!r}: {exc.orig}") from None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _writing(self) -> Iterator[OrmSession]:
        """A write transaction. SQLite takes one writer at a time and makes the others sleep in
        its busy handler (in steps of up to 100 ms); queueing writers on a lock in this process
        instead hands the database over the moment it is free."""
        with self._write_lock, self._sessions.begin() as db:
            yield db

    # sessions -----------------------------------------------------------------------------

    def create_session(
        self, *, user_key: str, channel: str, options: SessionOptions, session_key: str | None = None
    ) -> Session:
        now = utcnow()
        session_id = uuid.uuid4().hex
        row = SessionRow(
            id=session_id,
            session_key=session_key or session_id,
            user_key=user_key,
            channel=channel,
            status="active",
            options=options.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
        )
        with self._writing() as db:
            db.add(row)
        return self._to_session(row)

    def get_session(self, session_id: str) -> Session | None:
        with self._sessions() as db:
            row = db.get(SessionRow, session_id)
            return self._to_session(row) if row else None

    def find_session(self, prefix: str, user_key: str | None = None) -> Session | None:
        """A session by full id or unique id prefix (as printed in listings)."""
        if not prefix or not all(c in "0123456789abcdef" for c in prefix.lower()):
            return None
        with self._sessions() as db:
            query = select(SessionRow).where(SessionRow.id.startswith(prefix.lower()))
            if user_key is not None:
                query = query.where(SessionRow.user_key == user_key)
            rows = db.scalars(query.limit(2)).all()
            return self._to_session(rows[0]) if len(rows) == 1 else None

    def active_session(self, session_key: str) -> Session | None:
        with self._sessions() as db:
            row = db.scalars(
                select(SessionRow)
                .where(SessionRow.session_key == session_key, SessionRow.status == "active")
                .order_by(SessionRow.created_at.desc())
                .limit(1)
            ).first()
            return self._to_session(row) if row else None

    def latest_unfinished(self, user_key: str, channel: str | None = None) -> Session | None:
        with self._sessions() as db:
            query = select(SessionRow).where(SessionRow.user_key == user_key, SessionRow.status == "active")
            if channel:
                query = query.where(SessionRow.channel == channel)
            row = db.scalars(query.order_by(SessionRow.updated_at.desc()).limit(1)).first()
            return self._to_session(row) if row else None

    def finish_session(self, session_id: str) -> None:
        now = utcnow()
        with self._writing() as db:
            row = db.get(SessionRow, session_id)
            if row is not None:
                row.status = "finished"
                row.finished_at = now
                row.updated_at = now

    def list_sessions(self, user_key: str | None = None, limit: int = 50) -> list[SessionSummary]:
        with self._sessions() as db:
            query = select(SessionRow).order_by(SessionRow.created_at.desc()).limit(limit)
            if user_key is not None:
                query = query.where(SessionRow.user_key == user_key)
            rows = db.scalars(query).all()
            summaries = []
            for row in rows:
                grades = db.execute(
                    select(AssessmentRow.question_id, AssessmentRow.score, AssessmentRow.engine)
                    .where(AssessmentRow.session_id == row.id)
                    .order_by(AssessmentRow.turn_seq)
                ).all()
                final: dict[str, float] = {}
                for question_id, score, _ in grades:
                    final[question_id] = score  # the last grade of a question is its final one
                topics = db.scalars(
                    select(TurnRow.meta).where(TurnRow.session_id == row.id, TurnRow.kind == "question")
                ).all()
                summaries.append(
                    SessionSummary(
                        session=self._to_session(row),
                        questions=len(final),
                        average_score=sum(final.values()) / len(final) if final else None,
                        engines=sorted({engine for _, _, engine in grades}),
                        topics=sorted({m.get("topic", "") for m in topics if m.get("topic")}),
                    )
                )
            return summaries

    def seen_questions(self, user_key: str) -> dict[str, datetime]:
        """When the user was last asked each question, across all their sessions."""
        with self._sessions() as db:
            rows = db.execute(
                select(TurnRow.question_id, func.max(TurnRow.created_at))
                .join(SessionRow, SessionRow.id == TurnRow.session_id)
                .where(SessionRow.user_key == user_key, TurnRow.kind == "question")
                .group_by(TurnRow.question_id)
            ).all()
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
        """Append one turn and commit it. Returns None when ``event_id`` was already stored."""
        for _attempt in range(5):
            try:
                with self._writing() as db:
                    return self._append(db, session_id, role, kind, text, question_id, meta or {}, event_id)
            except IntegrityError:
                if event_id is not None and self._has_event(session_id, event_id):
                    return None
                continue  # a concurrent writer took the same seq: read the new max and retry
        raise StoreError(f"could not append to session {session_id} after 5 attempts")

    def _append(
        self,
        db: OrmSession,
        session_id: str,
        role: str,
        kind: str,
        text: str,
        question_id: str | None,
        meta: dict,
        event_id: str | None,
    ) -> TurnRecord:
        # Plain statements, not ORM objects: this runs for every line of every interview.
        now = utcnow()
        touched = db.execute(update(SessionRow).where(SessionRow.id == session_id).values(updated_at=now)).rowcount
        if not touched:
            raise StoreError(f"no session {session_id}")
        seq = (db.scalar(select(func.max(TurnRow.seq)).where(TurnRow.session_id == session_id)) or 0) + 1
        db.execute(
            insert(TurnRow).values(
                session_id=session_id, seq=seq, role=role, kind=kind, text=text,
                question_id=question_id, meta=meta, event_id=event_id, created_at=now,
            )
        )
        return TurnRecord(
            session_id=session_id, seq=seq, role=role, kind=kind, text=text,  # type: ignore[arg-type]
            question_id=question_id, meta=meta, created_at=now,
        )

    def _has_event(self, session_id: str, event_id: str) -> bool:
        with self._sessions() as db:
            return db.scalar(
                select(func.count()).where(TurnRow.session_id == session_id, TurnRow.event_id == event_id)
            ) > 0

    def turns(self, session_id: str) -> list[TurnRecord]:
        with self._sessions() as db:
            return self._turns(db, session_id)

    def transcript(self, session_id: str) -> tuple[list[TurnRecord], dict[int, Assessment]]:
        """Turns and grades of a session, read together in one transaction."""
        with self._sessions() as db:
            return self._turns(db, session_id), self._assessments(db, session_id)

    @staticmethod
    def _turns(db: OrmSession, session_id: str) -> list[TurnRecord]:
        rows = db.scalars(select(TurnRow).where(TurnRow.session_id == session_id).order_by(TurnRow.seq)).all()
        return [
            TurnRecord(
                session_id=r.session_id, seq=r.seq, role=r.role, kind=r.kind, text=r.text,  # type: ignore[arg-type]
                question_id=r.question_id, meta=r.meta or {}, created_at=_as_utc(r.created_at),
            )
            for r in rows
        ]

    # assessments --------------------------------------------------------------------------

    def add_assessment(self, session_id: str, turn_seq: int, assessment: Assessment) -> bool:
        """Store the grade of one candidate turn; False if that turn was already graded."""
        row = dict(
            session_id=session_id,
            turn_seq=turn_seq,
            question_id=assessment.question_id,
            verdicts=[v.model_dump(mode="json") for v in assessment.verdicts],
            misconceptions=[m.model_dump(mode="json") for m in assessment.misconceptions],
            score=assessment.score,
            engine=assessment.engine,
            model=assessment.model,
            prompt_version=assessment.prompt_version,
            rubric_hash=assessment.rubric_hash,
            latency_ms=assessment.latency_ms,
            tokens=assessment.tokens,
            cost=assessment.cost,
            notes=assessment.notes,
            tokens_in=assessment.tokens_in,
            tokens_out=assessment.tokens_out,
            fallback=assessment.fallback,
            utterance=assessment.utterance,
            follow_up_point=assessment.follow_up_point,
            created_at=utcnow(),
        )
        try:
            with self._writing() as db:
                db.execute(insert(AssessmentRow).values(**row))
        except IntegrityError:
            return False
        return True

    def assessments(self, session_id: str) -> dict[int, Assessment]:
        """Grades of a session keyed by the seq of the candidate turn they grade."""
        with self._sessions() as db:
            return self._assessments(db, session_id)

    @staticmethod
    def _assessments(db: OrmSession, session_id: str) -> dict[int, Assessment]:
        rows = db.scalars(
            select(AssessmentRow).where(AssessmentRow.session_id == session_id).order_by(AssessmentRow.turn_seq)
        ).all()
        return {
            r.turn_seq: Assessment(
                question_id=r.question_id, verdicts=r.verdicts, misconceptions=r.misconceptions,
                score=r.score, engine=r.engine, model=r.model, prompt_version=r.prompt_version,
                rubric_hash=r.rubric_hash, latency_ms=r.latency_ms, tokens=r.tokens, cost=r.cost,
                notes=r.notes or [], tokens_in=r.tokens_in, tokens_out=r.tokens_out, fallback=r.fallback,
                utterance=r.utterance, follow_up_point=r.follow_up_point,
            )
            for r in rows
        }

    def delete_session(self, session_id: str) -> None:
        with self._writing() as db:
            db.execute(delete(AssessmentRow).where(AssessmentRow.session_id == session_id))
            db.execute(delete(TurnRow).where(TurnRow.session_id == session_id))
            db.execute(delete(SessionRow).where(SessionRow.id == session_id))

    @staticmethod
    def _to_session(row: SessionRow) -> Session:
        return Session(
            id=row.id,
            session_key=row.session_key,
            user_key=row.user_key,
            channel=row.channel,
            status=row.status,  # type: ignore[arg-type]
            options=SessionOptions.model_validate(row.options or {}),
            created_at=_as_utc(row.created_at),
            updated_at=_as_utc(row.updated_at),
        )
