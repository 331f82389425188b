"""Shared fixtures: an isolated data dir per test, the packaged bank, one embedding model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from interviewer.rubrics import RubricBank  # noqa: E402
from interviewer.storage.store import Store  # noqa: E402

from harness.reliability import services  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real user's data dir or config file."""
    data = tmp_path / "data"
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data))
    monkeypatch.setenv("INTERVIEWER_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("INTERVIEWER_USER", "tester")
    for name in ("INTERVIEWER_DATABASE_URL", "INTERVIEWER_CHROMA_URL", "INTERVIEWER_RUBRIC_DIRS", "INTERVIEWER_MODEL", "INTERVIEWER_ENGINE",
                 "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return data


@pytest.fixture(scope="session")
def bank() -> RubricBank:
    return RubricBank.load()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


# The store suite runs on SQLite and on a real PostgreSQL server: this one (the local server by
# default, INTERVIEWER_TEST_POSTGRES_URL otherwise), each test in a database of its own. Without a
# server those variants skip, unless INTERVIEWER_TEST_POSTGRES_REQUIRED=1 (CI) makes it a failure.
@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new empty database on the test server, dropped afterwards; yields its SQLAlchemy URL."""
    reason = services.postgres_unreachable()
    if reason is not None:
        if os.environ.get("INTERVIEWER_TEST_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {services.POSTGRES_SERVER}: {reason}")
        pytest.skip(f"no PostgreSQL server at {services.POSTGRES_SERVER}: {reason}")
    with services.fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database, for what only PostgreSQL has (advisory locks, its planner)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend (``store`` stays SQLite-only for the rest of the suite)."""
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def offline_engine():
    from interviewer.grading.offline.engine import OfflineEngine

    engine = OfflineEngine()
    engine.embedder.wait()
    return engine


@pytest.fixture(scope="session")
def material_index(tmp_path_factory: pytest.TempPathFactory):
    """The packaged study notes indexed once per test run: (data dir holding it, KnowledgeBase)."""
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.index import KnowledgeBase, ensure_material

    data_dir = tmp_path_factory.mktemp("material-data")
    kb = KnowledgeBase(make_client(data_dir), "material")
    report = ensure_material(kb)
    assert report.problems == [] and report.added >= 24
    return data_dir, kb


def pytest_unconfigure(config: pytest.Config) -> None:
    """Let background native work (embedding, indexing) finish before the interpreter exits:
    a daemon thread still inside torch at shutdown aborts the process (exit code 134)."""
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and thread.daemon and thread.name.startswith(
            ("prepare-", "embedder-load", "detector-load", "few-shot-", "material-retriever")
        ):
            thread.join(timeout=120)
