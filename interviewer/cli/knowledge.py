"""``interviewer ingest`` and ``search``: your study material, indexed and searched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from interviewer.cli.common import UserError, console, err_console, settings_for


def ingest_with_progress(kb, paths: list[Path], *, prune: bool):
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


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Markdown, text, HTML or PDF files, or folders of them.")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to add them to.")] = "material",
    prune: Annotated[bool, typer.Option("--prune", help="Remove files that were ingested from under these paths and are gone from the disk.")] = False,
) -> None:
    """Index study material for search, feedback and generated questions."""
    from interviewer.knowledge.service import open_collection

    settings = settings_for()
    kb = open_collection(settings, collection)
    try:
        report = ingest_with_progress(kb, paths, prune=prune)
    except KeyboardInterrupt:
        raise UserError("ingest interrupted; files already indexed are kept and the collection is consistent") from None
    console.print(
        f"{report.files} files: {report.added} added, {report.replaced} replaced, {report.unchanged} unchanged"
        f"{f', {report.removed} removed' if prune else ''}; {report.chunks} chunks in {report.seconds:.1f} s"
        f"{f' ({report.chunks_per_second:.0f} chunks/s)' if report.chunks else ''}. Collection '{collection}' holds {kb.count()} chunks."
    )
    if report.problems:
        console.print(f"[yellow]{len(report.problems)} file(s) skipped[/yellow] (see above)")
    if report.added + report.replaced + report.unchanged == 0:
        # A script that ingests and then searches must see the failure, not a success with nothing in it.
        where = ", ".join(str(p) for p in paths)
        raise UserError(f"nothing was ingested from {where}: no readable Markdown, text, HTML or PDF file"
                        f"{' (every file was skipped, see above)' if report.problems else ''}")


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
    settings = settings_for()
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
    scale = {"hybrid": "fused rank score", "vector": "cosine", "bm25": "BM25"}[mode]  # say which score it is
    for rank, hit in enumerate(hits, start=1):
        text = hit.text if len(hit.text) <= 700 else hit.text[:700] + "…"
        console.print(Panel(escape(text), title=f"{rank}. {escape(hit.citation)}", title_align="left", subtitle=f"{scale} {hit.score:.3f}"))
