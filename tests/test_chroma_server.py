"""Retrieval through a shared Chroma server: ingest once, query from every replica.

Each replica is a separate process with its own data dir and the same INTERVIEWER_CHROMA_URL,
as when several bot workers run behind one server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chroma_server import ChromaServer, chroma, quiet_env  # noqa: F401 - chroma is a fixture
from cli_process import run_interviewer

pytestmark = pytest.mark.slow
NOTES_COLLECTION = "shared-notes"
# Three of the packaged notes (rag.md answers the query): the race is the same with 26 files,
# but embedding all of them twice on a shared CPU takes minutes.
MATERIAL_SUBSET = ("rag.md", "bias-variance.md", "embeddings.md")

# A replica: loads the model, waits for the starting gun, then ensures the packaged material
# and searches it and the notes another process ingested.
REPLICA = """
import json, sys, time
from pathlib import Path
from interviewer.config import load_settings
from interviewer.embedder import shared_embedder
from interviewer.knowledge.index import ensure_material
from interviewer.knowledge.service import open_collection

import interviewer.rubrics
collection, go, query, material = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
interviewer.rubrics.packaged_material_dir = lambda: material
shared_embedder().encode(["warm up"])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
kb = open_collection(load_settings(), collection)
report = ensure_material(kb)
hits = kb.search(query, k=3)
notes = open_collection(load_settings(), sys.argv[5]).search(sys.argv[6], k=1)
print(json.dumps({"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
                  "chunks": report.chunks, "problems": report.problems, "citations": [h.citation for h in hits],
                  "notes": [h.citation for h in notes]}))
"""


def replica_env(data_dir: Path, url: str) -> dict[str, str]:
    env = quiet_env()
    env.update(INTERVIEWER_DATA_DIR=str(data_dir), INTERVIEWER_CHROMA_URL=url)
    return env


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_interviewer(*args, env=env, timeout=120)


def server_kb(url: str, name: str):
    """The collection as the test sees it, opened with our embedding function (never Chroma's)."""
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase

    return KnowledgeBase(make_client(Path("/nonexistent-unused"), url), name)


def snapshot(kb) -> dict[str, tuple]:
    """Every chunk id with what an upsert would rewrite: content hash and text."""
    got = kb.collection.get(include=["metadatas", "documents"])
    return {i: (m["file_hash"], d) for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])}


@pytest.fixture(scope="module")
def ingested(chroma: ChromaServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`interviewer ingest` run once against the server, from a replica with its own data dir."""
    notes = tmp_path_factory.mktemp("notes")
    (notes / "regularisation.md").write_text(
        "# Regularisation\n\n## Dropout\n\nDropout switches off a random subset of units at every training step. "
        "The network cannot rely on any single unit, so it learns redundant features.\n\n"
        "## Weight decay\n\nWeight decay adds the squared norm of the weights to the loss, "
        "so large weights are penalised and the learned function stays smooth.\n",
        encoding="utf-8",
    )
    data_dir = tmp_path_factory.mktemp("ingester")
    result = cli("ingest", str(notes), "-c", NOTES_COLLECTION, env=replica_env(data_dir, chroma.url))
    return {"result": result, "data_dir": data_dir}


def test_ingest_writes_into_the_server_not_the_data_dir(chroma: ChromaServer, ingested: dict) -> None:
    result = ingested["result"]
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    assert not (ingested["data_dir"] / "chroma").exists()
    assert server_kb(chroma.url, NOTES_COLLECTION).count() == int(result.stdout.split("holds ")[1].split()[0]) > 0


@pytest.fixture(scope="module")
def replicas(chroma: ChromaServer, ingested: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two replica processes started together against the server, after the notes were ingested."""
    assert ingested["result"].returncode == 0, ingested["result"].stderr
    root = tmp_path_factory.mktemp("replicas")
    go, material = root / "go", packaged_subset(root / "material")
    notes_before = snapshot(server_kb(chroma.url, NOTES_COLLECTION))
    args = [sys.executable, "-c", REPLICA, "material", str(go), "reciprocal rank fusion", str(material),
            NOTES_COLLECTION, "randomly disabling neurons"]
    data_dirs = [root / f"replica-{n}" for n in (1, 2)]
    processes = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=replica_env(d, chroma.url))
        for d in data_dirs
    ]
    reports = start_together(processes, go, timeout=180)
    return {"reports": reports, "material": material, "data_dirs": data_dirs, "notes_before": notes_before}


def start_together(processes: list[subprocess.Popen], go: Path, timeout: float) -> list[dict]:
    """Once every replica says it is ready (model loaded), fire the starting gun; their reports."""
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    go.touch()
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_two_replicas_retrieve_with_citations_without_reingesting(chroma: ChromaServer, replicas: dict) -> None:
    for report in replicas["reports"]:
        assert report["notes"] == ["regularisation.md > Dropout"]
    assert snapshot(server_kb(chroma.url, NOTES_COLLECTION)) == replicas["notes_before"]  # nothing re-embedded
    for data_dir in replicas["data_dirs"]:
        assert not (data_dir / "chroma").exists()


