"""``interviewer ingest`` and ``search``: your study material, indexed and searched."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from interviewer.cli.common import UserError, console, err_console, settings_for

if TYPE_CHECKING:
    from interviewer.knowledge.index import IngestReport, KnowledgeBase


class IngestBar:
    """Progress of an ingest on stderr: on a terminal a bar (chunks written of all, rate, time
    left), otherwise one start line; nothing at all when every file is indexed already.

    Pass ``planned``, ``writing`` and ``finished`` as ``KnowledgeBase.ingest``'s ``on_plan``,
    ``on_chunks`` and ``progress``; the caller prints the closing summary.
    """

    def __init__(self, what: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # not on every CLI start

        self.what = what
        self.live = err_console.is_terminal
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f} {task.fields[unit]}"),
            TextColumn("{task.fields[rate]}", style="progress.data.speed"), TimeRemainingColumn(), console=err_console, transient=True,
        )
        self.task = self.bar.add_task("Reading files", total=None, unit="files", rate="")
        self.shown = False
        self.done = 0  # chunks of the files written so far

    def planned(self, read: int, files: int, chunks: int) -> None:
        if chunks == 0:  # nothing to write yet: a re-index of unchanged files stays quiet
            return
        if not self.live:
            if read == files:
                err_console.print(f"{self.what}: {chunks:,} chunks...")
            return
        self.bar.update(self.task, total=files, completed=read)
        if not self.shown:
            self.bar.start()
            self.shown = True
        if read == files:
            self.bar.reset(self.task, total=chunks, description=self.what, unit="chunks", rate="")  # fields are replaced

    def writing(self, path: str, written: int, total: int) -> None:
        self.bar.update(self.task, completed=self.done + written)
        speed = self.bar.tasks[0].speed  # Rich's estimate once it has two measurements
        self.bar.update(self.task, rate=f"{speed:,.1f} chunks/s" if speed else "")

    def finished(self, path: str, chunks: int) -> None:
        self.done = chunks

    def __enter__(self) -> IngestBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def ingest_with_progress(kb: KnowledgeBase, paths: list[Path], *, prune: bool) -> IngestReport:
    """Ingest files with an ``IngestBar``; skipped files are listed on stderr."""
    with IngestBar("Indexing") as bar:
        report = kb.ingest(paths, prune=prune, on_plan=bar.planned, on_chunks=bar.writing, progress=bar.finished)
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
    show_all: Annotated[bool, typer.Option("--all", help="Also show chunks below the relevance floor (the closest ones, however far).")] = False,
) -> None:
    """Search the study material; every result cites its file and section."""
    from rich.panel import Panel

    from interviewer.knowledge.index import ensure_material
    from interviewer.knowledge.relevance import RELEVANCE_FLOOR
    from interviewer.knowledge.service import MATERIAL, open_collection

    if mode not in ("hybrid", "vector", "bm25"):
        raise UserError(f"--mode must be hybrid, vector or bm25, not {mode!r}")
    settings = settings_for()
    kb = open_collection(settings, collection)
    kb.warm_up()  # the model loads while the notes are checked, Chroma and the BM25 index open
    if collection == MATERIAL:
        try:
            with IngestBar("Indexing the study notes") as bar:
                report = ensure_material(kb, on_plan=bar.planned, on_chunks=bar.writing, progress=bar.finished)
        except KeyboardInterrupt:
            raise UserError("indexing interrupted; the notes indexed so far are kept, and the next search goes on") from None
        if report.chunks:
            err_console.print(f"[dim]Indexed the study notes: {report.chunks:,} chunks in {report.seconds:.0f} s.[/dim]")
    elif kb.count() == 0:
        raise UserError(f"collection '{collection}' is empty; add files with 'interviewer ingest PATH -c {collection}'")
    floor = None if show_all else RELEVANCE_FLOOR
    hits = kb.search(query, k=k, mode=mode, topic=topic, source=source, floor=floor)  # type: ignore[arg-type]
    if not hits:
        console.print(_nothing_relevant(kb, query, collection, topic, source) if floor else "No matching material.")
        return
    scale = {"hybrid": "fused rank score", "vector": "cosine", "bm25": "BM25"}[mode]  # say which score it is
    for rank, hit in enumerate(hits, start=1):
        text = hit.text if len(hit.text) <= 700 else hit.text[:700] + "…"
        similarity = f" · cosine {hit.cosine:.2f}" if mode == "hybrid" and hit.cosine is not None else ""
        console.print(Panel(escape(text), title=f"{rank}. {escape(hit.citation)}", title_align="left", subtitle=f"{scale} {hit.score:.3f}{similarity}"))
    if floor and len(hits) < k:
        passes = "1 passage passes" if len(hits) == 1 else f"{len(hits)} passages pass"
        console.print(f"[dim]Only {passes} the relevance floor; --all shows the closest ones anyway.[/dim]")


def _nothing_relevant(kb: KnowledgeBase, query: str, collection: str, topic: str | None, source: str | None) -> str:
    """Why nothing is shown: the closest chunk's cosine says how far off the query is."""
    closest = kb.search(query, k=1, mode="vector", topic=topic, source=source)
    best = f" (best cosine {closest[0].score:.2f})" if closest else ""
    return (f"No passage in '{escape(collection)}' is relevant to '{escape(query)}'{best}. "
            "[dim]--all shows the closest ones anyway.[/dim]")
