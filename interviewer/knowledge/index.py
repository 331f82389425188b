"""A named collection of study material: ingest files into Chroma, retrieve with citations.

Retrieval is hybrid: Chroma's vector search and a BM25 index over the same chunks, fused by
reciprocal rank fusion (or by normalised scores), so exact terms (an acronym, a metric name)
and paraphrases both find their section.

Ingest is per file and idempotent: a file whose content hash is already stored is skipped;
a changed file's new chunks are added before its old ones are deleted, so an interrupted
ingest never leaves a file without chunks, and the next run tidies up what is left over.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from interviewer.knowledge import saved_bm25
from interviewer.knowledge.chroma import MiniLMEmbeddingFunction
from interviewer.knowledge.chunking import Chunk, chunk_document
from interviewer.knowledge.documents import Document, DocumentError, iter_files, read_document, relative_source
from interviewer.knowledge.errors import KnowledgeError
from interviewer.knowledge.relevance import RelevanceFloor
from interviewer.text import STOP_WORDS

log = logging.getLogger(__name__)

RRF_K = 60
VECTOR_WEIGHT = 0.6
Mode = Literal["hybrid", "vector", "bm25"]
Fusion = Literal["convex", "rrf"]
# Function words, plus the words interview questions are phrased with ("explain", "compare"):
# they match every chunk and only add noise to BM25.
BM25_STOPWORDS = sorted(
    STOP_WORDS
    | set(
        """explain describe compare contrast difference differences differ discuss give example examples
        would like tell walk through mean means choose chosen approach happen happens work works""".split()
    )
)
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk and where it comes from."""

    id: str
    text: str
    source: str
    heading: str
    heading_path: str
    topic: str
    score: float
    cosine: float | None = None  # similarity to the query, when the vector retriever ranked this chunk
    terms: float | None = None  # share of the query's terms the chunk contains, when any (and BM25 was asked)

    @property
    def citation(self) -> str:
        return f"{self.source} > {self.heading}"


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _FilePlan:
    """A file read and chunked, waiting to be written, and what was stored of it (to replace)."""

    document: Document
    chunks: list[Chunk]
    existing: dict  # Chroma's "ids" and "metadatas" of the file's stored chunks


def topic_of(source: str) -> str:
    return Path(source).stem.lower()


