"""A real Chroma server for tests: ``chroma run`` from the virtualenv on a free local port.

Replicas in production share one server; testing against the real binary (not an in-process
client) is the only way to see what crosses the wire: connection errors, concurrent creates
and upserts from several processes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMA_BIN = Path(sys.executable).parent / "chroma"
HEARTBEAT = "/api/v2/heartbeat"  # chromadb 1.x (the Rust server); v1 answers 410 Gone


@dataclass(frozen=True)
class ChromaServer:
    url: str
    path: Path
    log: Path


def free_port() -> int:
    """A port nobody listens on right now (the tiny race with other processes is acceptable)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def quiet_env() -> dict[str, str]:
    """The environment for the server and for replicas: no telemetry, no model downloads."""
    env = os.environ.copy()
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def _wait_for_heartbeat(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + HEARTBEAT, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"chroma run did not answer {HEARTBEAT} within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def chroma_server(path: Path, timeout: float = 30.0) -> Iterator[ChromaServer]:
    """Run ``chroma run`` on 127.0.0.1 with its data in ``path``; skip if the binary is missing."""
    if not CHROMA_BIN.exists():
        pytest.skip(f"no chroma CLI at {CHROMA_BIN} (pip install chromadb in this virtualenv)")
    path.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = path.parent / f"chroma-{port}.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(CHROMA_BIN), "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=quiet_env(),
        )
    try:
        _wait_for_heartbeat(url, process, log, timeout)
        yield ChromaServer(url=url, path=path, log=log)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One server per test module: starting it takes well under a second, but state is shared."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as server:
        yield server
