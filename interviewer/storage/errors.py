"""What goes wrong with a store, said in one line with the fix; and the retry on a dropped connection."""

from __future__ import annotations

import functools
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError


class StoreError(Exception):
    """The store cannot be opened or written; the message is shown to the user as is."""


def failure_message(exc: BaseException, url: str, *, writing: bool = True) -> str:
    """One line for a database error met while using the store: what failed, where, and the fix.
    Whatever the user gave before the failing statement was committed; whatever that statement
    carried was not, and the message says so (``writing``) instead of claiming all was saved."""
    cause = failure_cause(exc, url)
    if not writing:
        return f"cannot open the transcript store: {cause}."
    return (f"{cause}. Everything stored before this was kept; what was being written when it happened "
            "(your last answer, if you had just given one) was NOT saved. Then run 'interviewer resume' to go on.")


def failure_kind(exc: BaseException) -> str:
    """What went wrong with the store, in one word: full, read-only, damaged or failed."""
    lowered = one_line(getattr(exc, "orig", None) or exc).lower()
    if "disk is full" in lowered or "no space left" in lowered:
        return "full"
    if "readonly" in lowered or "read-only" in lowered or "unable to open database file" in lowered or "permission denied" in lowered:
        return "read-only"
    if "malformed" in lowered or "not a database" in lowered:
        return "damaged"
    return "failed"


def failure_cause(exc: BaseException, url: str) -> str:
    """What is wrong with the store and the fix, in words (no trailing full stop)."""
    reason = one_line(getattr(exc, "orig", None) or exc)
    sqlite = url.startswith("sqlite:///")
    where = url.removeprefix("sqlite:///") if sqlite else shown_url(url)
    folder = str(Path(where).parent) if sqlite else where
    kind = failure_kind(exc)
    if kind == "full":
        return f"the disk holding {where} is full: free some space there"
    if kind == "read-only":
        return f"{where} cannot be written: make {folder} writable, or point INTERVIEWER_DATABASE_URL at a place that is"
    if kind == "damaged":
        return (f"{where} is damaged or not an SQLite database: move it aside (mv {shlex.quote(where)} "
                f"{shlex.quote(where + '.broken')}) and run again to start a new one")
    if not sqlite:
        return f"the database server at {where} failed or cannot be reached ({reason}): check that it is running"
    return f"the transcript store {where} failed ({reason})"


class AnswerKept(StoreError):
    """The store refused an answer, which was kept in the spool instead: not lost, not yet stored."""

    def __init__(self, cause: str, spool: Path) -> None:
        self.spool = spool
        super().__init__(
            f"{cause}. Your last answer could not be written to the store, but it is kept in {spool}; "
            "once that is fixed, run 'interviewer resume' and it is stored and graded (no need to type it again)."
        )


RECONNECT_PAUSES = (0.05, 0.3, 1.0, 3.0)
"""Seconds to wait before each new attempt at a statement whose server connection was lost (a
restart, a failover, an idle timeout): about 4 s in all, then the error goes to the user."""

Result = TypeVar("Result")


def lost_connection(exc: DBAPIError) -> bool:
    return bool(exc.connection_invalidated)


def reconnecting(method: Callable[..., Result]) -> Callable[..., Result]:
    """Run a store method again on a fresh connection when the server dropped the one it ran on.
    Only for methods that are safe to repeat: reads, and writes that a unique key or their own
    check keeps from being applied twice."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Result:
        for pause in RECONNECT_PAUSES:
            try:
                return method(*args, **kwargs)
            except DBAPIError as exc:
                if not lost_connection(exc):
                    raise
                time.sleep(pause)
        return method(*args, **kwargs)

    return run


def shown_url(url: str) -> str:
    """The URL as it may appear in a message: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: it holds no parsable password either
        return url


def one_line(exc: BaseException) -> str:
    """A driver's message on one line (psycopg spreads a refused connection over three)."""
    return " ".join(str(exc).split())
