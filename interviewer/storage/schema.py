"""The schema at its head revision: alembic migrations, run once however many replicas start together."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from interviewer.storage.locks import ADVISORY_LOCK, ADVISORY_NAMESPACE, MIGRATION_KEY, migration_lock

HEAD_REVISION = "0004"


def migrate(engine: Engine, lock_dir: Path | None = None) -> None:
    """Bring the schema to the head revision with alembic (imported only when needed).

    Replicas started together on an empty database all see it behind head and migrate at once;
    without a lock the second one fails on a table the first just created. So the upgrade holds
    a migration lock: an advisory lock in the migrating transaction on PostgreSQL (its DDL is
    transactional, so the next holder finds the schema at head and does nothing), or ``flock``
    on a file in ``lock_dir`` for a SQLite file.
    """
    with migration_lock(lock_dir):
        upgrade_to_head(engine)


def upgrade_to_head(engine: Engine) -> None:
    """The alembic upgrade itself; the caller holds the SQLite file lock when there is one."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "interviewer.storage:migrations")
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(ADVISORY_LOCK, {"namespace": ADVISORY_NAMESPACE, "session_id": MIGRATION_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database; None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
