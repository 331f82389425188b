"""``interviewer practice`` and ``resume``: an interview in this terminal, from the bank or from your notes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from interviewer.cli.common import UserError, console, err_console, settings_for
from interviewer.cli.knowledge import ingest_with_progress
from interviewer.config import Settings
from interviewer.domain import SessionOptions
from interviewer.plugins import MODEL_HELP
from interviewer.rubrics import RubricBank
from interviewer.text import plural

if TYPE_CHECKING:
    from interviewer.knowledge.generate import SkippedSection




def _run_interview(settings: Settings, *, options: SessionOptions | None, resume: bool, bank: RubricBank | None = None) -> None:
    from interviewer.app import build_app
    from interviewer.interview.session import InterviewError
    from interviewer_adapters.repl import CHANNEL, run_session

    application = build_app(settings, bank=bank)
    interviewer = application.interviewer
    if options is not None:  # a mistyped topic or id is the one line shown, before anything else
        try:
            options = interviewer.validate(options)
        except InterviewError as exc:
            raise UserError(str(exc)) from None
    console.print(f"[dim]Engine: {escape(settings.engine_label)}[/dim]")

    async def go() -> None:
        if resume:
            session = await interviewer.latest_unfinished(settings.user, CHANNEL)
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
    settings = settings_for(user=user, model=model)
    if resume:
        _run_interview(settings, options=None, resume=True)
        return
    bank = None
    if weakest:
        if topic or question or material is not None:
            raise UserError("--weakest picks its own questions; it cannot be combined with --topic, --question or --material")
        from interviewer.cli.review import weakest_question_ids

        question = weakest_question_ids(settings.user, questions or settings.questions)
        if not question:
            raise UserError("no graded interviews yet, so there is nothing to drill; start with 'interviewer practice'")
        console.print(f"[dim]Drilling your weakest points: {plural(len(question), 'question')} picked from your history.[/dim]")
    if material is not None:
        if topic or question:
            raise UserError("--material builds its own questions; it cannot be combined with --topic or --question")
        bank, questions = _bank_from_notes(settings, material, questions)
    options = SessionOptions(
        topics=topic,
        questions=questions or (len(question) if question else settings.questions),
        difficulty=difficulty,
        question_ids=question,
        max_follow_ups=settings.max_follow_ups if follow_ups is None else follow_ups,
    )
    _run_interview(settings, options=options, resume=False, bank=bank)


def _bank_from_notes(settings: Settings, material: Path, wanted: int | None) -> tuple[RubricBank, int]:
    """Ingest the candidate's notes and build one question per section with enough text.

    Returns the bank and how many questions to ask: one per usable section unless ``-n`` asks
    for fewer, so the count announced is the count asked. The sections left out are named.
    With a model configured, the questions to be asked are written by the model.
    """
    from interviewer.domain import RubricFile
    from interviewer.knowledge.generate import MIN_SENTENCES, NOTES_TOPIC, notes_questions
    from interviewer.knowledge.service import notes_collection_name, open_collection

    if not material.exists():
        raise UserError(f"{material}: no such file or folder")
    kb = open_collection(settings, notes_collection_name(material))
    report = ingest_with_progress(kb, [material], prune=True)
    built = notes_questions(kb)
    questions = built.questions
    indexed = report.added + report.replaced + report.unchanged
    for line in _skipped_lines(built.skipped):
        console.print(line)
    if not questions:
        raise UserError(
            f"no section of {material} has enough text to build a question "
            f"(each question needs a heading followed by at least {MIN_SENTENCES} full sentences)"
        )
    asking = min(wanted or len(questions), len(questions))
    of_them = "" if asking == len(questions) else f"; asking {asking} of them (-n {wanted})"
    if wanted and wanted > len(questions):
        of_them = f"; asking all of them (-n {wanted} asked for more)"
    console.print(
        f"[dim]{plural(len(questions), 'question')} from {plural(built.sections, 'section')} in "
        f"{plural(indexed, 'file')} of your notes{of_them}. Each is graded against the "
        "section's own key sentences.[/dim]"
    )
    if settings.model:
        questions = _questions_from_model(settings, kb, questions, asking)
    bank = RubricBank()
    bank.add(RubricFile(version=1, topic=NOTES_TOPIC, title="Your notes", questions=questions), material)
    return bank, asking


def _skipped_lines(skipped: list[SkippedSection]) -> list[str]:
    """Which sections were too short to ask about, so a missing question is never a mystery."""
    from interviewer.knowledge.generate import MIN_SENTENCES

    if not skipped:
        return []
    lines = [
        f"[yellow]Skipped {plural(len(skipped), 'section')} too short to ask about[/yellow] "
        f"[dim](a question needs at least {MIN_SENTENCES} full sentences):[/dim]"
    ]
    for section in skipped:
        found = "no full sentence" if section.sentences == 0 else plural(section.sentences, "full sentence")
        lines.append(f"  {escape(section.label)} [dim]({found})[/dim]")
    return lines


def _questions_from_model(settings: Settings, kb, questions: list, wanted: int) -> list:
    """The questions to be asked, rewritten by the model; the offline ones stay where it fails."""
    from interviewer.app import llm_engine
    from interviewer.grading.llm.engine import LLMEngine
    from interviewer.knowledge.generate import NOTES_TOPIC
    from interviewer.knowledge.model_questions import rewrite_with_model

    engine = llm_engine(settings)
    assert isinstance(engine, LLMEngine)
    with console.status(f"Writing {min(wanted, len(questions))} questions from your notes with {escape(settings.model or '')}..."):
        rewritten, problems = asyncio.run(rewrite_with_model(engine, kb, questions, wanted, NOTES_TOPIC))
    for problem in problems:
        err_console.print(f"[yellow]kept the offline question for[/yellow] {escape(problem)}", soft_wrap=True)
    return rewritten


def resume(
    user: Annotated[str | None, typer.Option("--user", help="Whose interview to resume.")] = None,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
) -> None:
    """Continue your last interrupted interview."""
    _run_interview(settings_for(user=user, model=model), options=None, resume=True)
