"""The knowledge base: ingest, idempotence, bad files, hybrid search, notes questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.knowledge.chroma import make_client
from interviewer.knowledge.index import KnowledgeBase
from pdf_fixture import make_pdf
from cli_process import write_files

NOTES = {
    "optimisers.md": """# Optimisers

## Adam

Adam keeps running averages of the gradient and of its square for every parameter. It divides
the step by the root of the second moment, so each weight gets its own learning rate. Bias
correction fixes the averages in the first steps, when they start at zero.

## Momentum

Momentum accumulates a velocity from past gradients and moves along it. Noisy mini-batch
updates are smoothed, and flat regions are crossed faster. A coefficient near 0.9 is common.
""",
    "metrics.txt": "Mean reciprocal rank averages one over the rank of the first relevant result. "
    "It rewards systems that put a correct answer at the very top of the list.",
    "page.html": "<html><head><script>var x = 1;</script></head><body><h1>Vector indexes</h1>"
    "<h2>HNSW graphs</h2><p>HNSW builds a layered proximity graph and searches it greedily from the top layer.</p>"
    "<p>Raising efSearch trades latency for recall at query time.</p></body></html>",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "notes", NOTES)
    (root / "quant.pdf").write_bytes(make_pdf(["Post-training quantisation maps float weights to int8.", "Distillation trains a small student on a teacher's soft targets."]))
    return root


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    return KnowledgeBase(make_client(tmp_path / "kb"), "test-notes")


def test_ingest_indexes_every_kind_with_citations(kb: KnowledgeBase, corpus: Path) -> None:
    report = kb.ingest([corpus])
    assert (report.files, report.added, report.problems) == (4, 4, [])
    assert kb.sources() == ["metrics.txt", "optimisers.md", "page.html", "quant.pdf"]
    citations = {h.citation for h in kb.search("layered proximity graph", k=3)}
    assert "page.html > HNSW graphs" in citations
    pdf_hits = kb.search("int8 weights", k=2, source="quant.pdf")
    assert pdf_hits[0].citation == "quant.pdf > Page 1"
    assert "script" not in " ".join(h.text for h in kb.search("var x", k=5))


def test_reingest_is_a_no_op_and_a_change_replaces_chunks(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus])
    before = kb.count()
    again = kb.ingest([corpus])
    assert (again.unchanged, again.added, again.chunks) == (4, 0, 0)
    assert kb.count() == before
    (corpus / "metrics.txt").write_text("Recall at k counts the relevant items found in the top k results.")
    changed = kb.ingest([corpus])
    assert (changed.replaced, changed.unchanged) == (1, 3)
    texts = " ".join(h.text for h in kb.search("reciprocal rank recall", k=10, source="metrics.txt"))
    assert "Recall at k" in texts and "reciprocal" not in texts


def test_prune_removes_deleted_files(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus])
    (corpus / "page.html").unlink()
    kept = kb.ingest([corpus])
    assert "page.html" in kb.sources() and kept.removed == 0
    pruned = kb.ingest([corpus], prune=True)
    assert pruned.removed == 1
    assert "page.html" not in kb.sources()


def test_prune_drops_only_files_gone_from_under_the_given_paths(kb: KnowledgeBase, corpus: Path, tmp_path: Path) -> None:
    """`ingest notes -c mine --prune` deleted a PDF ingested from another folder (it still existed)."""
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "quant.pdf").write_bytes((corpus / "quant.pdf").read_bytes())
    (corpus / "quant.pdf").unlink()
    kb.ingest([corpus])
    kb.ingest([papers / "quant.pdf"])                                       # a file named on its own, from elsewhere
    assert kb.ingest([corpus], prune=True).removed == 0
    assert "quant.pdf" in kb.sources()
    (corpus / "metrics.txt").unlink()
    pruned = kb.ingest([corpus], prune=True)
    assert pruned.removed == 1 and "metrics.txt" not in kb.sources() and "quant.pdf" in kb.sources()
    (papers / "quant.pdf").unlink()
    assert kb.ingest([papers], prune=True).removed == 1 and "quant.pdf" not in kb.sources()


def test_one_retriever_alone_shows_its_own_scores(kb: KnowledgeBase, corpus: Path) -> None:
    """`--mode bm25` showed reciprocal-rank scores (0.016, 0.015, ...) that say nothing of relevance."""
    kb.ingest([corpus])
    bm25 = kb.search("adam momentum", k=3, mode="bm25")
    vector = kb.search("adam momentum", k=3, mode="vector")
    hybrid = kb.search("adam momentum", k=3)
    assert bm25[0].score > 0.1 and [h.score for h in bm25] == sorted((h.score for h in bm25), reverse=True)
    assert all(-1.0 <= h.score <= 1.0 for h in vector) and vector[0].score > 0.2
    assert all(h.score < 0.05 for h in hybrid)                                # fused: reciprocal ranks


def test_bad_files_are_reported_by_path_and_skipped(kb: KnowledgeBase, corpus: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00")
    (corpus / "empty.md").write_text("")
    (corpus / "latin1.md").write_bytes("caf\xe9 notes".encode("latin-1"))
    (corpus / "image.png").write_bytes(b"\x89PNG")
    report = kb.ingest([corpus, corpus / "missing.md"])
    reasons = {Path(path).name: reason for path, reason in report.problems}
    assert reasons["broken.pdf"].startswith("unreadable PDF")
    assert reasons["binary.txt"] == "binary content, not text"
    assert reasons["empty.md"] == "empty file"
    assert reasons["latin1.md"].startswith("not valid UTF-8")
    assert reasons["image.png"] == "unsupported file type"
    assert reasons["missing.md"] == "no such file or folder"
    assert report.added == 4                                          # the good files still went in


def test_links_out_of_the_folder_are_not_followed(kb: KnowledgeBase, corpus: Path, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "shadow.md"
    secret.parent.mkdir()
    secret.write_text("# Private\n\nroot:SECRET-HASH-LINE:19000:0:99999:7:::\n")
    (corpus / "x.md").symlink_to(secret)
    (corpus / "linked-dir").symlink_to(secret.parent, target_is_directory=True)
    (corpus / "again.txt").symlink_to(corpus / "metrics.txt")           # a link that stays inside is read
    report = kb.ingest([corpus])
    reasons = {Path(path).name: reason for path, reason in report.problems}
    assert reasons["x.md"] == f"a link to a file outside {corpus}: not followed"
    assert reasons.get("shadow.md", "not followed").endswith("not followed")  # a linked folder is not entered
    assert report.files == 5 and report.added + report.unchanged == 5  # the corpus and the inside link (same text)
    assert not [hit for hit in kb.search("SECRET-HASH-LINE root", k=5) if "SECRET" in hit.text]
    named = kb.ingest([corpus / "x.md"])                              # a file named explicitly is the user's choice
    assert named.added == 1 and not named.problems


def test_interrupted_ingest_leaves_a_consistent_collection(kb: KnowledgeBase, corpus: Path) -> None:
    calls = []

    def stop_after_two(path: str, chunks: int) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        kb.ingest([corpus], progress=stop_after_two)
    assert len(kb.sources()) == 2                                     # two whole files, nothing partial
    report = kb.ingest([corpus])
    assert (report.unchanged, report.added) == (2, 2)


def test_a_replace_cut_short_is_tidied_by_the_next_ingest(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus])
    old_ids = set(kb.collection.get(where={"source": "metrics.txt"})["ids"])
    (corpus / "metrics.txt").write_text("Recall at k counts the relevant items found in the top k results.")
    original_delete = kb.collection.delete
    kb.collection.delete = lambda *a, **k: None                       # crash before the old chunks go
    kb.ingest([corpus])
    kb.collection.delete = original_delete
    both = set(kb.collection.get(where={"source": "metrics.txt"})["ids"])
    assert old_ids < both
    kb.ingest([corpus])
    assert set(kb.collection.get(where={"source": "metrics.txt"})["ids"]) == both - old_ids


def test_hybrid_search_finds_exact_terms_and_paraphrases(kb: KnowledgeBase, corpus: Path) -> None:
    kb.ingest([corpus])
    assert kb.search("efSearch", k=1)[0].citation == "page.html > HNSW graphs"             # an exact rare term
    assert kb.search("per-weight adaptive step sizes", k=1)[0].citation == "optimisers.md > Adam"  # a paraphrase
    assert all(h.topic == "optimisers" for h in kb.search("gradient", k=5, topic="optimisers"))
    assert kb.sections("velocity of past gradients", k=2)[0] == "optimisers.md > Momentum"
    assert kb.search("", k=3) == []


def test_the_relevance_floor_drops_off_topic_chunks_and_keeps_relevant_ones(kb: KnowledgeBase, corpus: Path) -> None:
    """Issue 28: an off-topic query listed the least bad chunks (all at a fused score ~0.015)."""
    from interviewer.knowledge.relevance import RELEVANCE_FLOOR

    kb.ingest([corpus])
    for query in ("banana bread recipe", "knitting a scarf for beginners"):
        assert kb.search(query, k=5)                                  # without a floor: whatever ranks first
        for mode in ("hybrid", "vector", "bm25"):
            assert kb.search(query, k=5, mode=mode, floor=RELEVANCE_FLOOR) == [], (query, mode)
    exact = kb.search("efSearch", k=5, floor=RELEVANCE_FLOOR)           # a rare term the embedding does not know
    assert exact[0].citation == "page.html > HNSW graphs" and exact[0].terms == 1.0
    paraphrase = kb.search("per-weight adaptive step sizes", k=5, floor=RELEVANCE_FLOOR)
    assert paraphrase[0].citation == "optimisers.md > Adam" and paraphrase[0].cosine is not None
    assert kb.search("efSearch", k=1, mode="bm25", floor=RELEVANCE_FLOOR)[0].citation == "page.html > HNSW graphs"


def test_chromas_default_embedding_function_is_never_used(tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import chromadb.api.types as chroma_types
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2

    def forbidden(*args, **kwargs):
        raise AssertionError("Chroma's default embedding function was used")

    monkeypatch.setattr(chroma_types.DefaultEmbeddingFunction, "__init__", forbidden)
    monkeypatch.setattr(chroma_types.DefaultEmbeddingFunction, "__call__", forbidden)
    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "__init__", forbidden)
    client = make_client(tmp_path / "strict")
    kb = KnowledgeBase(client, "strict")
    kb.ingest([corpus])
    assert kb.search("Adam optimiser", k=1)
    reopened = KnowledgeBase(make_client(tmp_path / "strict"), "strict")
    assert reopened.search("momentum", k=1)


def test_invalid_collection_name_is_a_clear_error(tmp_path: Path) -> None:
    from interviewer.knowledge.errors import KnowledgeError

    with pytest.raises(KnowledgeError, match="invalid collection name"):
        KnowledgeBase(make_client(tmp_path / "kb"), "../etc")


def test_questions_generated_from_notes_are_marked_and_cite_their_section(kb: KnowledgeBase, corpus: Path) -> None:
    from interviewer.knowledge.generate import generate_questions

    kb.ingest([corpus])
    questions = generate_questions(kb)
    by_text = {q.text: q for q in questions}
    adam = by_text["Explain Adam in your own words, as you would to an interviewer."]
    assert adam.generated and "generated" in adam.tags and adam.topic == "notes"
    assert 3 <= len(adam.points) <= 5
    assert {p.cite for p in adam.points} == {"optimisers.md > Adam"}
    assert all(p.text in NOTES["optimisers.md"].replace("\n", " ") for p in adam.points)
    assert all(p.keywords and p.follow_up and p.hint for p in adam.points)
    assert len({q.id for q in questions}) == len(questions)
    assert [q.id for q in generate_questions(kb)] == [q.id for q in questions]   # stable ids


async def test_a_notes_interview_grades_and_resumes_without_the_notes_bank(kb: KnowledgeBase, corpus: Path, store) -> None:
    from interviewer.domain import RubricFile, SessionOptions, Turn
    from interviewer.grading.offline.engine import OfflineEngine
    from interviewer.interview.session import Interviewer
    from interviewer.knowledge.generate import generate_questions
    from interviewer.rubrics import RubricBank

    kb.ingest([corpus])
    notes_bank = RubricBank()
    notes_bank.add(RubricFile(version=1, topic="notes", title="Your notes", questions=generate_questions(kb)), corpus)
    adam = next(q for q in notes_bank.questions.values() if q.text.startswith("Explain Adam"))
    engine = OfflineEngine()
    interviewer = Interviewer(notes_bank, engine, store)
    options = SessionOptions(question_ids=[adam.id], max_follow_ups=0)
    session, first = await interviewer.start(user_key="u", channel="repl", options=options)
    assert first.messages[-1].data["generated"] is True
    assert "Your notes" in first.messages[0].text

    # A new process knows only the packaged bank: the question comes back from the transcript.
    later = Interviewer(RubricBank.load(), engine, store)
    reply = await later.handle(Turn(session_key=session.session_key, user_key="u", text=(
        "Adam keeps moving averages of the gradient and of the squared gradient for each parameter. "
        "Dividing by the root of the second moment gives every weight its own learning rate. "
        "Bias correction matters early because the averages start at zero.")))
    card = reply.messages[0].data
    assert reply.messages[0].kind == "feedback"
    assert card["score"] >= 7
    assert card["question_id"] == adam.id


@pytest.fixture
def material_kb(material_index) -> KnowledgeBase:
    return material_index[1]


def test_bank_questions_retrieve_the_sections_they_cite(material_kb: KnowledgeBase) -> None:
    from harness.retrieval_eval import retrieval_quality
    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    hybrid = retrieval_quality(material_kb, bank)
    vector = retrieval_quality(material_kb, bank, mode="vector")
    bm25 = retrieval_quality(material_kb, bank, mode="bm25")
    print(f"\nhybrid r@1 {hybrid.recall_at_1:.3f} r@5 {hybrid.recall_at_5:.3f} MRR {hybrid.mrr:.3f}; "
          f"vector MRR {vector.mrr:.3f}; bm25 MRR {bm25.mrr:.3f}")
    assert hybrid.queries >= 90
    assert hybrid.recall_at_5 >= 0.95 and hybrid.primary_recall_at_5 >= 0.95
    assert hybrid.mrr >= 0.8 and hybrid.primary_mrr >= 0.8
    assert hybrid.mrr > vector.mrr and hybrid.mrr > bm25.mrr
    assert hybrid.primary_mrr > vector.primary_mrr and hybrid.primary_mrr > bm25.primary_mrr


def test_the_relevance_floor_keeps_the_bank_recall_and_cuts_off_topic_queries(material_kb: KnowledgeBase) -> None:
    """The floor's measurement (bench/relevance_floor.py) in short: the bank's questions still
    find their sections, and queries the notes do not answer find nothing."""
    import yaml

    from harness.retrieval_eval import retrieval_quality
    from interviewer.knowledge.relevance import RELEVANCE_FLOOR
    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    floored = retrieval_quality(material_kb, bank, floor=RELEVANCE_FLOOR)
    assert floored.recall_at_5 >= retrieval_quality(material_kb, bank).recall_at_5 >= 0.95
    queries = yaml.safe_load((Path(__file__).parents[1] / "bench" / "data" / "search_relevance.yaml").read_text(encoding="utf-8"))
    shown = {q: [h.citation for h in material_kb.search(q, k=5, floor=RELEVANCE_FLOOR)] for q in queries["off_topic"]}
    assert not any(shown.values()), {q: c for q, c in shown.items() if c}


def test_material_reindex_is_a_no_op(material_kb: KnowledgeBase) -> None:
    from interviewer.knowledge.index import ensure_material

    again = ensure_material(material_kb)
    assert again.chunks == 0 and again.unchanged >= 24


def test_a_file_cut_short_between_batches_is_completed_next_time(kb: KnowledgeBase, tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    sections = "\n\n".join(f"## Section {n}\n\nSentence number {n} talks about topic {n}." for n in range(10))
    (big / "long.md").write_text("# Long notes\n\n" + sections)
    kb.batch_size = 4
    original_upsert = kb.collection.upsert
    calls = []

    def fail_on_second_batch(**kwargs):
        calls.append(len(kwargs["ids"]))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original_upsert(**kwargs)

    kb.collection.upsert = fail_on_second_batch
    with pytest.raises(KeyboardInterrupt):
        kb.ingest([big])
    kb.collection.upsert = original_upsert
    partial = kb.count()
    assert partial == 4
    report = kb.ingest([big])
    assert report.unchanged == 0 and report.added == 1
    assert kb.count() > partial
    assert kb.ingest([big]).unchanged == 1


def test_refreshing_the_packaged_notes_keeps_a_users_files(tmp_path: Path, corpus: Path) -> None:
    from interviewer.knowledge.index import ensure_material

    kb = KnowledgeBase(make_client(tmp_path / "shared"), "material")
    kb.batch_size = 512
    kb.ingest([corpus / "metrics.txt"])                               # the user adds a file to the default collection
    ensure_material(kb)                                               # our notes are (re)indexed with pruning
    assert "metrics.txt" in kb.sources() and "rag.md" in kb.sources()
    kb.ingest([corpus / "page.html"], prune=True)                     # the user's prune spares our notes
    assert "rag.md" in kb.sources() and "metrics.txt" in kb.sources()  # and the user's file that still exists
    (corpus / "metrics.txt").unlink()
    kb.ingest([corpus / "page.html"], prune=True)
    assert "rag.md" in kb.sources() and "metrics.txt" not in kb.sources()


def test_files_too_long_to_index_are_skipped_with_the_limit_and_the_fix(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A book-length Markdown file and a 1,001-page PDF would index for many minutes: each is
    skipped with its size, the limit and what to do, and nothing of them is written."""
    from pypdf import PdfWriter

    from interviewer.knowledge.documents import MAX_PDF_PAGES, MAX_TEXT_CHARS

    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "book.md").write_text("# Book\n\n" + "Gradient descent takes a small step downhill. " * (MAX_TEXT_CHARS // 45 + 10))
    writer = PdfWriter()
    for _ in range(MAX_PDF_PAGES + 1):
        writer.add_blank_page(width=200, height=200)
    with (folder / "scan.pdf").open("wb") as handle:
        writer.write(handle)
    report = kb.ingest([folder])
    reasons = {Path(path).name: reason for path, reason in report.problems}
    assert reasons["book.md"].startswith("too long to index (2,0") and reasons["book.md"].endswith("split it into smaller files")
    assert reasons["scan.pdf"] == f"too long to index ({MAX_PDF_PAGES + 1:,} pages; the limit is {MAX_PDF_PAGES:,}): split it into smaller files"
    assert report.chunks == 0 and kb.count() == 0


def test_a_long_file_reports_its_progress_batch_by_batch(kb: KnowledgeBase, tmp_path: Path) -> None:
    notes = tmp_path / "long.md"
    notes.write_text("\n\n".join(f"## Section {n}\n\nLearning rate {n} sets the step size of update {n}." for n in range(40)))
    kb.batch_size = 8
    seen: list[tuple[int, int]] = []
    report = kb.ingest([notes], on_chunks=lambda path, written, total: seen.append((written, total)))
    assert len(seen) >= 3 and seen[-1] == (report.chunks, report.chunks)
    assert [w for w, _ in seen] == sorted(w for w, _ in seen)  # counts only grow


def test_an_ingest_stopped_inside_a_file_leaves_search_as_it_was(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Killed after the first batch of a new file, and after the first batch of a new version
    of a known file: search shows neither half-written version (the old version of the known
    file still answers), and the next ingest completes both."""
    notes = tmp_path / "notes"
    notes.mkdir()
    old = notes / "a-known.md"
    old.write_text("# Known\n\nThe zebrafish lemma says warmup steadies early training.")
    kb.ingest([notes])
    old.write_text("\n\n".join(f"## Part {n}\n\nThe okapi lemma {n} says decay follows warmup." for n in range(30)))
    (notes / "b-new.md").write_text("\n\n".join(f"## Part {n}\n\nThe quokka theorem {n} bounds the step." for n in range(30)))
    kb.batch_size = 8

    def stop_after_one_batch(path: str, written: int, total: int) -> None:
        raise KeyboardInterrupt

    for _ in range(2):  # once inside the known file's new version, once inside the new file
        with pytest.raises(KeyboardInterrupt):
            kb.ingest([notes / "b-new.md" if _ else old], on_chunks=stop_after_one_batch)
    for mode in ("hybrid", "vector", "bm25"):
        texts = " ".join(hit.text for hit in kb.search("okapi quokka zebrafish lemma theorem", k=10, mode=mode))
        assert "zebrafish" in texts and "okapi" not in texts and "quokka" not in texts, mode
    kb.ingest([notes])
    assert "okapi" in kb.search("okapi lemma", k=1)[0].text and "quokka" in kb.search("quokka theorem", k=1)[0].text
    assert "zebrafish" not in " ".join(hit.text for hit in kb.search("zebrafish lemma warmup", k=10))


def test_the_bm25_index_is_saved_and_reused_until_the_chunks_change(tmp_path: Path, corpus: Path, monkeypatch) -> None:
    """A new process searching an unchanged collection loads the saved BM25 index instead of
    tokenising every chunk again; any change to the chunks (an ingest here or by another
    process) makes it build and save a new one; a damaged save is rebuilt, never trusted."""
    import bm25s

    client, saved = make_client(tmp_path / "kb"), tmp_path / "bm25"
    first = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    first.ingest([corpus])
    expected = [h.id for h in first.search("adam momentum", k=3, mode="bm25")]
    assert (saved / "test-notes" / "rows.json").is_file()

    built = []
    real_index = bm25s.BM25.index
    monkeypatch.setattr(bm25s.BM25, "index", lambda self, *a, **k: (built.append(1), real_index(self, *a, **k))[1])
    second = KnowledgeBase(client, "test-notes", bm25_dir=saved)                # as a new process would open it
    assert [h.id for h in second.search("adam momentum", k=3, mode="bm25")] == expected and built == []

    (corpus / "extra.md").write_text("# Extra\n\nAdam momentum warm restarts are covered here in extra detail.\n", encoding="utf-8")
    first.ingest([corpus])                                                    # the chunks change under the saved index
    third = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    assert any(h.source == "extra.md" for h in third.search("warm restarts", k=3, mode="bm25")) and built == [1]

    (saved / "test-notes" / "rows.json").write_text("{broken", encoding="utf-8")
    fourth = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    assert any(h.source == "extra.md" for h in fourth.search("warm restarts", k=3, mode="bm25")) and built == [1, 1]


def test_warm_up_opens_what_the_first_search_needs_and_changes_no_result(tmp_path: Path, corpus: Path, monkeypatch) -> None:
    """``KnowledgeBase.warm_up`` (what ``interviewer search`` calls while the model loads) reads
    the saved BM25 index and the cut-short chunks in the background, so the first search reads
    nothing more from disk; its results are those of a process that did not warm up. A failing
    Chroma during warm-up is left for the search to report, never raised from the thread."""
    client, saved = make_client(tmp_path / "kb"), tmp_path / "bm25"
    KnowledgeBase(client, "test-notes", bm25_dir=saved).ingest([corpus])
    cold = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    expected = [(h.id, h.score) for h in cold.search("adam momentum", k=3)]

    warm = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    warm.warm_up().join(timeout=60)
    assert warm._bm25 is not None and warm._partial is not None
    loads = []
    monkeypatch.setattr(KnowledgeBase, "_saved_or_new_bm25", lambda self: loads.append(1))
    assert [(h.id, h.score) for h in warm.search("adam momentum", k=3)] == expected and loads == []

    broken = KnowledgeBase(client, "test-notes", bm25_dir=saved)
    monkeypatch.setattr(broken.collection, "count", lambda: (_ for _ in ()).throw(RuntimeError("server gone")))
    broken.warm_up().join(timeout=60)
    assert broken._bm25 is None