class KnowledgeBase:
    """One Chroma collection plus its BM25 index."""

    batch_size = 256  # chunks per write to Chroma

    def __init__(self, client: Any, name: str = "material", embedding_function: MiniLMEmbeddingFunction | None = None,
                 *, bm25_dir: Path | None = None) -> None:
        if not _NAME.match(name):
            raise KnowledgeError(f"invalid collection name {name!r}: use 3-63 letters, digits, '.', '_' or '-'")
        self.name = name
        self.embedding_function = embedding_function or MiniLMEmbeddingFunction()
        self.collection = client.get_or_create_collection(
            name=name, embedding_function=self.embedding_function, metadata={"hnsw:space": "cosine"}
        )
        self.bm25_dir = bm25_dir  # where the BM25 index is saved between processes (None: never)
        self._bm25: tuple[list[str], Any, list[dict]] | None = None
        self._partial: tuple[int, frozenset[str]] | None = None  # (collection size, ids of files cut short)
        self._bm25_lock = threading.Lock()

    # ingest -------------------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        *,
        prune: bool = False,
        progress: Callable[[str, int], None] | None = None,
        origin: str = "user",
        on_chunks: Callable[[str, int, int], None] | None = None,
        on_plan: Callable[[int, int, int], None] | None = None,
    ) -> IngestReport:
        """Index files and folders.

        Every file is read and chunked first, so that a progress bar knows the whole amount of
        work: ``on_plan(read, files, chunks)`` after each file is read (files read so far, files
        in all, chunks to write so far; the last call gives the total). Then the chunks are
        embedded and written: ``on_chunks(path, written, total)`` after each batch of a file's
        chunks, and ``progress(path, chunks)`` after each file (chunks written so far).

        ``origin`` tags the chunks ("packaged" for our notes, "user" for a candidate's files) so
        that pruning one never removes the other from a shared collection.
        """
        started = time.perf_counter()
        report = IngestReport()
        paths = [Path(p).expanduser() for p in paths]
        try:
            found = list(iter_files(paths, report.problems))
            plans: list[tuple[Path, _FilePlan | None]] = []
            to_write = 0
            for path, root in found:
                report.files += 1
                try:
                    plan = self._plan_file(path, relative_source(path, root), report)
                except DocumentError as exc:
                    report.problems.append((str(path), str(exc)))
                    plan = None
                plans.append((path, plan))
                to_write += len(plan.chunks) if plan else 0
                if on_plan:
                    on_plan(len(plans), len(found), to_write)
            for path, plan in plans:
                if plan is not None:
                    self._write_file(plan, report, origin, on_chunks)
                if progress:
                    progress(str(path), report.chunks)
            if prune:
                report.removed = self._prune(origin, paths)
        finally:
            self._mark_changed()
        report.seconds = time.perf_counter() - started
        return report

    def _plan_file(self, path: Path, source: str, report: IngestReport) -> _FilePlan | None:
        """The chunks a file needs written, or None when it is indexed already (``report.unchanged``)."""
        try:
            file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise DocumentError(f"cannot read ({exc.strerror})") from None
        existing = self.collection.get(where={"source": source}, include=["metadatas"])
        current = [m for m in existing["metadatas"] or [] if m.get("file_hash") == file_hash]
        if current and len(current) == current[0].get("chunk_count"):
            stale = [i for i, m in zip(existing["ids"], existing["metadatas"]) if m.get("file_hash") != file_hash]
            if stale:  # an interrupted replace left the previous version's chunks behind
                self.collection.delete(ids=stale)
            report.unchanged += 1
            return None
        document = read_document(path, source)
        chunks = chunk_document(document)
        if not chunks:
            raise DocumentError("no text to index")
        return _FilePlan(document, chunks, existing)

    def _write_file(
        self, plan: _FilePlan, report: IngestReport, origin: str, on_chunks: Callable[[str, int, int], None] | None = None,
    ) -> None:
        document, chunks = plan.document, plan.chunks
        topic = topic_of(chunks[0].source)
        for start in range(0, len(chunks), self.batch_size):
            batch = chunks[start : start + self.batch_size]
            self.collection.upsert(  # upsert: a file cut short mid-way is simply completed
                ids=[c.id for c in batch],
                documents=[f"{c.heading_path}\n{c.text}" for c in batch],
                metadatas=[
                    {
                        "source": c.source,
                        "heading": c.heading,
                        "heading_path": c.heading_path,
                        "position": c.position,
                        "topic": topic,
                        "kind": document.kind,
                        "file_hash": document.file_hash,
                        "chunk_count": len(chunks),  # a file is complete only with all of them
                        "origin": origin,
                        "path": str(document.path.resolve()),  # where it was read: what --prune may drop
                    }
                    for c in batch
                ],
            )
            if on_chunks:
                on_chunks(str(document.path), start + len(batch), len(chunks))
        new_ids = {c.id for c in chunks}
        leftovers = [i for i in plan.existing["ids"] if i not in new_ids]
        if leftovers:
            self.collection.delete(ids=leftovers)
        if any(m.get("file_hash") != document.file_hash for m in plan.existing["metadatas"] or []):
            report.replaced += 1
        else:
            report.added += 1
        report.chunks += len(chunks)

    def _prune(self, origin: str, paths: list[Path]) -> int:
        """Drop files that were read from under ``paths`` (a folder, or a named file's folder)
        and are gone from the disk; files ingested from anywhere else stay, whatever this run
        saw. Chunks stored before their file's path was recorded are never pruned."""
        scopes = [p.resolve().parent if p.is_file() else p.resolve() for p in paths]
        everything = self.collection.get(where={"origin": origin}, include=["metadatas"])
        doomed: dict[str, list[str]] = {}
        for chunk_id, meta in zip(everything["ids"], everything["metadatas"] or []):
            where = meta.get("path")
            if not where:
                continue
            read_from = Path(where)
            if any(read_from.is_relative_to(scope) for scope in scopes) and not read_from.exists():
                doomed.setdefault(where, []).append(chunk_id)
        for ids in doomed.values():
            self.collection.delete(ids=ids)
        return len(doomed)

    def _mark_changed(self) -> None:
        with self._bm25_lock:
            self._bm25 = None
            self._partial = None

    def _cut_short(self, total: int) -> frozenset[str]:
        """Ids of chunks of a file version that is not all there (an ingest stopped inside it):
        searches skip them, so what a reader sees is the collection as it was before that
        ingest; the next ingest of the file completes it (``_ingest_file``)."""
        with self._bm25_lock:
            if self._partial is not None and self._partial[0] == total:
                return self._partial[1]
            if self._bm25 is not None and len(self._bm25[0]) == total:
                ids, metadatas = self._bm25[0], self._bm25[2]
            else:
                everything = self.collection.get(include=["metadatas"])
                ids, metadatas = list(everything["ids"]), list(everything["metadatas"] or [])
            present: dict[tuple[str, str], int] = {}
            for meta in metadatas:
                version = (meta.get("source", ""), meta.get("file_hash", ""))
                present[version] = present.get(version, 0) + 1
            partial = frozenset(
                i for i, meta in zip(ids, metadatas)
                if present[(meta.get("source", ""), meta.get("file_hash", ""))] < int(meta.get("chunk_count") or 0)
            )
            self._partial = (total, partial)
            return partial

    def count(self) -> int:
        return self.collection.count()

    def warm_up(self) -> threading.Thread:
        """Start what a first search waits for, while the caller does other work: the embedding
        model loads in its own thread, and this one opens Chroma's segment (the first call of a
        process costs about 20 ms at 3,000 chunks, a query after it 2 ms) and reads the saved
        BM25 index, its stemmer and the cut-short chunks (about 20 ms more). Best effort:
        whatever fails here is done again, and reported, by the search itself."""
        self.embedding_function.start()

        def prefetch() -> None:
            try:
                total = self.count()
                if total:
                    self._bm25_scores("warm up", 1, None, None, total)  # the index, the stemmer, the tokeniser
                    self._cut_short(total)
            except Exception as exc:  # the search that follows opens it again and says what failed
                log.debug("knowledge base warm-up failed: %s", exc)

        thread = threading.Thread(target=prefetch, name=f"warm-up-{self.name}", daemon=True)
        thread.start()
        return thread

    def sources(self) -> list[str]:
        metadatas = self.collection.get(include=["metadatas"])["metadatas"] or []
        return sorted({m["source"] for m in metadatas})

    # retrieval ----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        mode: Mode = "hybrid",
        fusion: Fusion = "rrf",
        topic: str | None = None,
        source: str | None = None,
        floor: RelevanceFloor | None = None,
    ) -> list[Hit]:
        """The k best chunks for a query, with citations.

        Hybrid fuses the two retrievers' candidate lists: ``rrf`` (the default) by reciprocal
        rank fusion, ``convex`` by mixing their min-max normalised scores (VECTOR_WEIGHT for the
        vector side). bench/retrieval.py measures both against each retriever alone.

        With a ``floor``, chunks it does not admit are dropped before the k best are taken: an
        off-topic query returns [] instead of the least bad chunks.
        """
        total = self.count()
        if total == 0 or not query.strip():
            return []
        depth = min(total, max(k * 4, 40))
        cosines: dict[str, float] = {}
        terms: dict[str, float] = {}
        lists: list[tuple[dict[str, float], float]] = []
        if mode in ("hybrid", "vector"):
            result = self.collection.query(query_texts=[query], n_results=depth, where=_where(topic, source), include=["distances"])
            cosines = {i: 1.0 - d for i, d in zip(result["ids"][0], result["distances"][0])}
            lists.append((cosines, VECTOR_WEIGHT))
        if mode in ("hybrid", "bm25") or floor is not None:  # the floor reads shared terms in every mode
            bm25, terms = self._bm25_scores(query, depth, topic, source, total)
            if mode != "vector":
                lists.append((bm25, 1.0 - VECTOR_WEIGHT))
        if mode != "hybrid":
            lists = [(lists[0][0], 1.0)]
        partial = self._cut_short(total)
        if floor is not None or partial:
            def keep(i: str) -> bool:
                return i not in partial and (floor is None or floor.admits(cosines.get(i), terms.get(i)))

            lists = [({i: s for i, s in scores.items() if keep(i)}, weight) for scores, weight in lists]
        # one retriever alone: its own scores (cosine, or BM25), in its own order; fused ranks
        # are only meaningful when there are two lists to fuse
        fused = _fuse(lists, fusion) if mode == "hybrid" else lists[0][0]
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        if not best:
            return []
        got = self.collection.get(ids=best, include=["documents", "metadatas"])
        by_id = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        if len(by_id) < len(best):  # another replica deleted chunks our BM25 index still holds
            self._mark_changed()
        return [
            Hit(
                id=i,
                text=_body(by_id[i][0]),
                source=by_id[i][1]["source"],
                heading=by_id[i][1]["heading"],
                heading_path=by_id[i][1]["heading_path"],
                topic=by_id[i][1].get("topic", ""),
                score=round(fused[i], 5),
                cosine=cosines.get(i),
                terms=terms.get(i),
            )
            for i in best
            if i in by_id
        ]

    def sections(self, query: str, k: int = 2, **filters: Any) -> list[str]:
        """Citations of the k most relevant distinct sections."""
        seen: list[str] = []
        for hit in self.search(query, k=k * 4, **filters):
            if hit.citation not in seen:
                seen.append(hit.citation)
            if len(seen) == k:
                break
        return seen

    def _bm25_scores(self, query: str, depth: int, topic: str | None, source: str | None, total: int) -> tuple[dict[str, float], dict[str, float]]:
        """The top ``depth`` chunks by BM25 score (positive scores only), after the filters; and
        for every chunk holding any query term, the share of the query's distinct terms it holds
        (for ``RelevanceFloor``, also about chunks only the vector side ranked)."""
        import bm25s

        ids, index, metadatas = self._bm25_index(total)
        tokens = bm25s.tokenize([query], stopwords=BM25_STOPWORDS, stemmer=_stemmer(), show_progress=False, return_ids=False)
        if not tokens or not tokens[0]:
            return {}, {}
        query_terms = list(dict.fromkeys(tokens[0]))
        scores = index.get_scores(tokens[0])
        contained = sum((index.get_scores([term]) > 0).astype(int) for term in query_terms)
        shares = {ids[i]: int(contained[i]) / len(query_terms) for i in np.flatnonzero(contained)}
        found: dict[str, float] = {}
        for i in np.argsort(-scores):
            if scores[i] <= 0 or len(found) == depth:
                break
            meta = metadatas[i]
            if (topic and meta.get("topic") != topic) or (source and meta.get("source") != source):
                continue
            found[ids[i]] = float(scores[i])
        return found, shares

    def _bm25_index(self, total: int) -> tuple[list[str], Any, list[dict]]:
        """The BM25 index, rebuilt when the collection's size differs from it.

        With a shared server other replicas ingest too; ``_mark_changed`` only sees our own
        writes, so a long-running replica would otherwise never see their new chunks.
        """
        with self._bm25_lock:
            if self._bm25 is None or len(self._bm25[0]) != total:
                self._bm25 = self._saved_or_new_bm25()
            return self._bm25

    def _saved_or_new_bm25(self) -> saved_bm25.Built:
        """The index saved for exactly these chunks, else a new one (saved for the next process).

        Chunk ids name their file and its content, so the sorted ids fingerprint the collection:
        any ingest, prune or delete by any process changes it. Reading the ids alone costs a few
        milliseconds; tokenising every chunk again cost 0.9 s at 3,000 chunks in every process."""
        import bm25s

        fingerprint = hashlib.sha1("\n".join(sorted(self.collection.get(include=[])["ids"])).encode()).hexdigest()
        saved = saved_bm25.load(self.bm25_dir / self.name, fingerprint) if self.bm25_dir is not None else None
        if saved is not None:
            return saved
        everything = self.collection.get(include=["documents", "metadatas"])
        index = bm25s.BM25()
        tokens = bm25s.tokenize(everything["documents"], stopwords=BM25_STOPWORDS, stemmer=_stemmer(), show_progress=False)
        index.index(tokens, show_progress=False)
        built = (list(everything["ids"]), index, list(everything["metadatas"]))
        if self.bm25_dir is not None:
            saved_bm25.save(self.bm25_dir / self.name, fingerprint, built)
        return built


