"""``interviewer rubrics check|list``: validate and list the question bank."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from interviewer.cli.common import UserError, console, err_console, settings_for
from interviewer.rubrics import RubricBank, completeness_problems, packaged_material_dir, packaged_rubrics_dir


rubrics_app = typer.Typer(help="Validate and list the question bank.", no_args_is_help=True)


@rubrics_app.command("check")
def rubrics_check(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rubric files or folders (default: the packaged bank).")] = None,
) -> None:
    """Validate rubric files: every problem of every file (file:line, question and field), then
    what is incomplete; exits non-zero if there is any."""
    bank, problems = RubricBank.load_all(paths or [packaged_rubrics_dir()])
    material = packaged_material_dir() if not paths else None
    problems += completeness_problems(bank, material)
    total = len(bank.questions)
    scenario = sum(q.kind == "scenario" for q in bank.questions.values())
    examples = sum(len(q.examples) for q in bank.questions.values())
    console.print(f"{len(bank.files)} topics, {total} questions ({scenario} scenario), {examples} graded examples")
    for problem in problems:
        err_console.print(f"[red]problem:[/red] {escape(problem)}", soft_wrap=True)  # file:line stays on one line
    if problems:
        raise UserError(f"{len(problems)} problem(s) in the rubric files; the format is in docs/rubric-format.md")
    console.print("[green]all rubrics valid[/green]")


@rubrics_app.command("list")
def rubrics_list() -> None:
    """Topics with question counts by difficulty, and gaps (uncited points, missing examples)."""
    settings = settings_for()
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
