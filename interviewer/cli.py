"""Command line: practice, resume, rubrics and transcripts.

Every error a user can cause ends in one clear line and a non-zero exit, never a traceback.
Heavy imports (torch, the embedding model) happen in the background after the first question.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from interviewer.cli_common import UserError, console, err_console, settings_for
from interviewer.cli_history import progress, transcripts_app
from interviewer.config import ConfigError, Settings
from interviewer.knowledge.errors import KnowledgeError
from interviewer.domain import SessionOptions
from interviewer.rubrics import RubricBank, RubricError, completeness_problems, packaged_material_dir, packaged_rubrics_dir

app = typer.Typer(
    help="Mock interviews for AI/ML jobs, graded against rubrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rubrics_app = typer.Typer(help="Validate and list the question bank.", no_args_is_help=True)
serve_app = typer.Typer(help="Run the interviewer as a chat bot.", no_args_is_help=True)
app.add_typer(rubrics_app, name="rubrics")
app.add_typer(serve_app, name="serve")
app.add_typer(transcripts_app, name="transcripts")
app.command("progress")(progress)
db_app = typer.Typer(help="Migrate and inspect the transcript store ($INTERVIEWER_DATABASE_URL).", no_args_is_help=True)
app.add_typer(db_app, name="db")

MODEL_HELP = (
    "Grade with this LLM (a litellm model string: openai/gpt-4o-mini, anthropic/..., ollama_chat/llama3.1, "
    "or openai/<name> with INTERVIEWER_API_BASE); default: $INTERVIEWER_MODEL, else the offline grader."
)

def _settings(**overrides: object) -> Settings:
    return settings_for(**overrides)


def _run_interview(settings: Settings, *, options: SessionOptions | None, resume: bool, bank: RubricBank | None = None) -> None:
    from interviewer_adapters.repl import CHANNEL, run_session
    from interviewer.app import build_app
    from interviewer.core import InterviewError

    application = build_app(settings, bank=bank)
    interviewer = application.interviewer
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")

    async def go() -> None:
        if resume:
            session = application.store.latest_unfinished(settings.user, CHANNEL)
            if session is None:
                raise UserError("there is no interrupted interview to resume; start one with 'interviewer practice'")
            application.engine.warm_up()
            first = await interviewer.resume(session)
        else:
            assert options is not None
            try:
                session, first = await interviewer.start(user_key=settings.user, channel=CHANNEL, options=options)
            except InterviewError as exc:
                raise UserError(str(exc)) from None
        await run_session(interviewer, session, first, console=console)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        console.print("\n[bold]Interview paused and saved.[/bold] Continue later with [cyan]interviewer resume[/cyan].")


@app.command()
def practice(
    topic: Annotated[list[str], typer.Option("--topic", "-t", help="Topic to practise (repeatable); see 'interviewer rubrics list'.")] = [],
    questions: Annotated[int | None, typer.Option("--questions", "-n", min=1, max=50, help="How many questions.")] = None,
    difficulty: Annotated[int | None, typer.Option("--difficulty", "-d", min=1, max=3, help="Only questions of this level (1-3).")] = None,
    question: Annotated[list[str], typer.Option("--question", "-q", help="Ask this question id (repeatable).")] = [],
    follow_ups: Annotated[int | None, typer.Option("--follow-ups", min=0, max=5, help="Follow-ups per question (default 2).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue your last interrupted interview.")] = False,
    weakest: Annotated[bool, typer.Option("--weakest", help="Drill the questions 'interviewer progress' suggests: your weakest points.")] = False,
    material: Annotated[Path | None, typer.Option("--material", "-m", help="Drill your own notes: questions are generated from this file or folder.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Whose transcripts these are (default: $INTERVIEWER_USER or $USER).")] = None,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Start a mock interview in the terminal."""
    settings = _settings(user=user, model=model)
    if resume:
        _run_interview(settings, options=None, resume=True)
        return
    bank = None
    if weakest:
        if topic or question or material is not None:
            raise UserError("--weakest picks its own questions; it cannot be combined with --topic, --question or --material")
        from interviewer.cli_history import weakest_question_ids

        question = weakest_question_ids(settings.user, questions or settings.questions)
        if not question:
            raise UserError("no graded interviews yet, so there is nothing to drill; start with 'interviewer practice'")
        console.print(f"[dim]Drilling your weakest points: {len(question)} question{'s' if len(question) != 1 else ''} picked from your history.[/dim]")
    if material is not None:
        if topic or question:
            raise UserError("--material builds its own questions; it cannot be combined with --topic or --question")
        bank = _bank_from_notes(settings, material, questions or settings.questions)
    options = SessionOptions(
        topics=topic,
        questions=questions or (len(question) if question else settings.questions),
        difficulty=difficulty,
        question_ids=question,
        max_follow_ups=settings.max_follow_ups if follow_ups is None else follow_ups,
    )
    _run_interview(settings, options=options, resume=False, bank=bank)