def test_material_is_indexed_once_when_replicas_start_together(chroma: ChromaServer, replicas: dict) -> None:
    for report in replicas["reports"]:
        assert report["problems"] == []
        assert "rag.md > Hybrid search and fusion" in report["citations"]
    kb = server_kb(chroma.url, "material")
    expected = chunk_ids(replicas["material"])
    positions = [(m["source"], m["position"]) for m in kb.collection.get(include=["metadatas"])["metadatas"]]
    assert len(positions) == len(set(positions)) == kb.count() == len(expected)
    assert set(kb.collection.get(include=[])["ids"]) == expected

    with pytest.MonkeyPatch.context() as patch:  # a replica starting later finds everything in place
        from interviewer.knowledge.index import ensure_material

        patch.setattr("interviewer.rubrics.packaged_material_dir", lambda: replicas["material"])
        late = ensure_material(kb)
    assert late.chunks == 0 and late.added == 0 and late.unchanged == len(MATERIAL_SUBSET)
    assert kb.count() == len(expected)


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    from chroma_server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    env = replica_env(tmp_path / "data", url)
    for args in (("ingest", str(tmp_path)), ("search", "dropout")):
        result = cli(*args, env=env)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot reach the Chroma server at " + url in lines[0], result.stderr
        assert "Traceback" not in result.stderr + result.stdout


def packaged_subset(folder: Path) -> Path:
    """A copy of some packaged notes, standing in for the package's material folder."""
    from interviewer.rubrics import packaged_material_dir

    folder.mkdir()
    for name in MATERIAL_SUBSET:
        shutil.copy(packaged_material_dir() / name, folder / name)
    return folder


def chunk_ids(folder: Path) -> set[str]:
    """The ids one copy of the notes has: chunking only, no embedding."""
    from interviewer.knowledge.chunking import chunk_document
    from interviewer.knowledge.documents import read_document

    return {c.id for path in sorted(folder.glob("*.md")) for c in chunk_document(read_document(path, path.name))}


def test_a_replica_sees_chunks_another_replica_ingested(chroma: ChromaServer, tmp_path: Path) -> None:
    """Keyword search in a long-running replica must not stay frozen at its first BM25 build."""
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase

    first, second = (KnowledgeBase(make_client(tmp_path, chroma.url), "bm25-replicas", HashEmbedding()) for _ in range(2))
    (tmp_path / "a.md").write_text("# Optimisers\n\n## Adam\n\nAdam keeps running averages of gradients and squares.\n")
    first.ingest([tmp_path / "a.md"])
    assert [h.citation for h in first.search("Adam averages", mode="bm25")] == ["a.md > Adam"]
    (tmp_path / "b.md").write_text("# Optimisers\n\n## Nesterov\n\nNesterov momentum looks ahead before the gradient step.\n")
    second.ingest([tmp_path / "b.md"])
    assert [h.citation for h in first.search("Nesterov momentum", mode="bm25")] == ["b.md > Nesterov"]


class HashEmbedding:
    """Stands in for MiniLM where only BM25 matters: no model load in the test process."""

    def __new__(cls):
        from interviewer.knowledge.chroma import MiniLMEmbeddingFunction

        class _Hash(MiniLMEmbeddingFunction):
            def __init__(self) -> None:
                pass

            def __call__(self, input):  # noqa: A002 - Chroma's parameter name
                import numpy as np

                return [np.array([(hash(t) >> s) % 97 + 1.0 for s in range(8)], dtype=np.float32) for t in input]

        return _Hash()


# A replica as `serve` builds it (build_app), opening the packaged material the way it does at
# startup; the replicas share one transcript store, as replicas share their PostgreSQL.
OPENING_REPLICA = """
import json, sys, time
from pathlib import Path
from interviewer.app import build_app
from interviewer.config import load_settings
from interviewer.embedder import shared_embedder
import interviewer.rubrics

go, material = Path(sys.argv[1]), Path(sys.argv[2])
interviewer.rubrics.packaged_material_dir = lambda: material
retriever = build_app(load_settings()).interviewer.material.retriever
shared_embedder().encode(["warm up"])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.01)
assert retriever.wait(300)
print(json.dumps({"added": retriever.report.added, "unchanged": retriever.report.unchanged}))
"""


def test_replicas_starting_together_embed_the_material_once(tmp_path: Path) -> None:
    from harness.reliability.services import chroma_server as start_chroma

    material, go = packaged_subset(tmp_path / "material"), tmp_path / "go"
    with start_chroma(tmp_path / "chroma") as server:
        processes = []
        for n in (1, 2):
            env = replica_env(tmp_path / f"replica-{n}", server.url)
            env["INTERVIEWER_DATABASE_URL"] = f"sqlite:///{tmp_path / 'shared.db'}"
            processes.append(subprocess.Popen([sys.executable, "-c", OPENING_REPLICA, str(go), str(material)],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        reports = start_together(processes, go, timeout=300)
    # One replica embedded the notes while the other waited, then found them all in place.
    assert sorted(r["added"] for r in reports) == [0, len(MATERIAL_SUBSET)], reports
    assert sorted(r["unchanged"] for r in reports) == [0, len(MATERIAL_SUBSET)], reports