def _fuse(lists: list[tuple[dict[str, float], float]], fusion: Fusion) -> dict[str, float]:
    fused: dict[str, float] = {}
    for scores, weight in lists:
        if not scores:
            continue
        if fusion == "rrf":
            ranked = sorted(scores, key=lambda i: -scores[i])
            contributions = {i: 1.0 / (RRF_K + rank) for rank, i in enumerate(ranked, start=1)}
        else:
            low, high = min(scores.values()), max(scores.values())
            span = high - low
            contributions = {i: (v - low) / span if span > 0 else 1.0 for i, v in scores.items()}
        for chunk_id, value in contributions.items():
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * value
    return fused


def _body(document: str) -> str:
    """A stored chunk starts with its heading path (embedded with it); readers want the text."""
    return document.split("\n", 1)[1] if "\n" in document else document


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _where(topic: str | None, source: str | None) -> dict | None:
    clauses = [{"topic": topic}] if topic else []
    clauses += [{"source": source}] if source else []
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def ensure_material(kb: KnowledgeBase, **callbacks: Any) -> IngestReport:
    """Index the packaged study notes (a quick no-op once they are indexed and unchanged);
    ``callbacks`` are ``KnowledgeBase.ingest``'s (``on_plan``, ``on_chunks``, ``progress``)."""
    from interviewer.rubrics import packaged_material_dir

    return kb.ingest(sorted(packaged_material_dir().glob("*.md")), prune=True, origin="packaged", **callbacks)