def _bank_from_notes(settings: Settings, material: Path, wanted: int) -> RubricBank:
    """Ingest the candidate's notes and generate one question per usable section.

    With a model configured, the ``wanted`` questions to be asked are written by the model.
    """
    from interviewer.domain import RubricFile
    from interviewer.knowledge.generate import NOTES_TOPIC, generate_questions
    from interviewer.knowledge.service import notes_collection_name, open_collection

    if not material.exists():
        raise UserError(f"{material}: no such file or folder")
    kb = open_collection(settings, notes_collection_name(material))
    report = _ingest_with_progress(kb, [material], prune=True)
    questions = generate_questions(kb)
    if not questions:
        raise UserError(
            f"no section of {material} has enough text to build a question "
            "(each question needs a heading followed by at least 3 full sentences)"
        )
    indexed = report.added + report.replaced + report.unchanged
    console.print(
        f"[dim]{len(questions)} questions generated from {indexed} file(s) of your notes "
        "(generated questions are graded against your notes' own key sentences).[/dim]"
    )
    if settings.model:
        questions = _questions_from_model(settings, kb, questions, wanted)
    bank = RubricBank()
    bank.add(RubricFile(version=1, topic=NOTES_TOPIC, title="Your notes", questions=questions), material)
    return bank


def _questions_from_model(settings: Settings, kb, questions: list, wanted: int) -> list:
    """The questions to be asked, rewritten by the model; the offline ones stay where it fails."""
    from interviewer.app import build_engine
    from interviewer.engines.llm import LLMEngine
    from interviewer.knowledge.generate import NOTES_TOPIC
    from interviewer.knowledge.model_questions import rewrite_with_model

    engine = build_engine(settings)
    assert isinstance(engine, LLMEngine)
    with console.status(f"Writing {min(wanted, len(questions))} questions from your notes with {escape(settings.model or '')}..."):
        rewritten, problems = asyncio.run(rewrite_with_model(engine, kb, questions, wanted, NOTES_TOPIC))
    for problem in problems:
        err_console.print(f"[yellow]kept the offline question for[/yellow] {escape(problem)}", soft_wrap=True)
    return rewritten


def _ingest_with_progress(kb, paths: list[Path], *, prune: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from interviewer.knowledge.index import iter_files

    total = len(list(iter_files(paths, [])))
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[chunks]} chunks"), TimeElapsedColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("Indexing", total=total, chunks=0)

        finished = [0]  # chunks of the files done so far

        def advance(path: str, chunks: int) -> None:
            finished[0] = chunks
            progress.update(task, advance=1, chunks=chunks, description=f"Indexing {Path(path).name[:30]}")

        def within(path: str, written: int, total_chunks: int) -> None:
            progress.update(task, chunks=finished[0] + written, description=f"Indexing {Path(path).name[:30]} ({written:,} of {total_chunks:,})")

        report = kb.ingest(paths, prune=prune, progress=advance, on_chunks=within)
    for path, reason in report.problems:
        err_console.print(f"[yellow]skipped[/yellow] {escape(path)}: {escape(reason)}", soft_wrap=True)
    return report


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Markdown, text, HTML or PDF files, or folders of them.")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to add them to.")] = "material",
    prune: Annotated[bool, typer.Option("--prune", help="Remove chunks of files no longer under these paths.")] = False,
) -> None:
    """Index study material for search, feedback and generated questions."""
    from interviewer.knowledge.service import open_collection

    settings = _settings()
    kb = open_collection(settings, collection)
    try:
        report = _ingest_with_progress(kb, paths, prune=prune)
    except KeyboardInterrupt:
        raise UserError("ingest interrupted; files already indexed are kept and the collection is consistent") from None
    console.print(
        f"{report.files} files: {report.added} added, {report.replaced} replaced, {report.unchanged} unchanged"
        f"{f', {report.removed} removed' if prune else ''}; {report.chunks} chunks in {report.seconds:.1f} s"
        f" ({report.chunks_per_second:.0f} chunks/s). Collection '{collection}' holds {kb.count()} chunks."
    )
    if report.problems:
        console.print(f"[yellow]{len(report.problems)} file(s) skipped[/yellow] (see above)")
    if report.added + report.replaced + report.unchanged == 0:
        # A script that ingests and then searches must see the failure, not a success with nothing in it.
        where = ", ".join(str(p) for p in paths)
        raise UserError(f"nothing was ingested from {where}: no readable Markdown, text, HTML or PDF file"
                        f"{' (every file was skipped, see above)' if report.problems else ''}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many chunks.")] = 5,
    collection: Annotated[str, typer.Option("--collection", "-c")] = "material",
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="Only this topic (file name without extension).")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only this source file.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, vector or bm25.")] = "hybrid",
) -> None:
    """Search the study material; every result cites its file and section."""
    from rich.panel import Panel

    from interviewer.knowledge.index import ensure_material
    from interviewer.knowledge.service import MATERIAL, open_collection

    if mode not in ("hybrid", "vector", "bm25"):
        raise UserError(f"--mode must be hybrid, vector or bm25, not {mode!r}")
    settings = _settings()
    kb = open_collection(settings, collection)
    if collection == MATERIAL:
        if kb.count() == 0:
            console.print("[dim]Indexing the study notes (first use, about 15 s)...[/dim]")
        ensure_material(kb)
    elif kb.count() == 0:
        raise UserError(f"collection '{collection}' is empty; add files with 'interviewer ingest PATH -c {collection}'")
    hits = kb.search(query, k=k, mode=mode, topic=topic, source=source)  # type: ignore[arg-type]
    if not hits:
        console.print("No matching material.")
        return
    for rank, hit in enumerate(hits, start=1):
        text = hit.text if len(hit.text) <= 700 else hit.text[:700] + "…"
        console.print(Panel(escape(text), title=f"{rank}. {escape(hit.citation)}", title_align="left", subtitle=f"score {hit.score:.3f}"))


