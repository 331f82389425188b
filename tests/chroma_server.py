"""A real Chroma server for tests: ``chroma run`` from the virtualenv on a free local port.

Replicas in production share one server; testing against the real binary (not an in-process
client) is the only way to see what crosses the wire: connection errors, concurrent creates
and upserts from several processes. The server itself is started by
``harness.reliability.services`` (the replica bench uses it too); this adds the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.reliability import services
from harness.reliability.services import ChromaServer, free_port, quiet_env  # noqa: F401 - re-exported for tests


@contextmanager
def chroma_server(path: Path, timeout: float = 30.0) -> Iterator[ChromaServer]:
    """Run ``chroma run`` on 127.0.0.1 with its data in ``path``; skip if the binary is missing."""
    if not services.CHROMA_BIN.exists():
        pytest.skip(f"no chroma CLI at {services.CHROMA_BIN} (pip install chromadb in this virtualenv)")
    with services.chroma_server(path, timeout) as server:
        yield server


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One server per test module: starting it takes well under a second, but state is shared."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as server:
        yield server
