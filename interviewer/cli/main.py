"""The ``interviewer`` command: every command module registered on one app, and the entry point.

Every error a user can cause ends in one clear line and a non-zero exit, never a traceback
(``main``). Heavy imports (torch, the embedding model) happen in the background after the
first question; each command imports what it needs inside itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.markup import escape

from interviewer.cli import bank, db, knowledge, practice, serve
from interviewer.cli.common import UserError, err_console, settings_for
from interviewer.cli.review import progress, transcripts_app
from interviewer.config import ConfigError
from interviewer.knowledge.errors import KnowledgeError
from interviewer.rubrics import RubricError

app = typer.Typer(
    help="Mock interviews for AI/ML jobs, graded against rubrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(practice.practice)
app.command()(knowledge.ingest)
app.command()(knowledge.search)
app.command()(practice.resume)
app.add_typer(bank.rubrics_app, name="rubrics")
app.add_typer(serve.serve_app(), name="serve")
app.add_typer(transcripts_app, name="transcripts")
app.command("progress")(progress)
app.add_typer(db.db_app, name="db")


def main() -> None:
    """Entry point: run the typer app, turning known errors into one line each."""
    from sqlalchemy.exc import DBAPIError

    from interviewer.storage.errors import StoreError

    _log_to_file()
    try:
        app(standalone_mode=False)
    except (UserError, RubricError, ConfigError, StoreError, KnowledgeError) as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        _exit(1)
    except typer.Abort:
        _exit(130)
    except BrokenPipeError:  # the output was closed while we wrote to it (`| head`, a killed `| tee`)
        try:
            sys.stderr.write("Nobody reads the output any more: stopped. An interview in progress is paused and saved; "
                             "continue later with 'interviewer resume'.\n")
            sys.stderr.flush()
        except OSError:
            pass
        os._exit(0)
    except DBAPIError as exc:  # the store failed mid-run: disk full, read-only, damaged, server gone
        from interviewer.storage.errors import failure_message

        _log_crash()
        err_console.print(f"[bold red]error:[/bold red] {escape(failure_message(exc, _database_url()))}", soft_wrap=True)
        _exit(1)
    except Exception as exc:  # click usage errors carry their own exit code and message
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            _exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            _exit(exc.exit_code)
        log_path = _log_crash()
        details = f"details in {log_path}" if log_path else "no crash log (the data folder cannot be written)"
        err_console.print(
            f"[bold red]internal error:[/bold red] {escape(type(exc).__name__)}: {escape(str(exc)[:200])}. "
            f"Answers stored before this are kept; {escape(details)}"
        )
        _exit(70)
    _exit(0)


def _database_url() -> str:
    """The configured store's URL, for a message about it (a placeholder if even that fails)."""
    try:
        return settings_for().resolved_database_url
    except Exception:  # the settings were read before the store failed; this is only a fallback
        return "the transcript store"


def _exit(code: int) -> None:
    """Exit without waiting for background work (model loading, indexing).

    Everything the user gave is committed by now; a daemon thread still inside torch or Chroma
    native code would otherwise abort the interpreter at shutdown.
    """
    import os
    import threading

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # an output nobody reads any more: nothing is left to say
        os._exit(code)
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        os._exit(code)
    sys.exit(code)


def _data_folder() -> Path:
    """Where the logs go: the configured data folder, read without settings that may be broken."""
    import os

    from interviewer.config import default_data_dir

    return Path(os.environ.get("INTERVIEWER_DATA_DIR") or default_data_dir())


def _log_to_file() -> None:
    """Warnings (a model retry, a fallback) go to interviewer.log in the data dir, not over the
    interview: the candidate sees the one-line notice the core writes instead."""
    import logging

    folder = _data_folder()
    root = logging.getLogger()
    logging.raiseExceptions = False  # a log that cannot be written (read-only folder) never prints a traceback
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "interviewer.log", encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    except OSError:
        handler = logging.NullHandler()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _log_crash() -> Path | None:
    """Keep the traceback for a bug report without showing it to the candidate (None when the
    data folder cannot take it, so the message never points at a file that is not there)."""
    import traceback

    path = _data_folder() / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(traceback.format_exc() + "\n")
    except OSError:
        return None
    return path


if __name__ == "__main__":
    main()