@app.command()
def resume(
    user: Annotated[str | None, typer.Option("--user", help="Whose interview to resume.")] = None,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Continue your last interrupted interview."""
    _run_interview(_settings(user=user, model=model), options=None, resume=True)


@serve_app.command("slack")
def serve_slack(
    http: Annotated[bool, typer.Option("--http", help="Serve the Events API over HTTP instead of Socket Mode.")] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="HTTP port (with --http).")] = 3000,
    host: Annotated[str, typer.Option("--host", help="HTTP address to listen on (with --http).")] = "0.0.0.0",
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Slack threads: Socket Mode by default, the Events API with --http."""
    import os

    from interviewer_adapters.slack import missing_variables, serve
    from interviewer.app import build_app

    missing = missing_variables(dict(os.environ), http=http)
    if missing:
        mode = "the Events API (--http) needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" if http else (
            "Socket Mode needs SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...); "
            "or use --http with SLACK_SIGNING_SECRET"
        )
        raise UserError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: {mode}. See the README's Slack section.")
    settings = _settings(model=model)
    application = build_app(settings)
    application.warm_up_server()
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")
    where = f"the Events API on http://{host}:{port}/slack/events" if http else "Socket Mode"
    console.print(f"Serving Slack over {where}. Ctrl-C stops.")
    try:
        serve(application.interviewer, dict(os.environ), http=http, host=host, port=port, default_questions=settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")


@serve_app.command("discord")
def serve_discord(
    guild: Annotated[int | None, typer.Option("--guild", help="A server id: its slash commands sync at once (global ones take up to an hour). Default: $DISCORD_GUILD_ID.")] = None,
    no_message_content: Annotated[bool, typer.Option("--no-message-content", help="Run without the privileged Message Content intent (answers must mention the bot, or come by DM).")] = False,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Practise in Discord: /interview start opens a private thread."""
    import os

    from interviewer_adapters.discord import serve
    from interviewer.app import build_app

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise UserError("DISCORD_TOKEN is not set: copy the bot token from the Discord developer portal (Bot > Reset Token). See the README's Discord section.")
    guild_id = guild or (int(os.environ["DISCORD_GUILD_ID"]) if os.environ.get("DISCORD_GUILD_ID", "").isdigit() else None)
    settings = _settings(model=model)
    application = build_app(settings)
    application.warm_up_server()
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")
    console.print("Connecting to Discord. Ctrl-C stops.")
    try:
        serve(application.interviewer, token, guild_id=guild_id, message_content=not no_message_content, default_questions=settings.questions)
    except KeyboardInterrupt:
        console.print("Stopped.")


@rubrics_app.command("check")
def rubrics_check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rubric files or folders (default: the packaged bank).")] = None,
) -> None:
    """Validate rubric files; exits non-zero on the first broken file or any incomplete question."""
    bank = RubricBank.load(paths or [packaged_rubrics_dir()])
    material = packaged_material_dir() if not paths else None
    problems = completeness_problems(bank, material)
    total = len(bank.questions)
    scenario = sum(q.kind == "scenario" for q in bank.questions.values())
    examples = sum(len(q.examples) for q in bank.questions.values())
    console.print(f"{len(bank.files)} topics, {total} questions ({scenario} scenario), {examples} graded examples")
    for problem in problems:
        err_console.print(f"[red]problem:[/red] {escape(problem)}")
    if problems:
        raise UserError(f"{len(problems)} problem(s) in the rubric bank")
    console.print("[green]all rubrics valid[/green]")


@rubrics_app.command("list")
def rubrics_list() -> None:
    """Topics with question counts by difficulty, and gaps (uncited points, missing examples)."""
    settings = _settings()
    from interviewer.app import load_bank

    bank = load_bank(settings)
    table = Table(title="Question bank")
    for column in ("Topic", "Title", "Questions", "L1", "L2", "L3", "Scenario", "Uncited points", "Examples"):
        table.add_column(column, no_wrap=column == "Topic")
    for slug, rubric in sorted(bank.files.items()):
        qs = rubric.questions
        uncited = sum(1 for q in qs for p in q.points if not p.cite)
        table.add_row(
            slug, rubric.title, str(len(qs)),
            *(str(sum(q.difficulty == d for q in qs)) for d in (1, 2, 3)),
            str(sum(q.kind == "scenario" for q in qs)),
            str(uncited) if uncited else "-",
            str(sum(len(q.examples) for q in qs)),
        )
    console.print(table)


def _open_store_unmigrated():
    """The configured store without migrating it: the db commands decide when to migrate."""
    from interviewer.store import Store

    return Store(_settings().resolved_database_url, auto_migrate=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the transcript store to the latest schema (run once per deploy, before replicas)."""
    from interviewer.store import HEAD_REVISION

    store = _open_store_unmigrated()
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if before == after:
        console.print(f"Already at revision {after} (head {HEAD_REVISION}).")
    else:
        console.print(f"Upgraded from revision {before or 'none'} to {after}.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the transcript store and whether it is the latest."""
    from interviewer.store import HEAD_REVISION

    store = _open_store_unmigrated()
    try:
        revision = store.revision()
    finally:
        store.close()
    state = "head" if revision == HEAD_REVISION else f"behind head {HEAD_REVISION}: run 'interviewer db upgrade'"
    console.print(f"{revision or 'none'} ({state})")


def main() -> None:
    """Entry point: run the typer app, turning known errors into one line each."""
    from sqlalchemy.exc import DBAPIError

    from interviewer.store import StoreError

    _log_to_file()
    try:
        app(standalone_mode=False)
    except (UserError, RubricError, ConfigError, StoreError, KnowledgeError) as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        _exit(1)
    except typer.Abort:
        _exit(130)
    except DBAPIError as exc:  # the store failed mid-run: disk full, read-only, damaged, server gone
        from interviewer.store import failure_message

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
        err_console.print(
            f"[bold red]internal error:[/bold red] {escape(type(exc).__name__)}: {escape(str(exc)[:200])}. "
            f"Answers stored before this are kept; details in {log_path}"
        )
        _exit(70)
    _exit(0)


def _database_url() -> str:
    """The configured store's URL, for a message about it (a placeholder if even that fails)."""
    try:
        return _settings().resolved_database_url
    except Exception:  # the settings were read before the store failed; this is only a fallback
        return "the transcript store"


def _exit(code: int) -> None:
    """Exit without waiting for background work (model loading, indexing).

    Everything the user gave is committed by now; a daemon thread still inside torch or Chroma
    native code would otherwise abort the interpreter at shutdown.
    """
    import os
    import threading

    sys.stdout.flush()
    sys.stderr.flush()
    if any(t.is_alive() for t in threading.enumerate() if t is not threading.main_thread()):
        os._exit(code)
    sys.exit(code)


def _log_to_file() -> None:
    """Warnings (a model retry, a fallback) go to interviewer.log in the data dir, not over the
    interview: the candidate sees the one-line notice the core writes instead."""
    import logging
    import os

    from interviewer.config import default_data_dir

    folder = Path(os.environ.get("INTERVIEWER_DATA_DIR") or default_data_dir())
    root = logging.getLogger()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(folder / "interviewer.log", encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    except OSError:
        handler = logging.NullHandler()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _log_crash() -> Path:
    """Keep the traceback for a bug report without showing it to the candidate."""
    import traceback

    from interviewer.config import default_data_dir

    path = default_data_dir() / "crash.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(traceback.format_exc() + "\n")
    except OSError:
        pass
    return path


if __name__ == "__main__":
    main()
