"""Grade a CSV of human-graded answers and print how well the grades agree; convert datasets to it.

  python bench/grading.py grading FILE.csv [--engine llm --model M] [--repeat K] [--holdout-only]
  python bench/grading.py semeval-csv OUT.csv [--ways 2way|3way] [--zip PATH]
  python bench/grading.py bank-csv OUT.csv

``grading`` grades every row (``harness.grading_bench``) with the offline grader or an LLM through
the user's configuration and prints agreement for all rows and for the held-out questions. Every
error is one line, never a traceback. A script, not an ``interviewer`` command: the benchmark
code and its default dataset path (``../shared``) belong to the checkout, not to the wheel.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from interviewer.cli.common import UserError, console, err_console, settings_for  # noqa: E402
from interviewer.safe_text import hide_credentials  # noqa: E402

from harness.grading_bench import SEMEVAL_IN_SHARED  # noqa: E402

bench_app = typer.Typer(
    help="Measure how well the grader agrees with human grades (CSV of graded answers; SemEval-2013 and bank converters).",
    no_args_is_help=True,
    add_completion=False,
)

# ../shared beside the checkout, wherever the script is run from.
DEFAULT_SEMEVAL_ZIP = Path(__file__).resolve().parents[2] / "shared" / SEMEVAL_IN_SHARED


class _RateColumn(ProgressColumn):
    """Rows graded per second so far (a row counts once all its repeats are done)."""

    def __init__(self, repeat: int = 1) -> None:
        super().__init__()
        self.repeat = repeat

    def render(self, task) -> Text:  # type: ignore[no-untyped-def]
        elapsed = task.elapsed or 0.0
        rate = task.completed / self.repeat / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:.1f} rows/s", style="progress.data.speed")


def _engine(kind: str, model: str | None):
    """The engine the product builds from these settings (``app.offline_engine`` / ``app.llm_engine``)."""
    from interviewer.app import llm_engine, offline_engine
    from interviewer.config import ConfigError

    try:
        settings = settings_for(model=model)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    if kind == "offline":
        if model:
            raise UserError("--model grades with an LLM: add --engine llm")
        from interviewer.embedder import EmbedderError

        engine = offline_engine(settings)  # the product's offline engine, fitted
        try:
            engine.embedder.wait()
        except EmbedderError as exc:
            raise UserError(str(exc)) from None
        return engine, "offline (all-MiniLM-L6-v2, fitted parameters)"
    if not settings.model:
        raise UserError("--engine llm needs a model: pass --model or set INTERVIEWER_MODEL (and INTERVIEWER_API_BASE for a local server)")
    try:
        engine = llm_engine(settings)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    where = f" at {hide_credentials(settings.api_base)}" if settings.api_base else ""
    return engine, f"llm ({settings.model}{where})"


@bench_app.command("grading")
def grading(
    file: Annotated[Path, typer.Argument(help="CSV with question_id,question,reference_answer,answer,score (UTF-8).")],
    scale_max: Annotated[float | None, typer.Option("--scale-max", min=1, help="Top of the human score scale (default: inferred, e.g. 1 for 0/1 labels, 10 for 0-10).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="offline or llm (the model of --model or $INTERVIEWER_MODEL).")] = "offline",
    model: Annotated[str | None, typer.Option("--model", help="With --engine llm: a litellm model string (default $INTERVIEWER_MODEL).")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=20, help="Grade every row this many times and report the score spread.")] = 1,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N rows (after --holdout-only).")] = None,
    holdout_only: Annotated[bool, typer.Option("--holdout-only", help="Only rows of the held-out questions (30%, stable by question id).")] = False,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, max=64, help="Rows graded at once (default: 8 for llm, 1 for offline).")] = None,
) -> None:
    """Grade a CSV of human-graded answers and print how well the grades agree."""
    from harness import grading_bench as gb
    from harness.agreement_stats import MIN_INTERVAL_QUESTIONS

    if engine not in ("offline", "llm"):
        raise UserError(f"--engine must be offline or llm, not {engine!r}")
    try:
        rows = gb.read_rows(file)
    except gb.BenchDataError as exc:
        raise UserError(str(exc)) from None
    if holdout_only:
        rows = gb.holdout(rows)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise UserError(f"{file}: no rows to grade" + (" among the held-out questions" if holdout_only else ""))
    top = max(r.score for r in rows)
    if scale_max is not None and top > scale_max:
        raise UserError(f"{file}: a human score ({top:g}) is above --scale-max {scale_max:g}")
    grader, label = _engine(engine, model)
    console.print(f"[dim]Grading {len(rows)} rows of {len({r.question_id for r in rows})} questions with {escape(label)}"
                  f"{f', {repeat} times each' if repeat > 1 else ''}[/dim]")
    started = time.perf_counter()
    with Progress(TextColumn("Grading"), BarColumn(), MofNCompleteColumn(), _RateColumn(repeat), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("grading", total=len(rows) * repeat)
        try:
            graded = gb.grade_rows(rows, grader, repeat=repeat, concurrency=concurrency,
                                   progress=lambda done, total: bar.update(task, completed=done))
        except KeyboardInterrupt:
            raise UserError("benchmark interrupted; nothing was saved") from None
    elapsed = time.perf_counter() - started
    columns = {("held-out questions" if holdout_only else "all rows"): gb.agreement(graded, scale_max=scale_max)}
    held_out = gb.holdout(graded)
    if not holdout_only and held_out and len(held_out) < len(graded):
        columns["held-out questions"] = gb.agreement(held_out, scale_max=columns["all rows"].scale_max)
    table = Table(title=f"Agreement with human grades: {escape(file.name)}", title_justify="left")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    table.add_column("target", style="dim")
    for line in gb.report_lines(columns):
        table.add_row(*line)
    console.print(table)
    for name, report in columns.items():
        for check in gb.target_checks(name, report, unseen=name == "held-out questions"):
            console.print(check)
    gradings = len(rows) * repeat
    console.print(f"{len(rows)} rows x {repeat} = {gradings} gradings in {elapsed:.1f} s: "
                  f"{len(rows) / elapsed if elapsed > 0 else 0:.1f} rows/s")
    console.print("[dim]Maps and thresholds are fitted leave-one-question-out: no question is scored by a map fitted on its own rows.[/dim]")
    console.print(f"[dim]90% intervals resample whole questions (from {MIN_INTERVAL_QUESTIONS} questions up): "
                  "how much a figure depends on which questions are in the set.[/dim]")


@bench_app.command("semeval-csv")
def semeval_csv(
    out: Annotated[Path, typer.Argument(help="Where to write the CSV.")],
    ways: Annotated[str, typer.Option("--ways", help="2way (correct = 1, else 0) or 3way (correct 2, incorrect 1, contradictory 0).")] = "2way",
    zip_path: Annotated[Path, typer.Option("--zip", help="The SemEval-2013 Task 7 training zip.")] = DEFAULT_SEMEVAL_ZIP,
) -> None:
    """Convert the SemEval-2013 training zip (Beetle and SciEntsBank) to a benchmark CSV."""
    from harness import grading_bench as gb

    if ways not in gb.SEMEVAL_LABELS:
        raise UserError(f"--ways must be one of {', '.join(gb.SEMEVAL_LABELS)}, not {ways!r}")
    if not zip_path.is_file():
        raise UserError(f"{zip_path}: SemEval-2013 zip not found (expected in ../shared beside the checkout; pass --zip PATH)")
    try:
        rows = gb.semeval_rows(zip_path, ways=ways)
    except gb.BenchDataError as exc:
        raise UserError(str(exc)) from None
    _write(rows, out)
    for corpus, (questions, count) in gb.corpus_counts(rows).items():
        held = gb.corpus_counts(gb.holdout(rows)).get(corpus, (0, 0))
        console.print(f"{corpus}: {questions} questions, {count} rows ({held[0]} questions, {held[1]} rows held out)")
    console.print(f"Wrote {len(rows)} rows to {escape(str(out))}")


@bench_app.command("bank-csv")
def bank_csv(out: Annotated[Path, typer.Argument(help="Where to write the CSV.")]) -> None:
    """Write the rubric bank's graded examples (human score 0-10, reference = the model answer) as a CSV."""
    from harness import grading_bench as gb
    from interviewer.app import load_bank
    from interviewer.config import ConfigError
    from interviewer.rubrics import RubricError

    try:
        rows = gb.bank_rows(load_bank(settings_for()))
    except (ConfigError, RubricError) as exc:
        raise UserError(str(exc)) from None
    _write(rows, out)
    console.print(f"Wrote {len(rows)} graded examples of {len({r.question_id for r in rows})} questions to {escape(str(out))}")


def _write(rows, out: Path) -> None:
    from harness import grading_bench as gb

    try:
        gb.write_rows(rows, out)
    except OSError as exc:
        raise UserError(f"{out}: cannot write ({exc.strerror or exc})") from None


def main() -> int:
    """Run a command; a known error is one red line and exit status 1."""
    import click

    try:
        bench_app(standalone_mode=False)
    except UserError as exc:
        err_console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", soft_wrap=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
