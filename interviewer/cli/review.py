"""The review commands: ``transcripts list|show|export|delete`` and ``progress``.

They read the same records (``interviewer.interview.records``) as the chat adapters' history views, and
only ever the transcripts of one user: ``--user`` or, by default, the configured one.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from interviewer.cli.common import UserError, console, err_console, settings_for
from interviewer.text import plural

transcripts_app = typer.Typer(help="Review, export and delete saved interviews.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)\s*([dhw])$")


def parse_since(value: str | None) -> datetime | None:
    """'2026-11-01', '2026-11-01T18:00' or a relative '7d', '12h', '2w' (ago), as UTC."""
    if value is None:
        return None
    text = value.strip().lower()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        return datetime.now(timezone.utc) - delta
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--since {value!r}: use a date like 2026-11-01 or an age like 7d, 12h or 2w") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _open(user: str | None):
    from interviewer.app import load_bank
    from interviewer.storage.store import Store

    settings = settings_for(user=user)
    return settings, Store(settings.resolved_database_url), load_bank(settings)


def _one_session(store, session_id: str, user: str):
    from interviewer.storage.store import MIN_ID_PREFIX

    if len(session_id.strip()) < MIN_ID_PREFIX:
        raise UserError(f"no interview '{session_id}': an id prefix needs at least {MIN_ID_PREFIX} characters "
                        "(see 'interviewer transcripts list')")
    session = store.find_session(session_id.strip(), user_key=user)
    if session is None:  # someone else's id looks exactly like a missing one
        raise UserError(f"no interview '{session_id}' of user {user} (see 'interviewer transcripts list')")
    return session


def _topic(bank, topic: str | None) -> str | None:
    from interviewer.rubrics import RubricError

    if topic is None:
        return None
    try:
        return bank.resolve_topic(topic)
    except RubricError as exc:
        raise UserError(str(exc)) from None


@transcripts_app.command("list")
def transcripts_list(
    user: Annotated[str | None, typer.Option("--user", help="Whose transcripts (default: you).")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Only interviews with a question on this topic.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Only interviews started since a date (2026-11-01) or an age (7d).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 30,
) -> None:
    """Your saved interviews, newest first."""
    from interviewer.interview.records import load_records

    settings, store, bank = _open(user)
    records = load_records(store, bank, user=settings.user, topic=_topic(bank, topic), since=parse_since(since), limit=limit)
    if not records:
        console.print(f"No saved interviews of {escape(settings.user)}" + (" match these filters." if topic or since else " yet. Start one with 'interviewer practice'."))
        return
    channels = sorted({r.channel for r in records})
    via = f" in {channels[0]}" if len(channels) == 1 else ""
    engine_of = {r.id: ", ".join(r.models) or ", ".join(r.engines) or "-" for r in records}
    engines = sorted(set(engine_of.values()))
    graded = f" · graded by {escape(engines[0])}" if len(engines) == 1 else ""
    narrow = console.width < 100  # the topics need the room more than the duration does
    table = Table(title=f"Interviews of {escape(settings.user)}{via}{graded}", box=box.SIMPLE_HEAD, pad_edge=False,
                  expand=True, show_edge=False)
    columns = ["ID", "Started (UTC)", "Topics", "Qs", "Avg"] + ([] if graded else ["Engine"]) + ([] if narrow else ["Took"])
    columns += ["State"] + ([] if via else ["Via"])
    for column in columns:
        wraps = column == "Topics"
        table.add_column(column, no_wrap=not wraps, ratio=1 if wraps else None, min_width=14 if wraps else None,
                         overflow="fold" if wraps else "ellipsis", max_width=22 if column == "Engine" else None)
    for r in records:
        cells = {
            "ID": r.id[:8], "Started (UTC)": f"{r.started_at:%Y-%m-%d %H:%M}", "Topics": ", ".join(r.topics) or "-",
            "Qs": str(len(r.questions)), "Avg": f"{r.average:.1f}" if r.average is not None else "-", "Engine": escape(engine_of[r.id]),
            "Took": f"{r.duration_seconds / 60:.0f} min", "State": "done" if r.status == "finished" else "open", "Via": r.channel,
        }
        table.add_row(*(cells[c] for c in columns))
    console.print(table)


@transcripts_app.command("show")
def transcripts_show(
    session_id: Annotated[str, typer.Argument(help="Session id (or the first characters shown by 'transcripts list').")],
    user: Annotated[str | None, typer.Option("--user")] = None,
) -> None:
    """The whole interview: questions, answers with evidence highlighted, verdicts, feedback, model answers."""
    from interviewer.interview.records import load_records
    from interviewer.review.text_view import render_transcript

    settings, store, bank = _open(user)
    session = _one_session(store, session_id, settings.user)
    [record] = load_records(store, bank, user=settings.user, sessions=[session])
    render_transcript(console, record)


@transcripts_app.command("export")
def transcripts_export(
    session_id: Annotated[str | None, typer.Argument(help="Session id; leave out with --all.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, json or html.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: standard output).")] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="The user's whole history (with --topic/--since to narrow it).")] = False,
    user: Annotated[str | None, typer.Option("--user")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    force_path: Annotated[bool, typer.Option("--force-path", help="Allow an output path outside the usual places (never system directories).")] = False,
) -> None:
    """Export one interview, or your whole history, as Markdown, JSON (versioned schema) or one HTML file.

    -o takes a path inside the current directory, your home or temporary directory or the data
    dir's exports folder; '..' may not climb out of the current directory (see export_path).
    """
    from interviewer.interview.records import load_records
    from interviewer.review.export import FORMATS, OutputPathError, export_path, render

    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if all_sessions == (session_id is not None):
        raise UserError("name one interview to export, or pass --all for the whole history")
    settings, store, bank = _open(user)
    if output is not None:  # checked before anything is read, so a refused path costs nothing
        try:
            output = export_path(output, settings.data_dir, anywhere=force_path)
        except OutputPathError as exc:
            raise UserError(str(exc)) from None
    if all_sessions:
        records = load_records(store, bank, user=settings.user, topic=_topic(bank, topic), since=parse_since(since))
    else:
        records = load_records(store, bank, user=settings.user, sessions=[_one_session(store, session_id or "", settings.user)])
    text = render(records, fmt, settings.user)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror}") from None
    err_console.print(f"Wrote {plural(len(records), 'interview')} to {escape(str(output))} ({fmt}, {len(text.encode()):,} bytes).")


@transcripts_app.command("delete")
def transcripts_delete(
    session_id: Annotated[str | None, typer.Argument(help="Session id; leave out with --all.")] = None,
    all_sessions: Annotated[bool, typer.Option("--all", help="Every interview of the user.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask for confirmation.")] = False,
    user: Annotated[str | None, typer.Option("--user")] = None,
) -> None:
    """Delete an interview (or all of yours) with every answer and grade. This cannot be undone."""
    if all_sessions == (session_id is not None):
        raise UserError("name one interview to delete, or pass --all to delete the whole history")
    settings, store, _ = _open(user)
    sessions = store.sessions(settings.user) if all_sessions else [_one_session(store, session_id or "", settings.user)]
    if not sessions:
        console.print(f"{escape(settings.user)} has no saved interviews.")
        return
    what = f"all {len(sessions)} interviews of {settings.user}" if all_sessions else f"interview {sessions[0].id[:8]}"
    if not yes:
        if not sys.stdin.isatty():
            raise UserError(f"deleting {what} needs confirmation: run it in a terminal, or add --yes")
        typer.confirm(f"Delete {what} with every answer and grade? This cannot be undone", abort=True)
    removed = store.delete_sessions([s.id for s in sessions])
    console.print(f"Deleted {plural(removed, 'interview')} of {escape(settings.user)}.")


def progress(
    user: Annotated[str | None, typer.Option("--user", help="Whose progress (default: you).")] = None,
    suggest: Annotated[int, typer.Option("--suggest", min=1, max=20, help="How many questions to suggest.")] = 5,
) -> None:
    """Your trend per topic, the rubric points you keep missing, and what to practise next."""
    from interviewer.interview.records import load_records
    from interviewer.review.progress import progress_report
    from interviewer.review.progress_view import render_progress

    settings, store, bank = _open(user)
    records = load_records(store, bank, user=settings.user)
    render_progress(console, progress_report(records, bank, suggest=suggest))


def weakest_question_ids(user: str, count: int) -> list[str]:
    """The suggested practice set of ``interviewer progress``, for ``practice --weakest``."""
    from interviewer.interview.records import load_records
    from interviewer.review.progress import progress_report

    settings, store, bank = _open(user)
    report = progress_report(load_records(store, bank, user=settings.user), bank, suggest=count)
    return [s.question_id for s in report.suggested]
