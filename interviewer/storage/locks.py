"""Exclusive holds across processes: one turn of a session at a time, one migration at a time.

See ``SessionHold`` for the choice of mechanism (PostgreSQL advisory locks, ``flock`` files
beside a SQLite store, nothing for an in-memory one).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from interviewer.storage.errors import StoreError, reconnecting

# Two halves of one 64-bit advisory key: a constant naming this application, so our locks never
# collide with another program's on a shared server, and a hash of the session id.
ADVISORY_NAMESPACE = 0x1E7E  # "interviewer"
ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:session_id))")
LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '300s'")
# Hold connections per process (PostgreSQL). With SQLAlchemy's default 15 for statements, a
# replica opens at most 27 connections: three fit under PostgreSQL's default max_connections
# (100) with room for migrations and tools. More sessions than this at once wait their turn.
LOCK_CONNECTIONS = 12
LOCK_WAIT_SECONDS = 300.0  # as long as a hold itself may be waited for (lock_timeout above)
MIGRATION_KEY = "schema migration"  # hashed like a session id; no session id has a space
LOCK_STRIPES = 4096


class Locks:
    """Where a store's holds live: a small pool of PostgreSQL connections kept for advisory locks,
    or a folder of lock files beside a SQLite file, or nothing (one process only)."""

    def __init__(self, url: str, dialect: str) -> None:
        # Hold connections sit idle in a transaction for a whole turn: a pool of their own, so
        # that many sessions at once never starve the statements of connections, and a bounded
        # one, so that several replicas together stay under the server's max_connections.
        self.engine: Engine | None = (
            create_engine(url, pool_size=LOCK_CONNECTIONS, max_overflow=0, pool_timeout=LOCK_WAIT_SECONDS, pool_pre_ping=True)
            if dialect == "postgresql" else None
        )
        # Waiting for a hold blocks a thread; these threads are the holds' own, never the threads
        # that the holders need for their statements (that would deadlock under load).
        self.waits: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(max_workers=LOCK_CONNECTIONS, thread_name_prefix="interviewer-hold")
            if self.engine is not None else None
        )
        self.folder: Path | None = lock_folder_for(url) if dialect == "sqlite" else None  # OSError: the caller says why

    def session(self, session_id: str) -> SessionHold:
        return SessionHold(self, session_id)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        if self.waits is not None:
            self.waits.shutdown(wait=False, cancel_futures=True)


class SessionHold:
    """Exclusive hold of one session across processes, for as long as one turn is handled.

    Chosen over a lease column with an optimistic version: both mechanisms below are released by
    the operating system or the database the instant the holder dies (a SIGKILLed replica leaves
    nothing to expire, so another replica resumes at once), they need no schema change, no
    clock, no heartbeat during a slow model call and no extra write per turn.

    - PostgreSQL: ``pg_advisory_xact_lock`` taken in a transaction on a connection of its own,
      kept open while the turn runs and rolled back after. The server drops the lock with the
      transaction, and drops the transaction when the client's connection closes.
    - SQLite file: ``flock`` on one of LOCK_STRIPES files beside the database, picked by the
      session id. The kernel drops it with the process. SQLite already admits one writer at a
      time; this keeps whole turns apart.
    - Anything else (``:memory:``, platforms without ``fcntl``): one process only, so the
      per-session asyncio lock in the core is all the exclusion there is to have.

    The grade itself is also guarded by the unique key on (session_id, turn_seq): even without
    ownership two processes could never store two grades for one turn.
    """

    def __init__(self, locks: Locks, session_id: str) -> None:
        self._locks = locks
        self._session_id = session_id
        self._release: Any = None

    @property
    def local(self) -> bool:
        """True when taking and dropping the hold are system calls on this machine (no network),
        cheap enough for an event loop to make directly."""
        return self._locks.engine is None

    def try_now(self) -> bool:
        """Take the hold if that needs neither waiting nor the network; False: call ``acquire``."""
        if not self.local:
            return False
        if self._locks.folder is not None:
            self._release = self._flock(self._locks.folder, wait=False)
            return self._release is not None
        return True

    async def wait(self) -> None:
        """``acquire`` from an event loop: the wait runs on a thread kept for waiting on holds."""
        await asyncio.get_running_loop().run_in_executor(self._locks.waits, self.acquire)

    def acquire(self) -> None:
        """Block until this process owns the session."""
        if self._locks.engine is not None:
            self._release = self._advisory()
        elif self._locks.folder is not None:
            self._release = self._flock(self._locks.folder, wait=True)

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> SessionHold:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the session from an event loop. An uncontended local hold (SQLite's flock) is
        taken directly, so the single-process path costs no thread hop; anything that may wait
        or use the network runs on the holds' own threads. If the waiting task is cancelled,
        the hold is released as soon as the thread gets it."""
        if not self.try_now():
            acquiring = asyncio.ensure_future(self.wait())
            try:
                await asyncio.shield(acquiring)
            except asyncio.CancelledError:
                acquiring.add_done_callback(lambda done: done.cancelled() or done.exception() or self.release())
                raise
        try:
            yield
        finally:
            if self.local:
                self.release()
            else:
                await asyncio.to_thread(self.release)

    @reconnecting
    def _advisory(self) -> Any:
        connection = self._locks.engine.connect()
        try:
            connection.begin()
            connection.execute(LOCK_TIMEOUT)
            connection.execute(ADVISORY_LOCK, {"namespace": ADVISORY_NAMESPACE, "session_id": self._session_id})
        except BaseException:
            connection.close()
            raise

        def release() -> None:
            try:
                connection.rollback()  # ends the transaction, and the lock with it
            except DBAPIError:  # the server had already closed the connection: the lock went with it
                pass
            finally:
                connection.close()

        return release

    def _flock(self, folder: Path, *, wait: bool) -> Any:
        """The release of a held ``flock``; None when ``wait`` is False and another holds it."""
        import fcntl

        # One of LOCK_STRIPES files, not one per session: the folder stays bounded however many
        # sessions there are; two sessions sharing a stripe only take turns, rarely.
        stripe = int(hashlib.sha1(self._session_id.encode()).hexdigest()[:8], 16) % LOCK_STRIPES
        name = f"{stripe:04x}"
        try:
            handle = open(folder / name, "a+b")  # noqa: SIM115 - closed by release()
        except OSError as exc:  # a data folder made read-only after the store was created
            raise StoreError(
                f"cannot use the transcript store: its lock file {folder / name} cannot be opened ({exc.strerror}): "
                f"make {folder} writable"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        except BaseException:
            handle.close()
            raise

        def release() -> None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

        return release


def lock_folder_for(url: str) -> Path | None:
    """Where a SQLite file store keeps its per-session lock files (None: no cross-process locks)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: one process per SQLite store
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    folder = Path(database).expanduser()
    folder = folder.with_name(folder.name + ".owners")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def migration_lock(folder: Path | None) -> Iterator[None]:
    """``flock`` on the lock folder's migration file (PostgreSQL takes an advisory lock instead)."""
    if folder is None:
        yield
        return
    import fcntl

    with open(folder / "migrate", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield
