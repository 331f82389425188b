"""The shared services a fleet of replicas runs on, started for tests and benches on 127.0.0.1.

A fresh PostgreSQL database on a server that is already running (the machine's, or CI's), and a
real ``chroma run`` from the virtualenv. Both raise ``ServiceUnavailable`` with the reason when
they cannot be had, so a pytest fixture can decide between skip and fail and a bench can say why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

POSTGRES_SERVER = os.environ.get("INTERVIEWER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHROMA_BIN = Path(sys.executable).parent / "chroma"
HEARTBEAT = "/api/v2/heartbeat"  # chromadb 1.x (the Rust server); v1 answers 410 Gone


class ServiceUnavailable(RuntimeError):
    """The service cannot be started or reached here; the message says why."""


def libpq(url: str) -> str:
    """A SQLAlchemy psycopg URL as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@cache
def postgres_unreachable(server: str = POSTGRES_SERVER) -> str | None:
    """Why no PostgreSQL server can be used (None when one can); asked once per process."""
    try:
        import psycopg

        psycopg.connect(libpq(server), connect_timeout=3).close()
    except Exception as exc:  # no driver, no server, no permission: all mean "cannot use it here"
        return " ".join(str(exc).split())
    return None


@contextmanager
def fresh_postgres_database(server: str = POSTGRES_SERVER, prefix: str = "interviewer_test") -> Iterator[str]:
    """A new empty database on ``server``, dropped afterwards; yields its SQLAlchemy URL."""
    reason = postgres_unreachable(server)
    if reason is not None:
        raise ServiceUnavailable(f"no PostgreSQL server at {server}: {reason}")
    import psycopg
    from sqlalchemy import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_backends(url: str, server: str = POSTGRES_SERVER) -> int:
    """End every server connection to the database of ``url``, as a restart, a failover or an
    idle timeout would; returns how many were ended."""
    import psycopg
    from sqlalchemy import make_url

    with psycopg.connect(libpq(server), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (make_url(url).database,),
        ).fetchall()
    return len(rows)


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
    """The environment for servers and replicas: no telemetry, no model downloads."""
    env = os.environ.copy()
    env.update(ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def _wait_for_heartbeat(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceUnavailable(f"chroma run exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url + HEARTBEAT, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise ServiceUnavailable(f"chroma run did not answer {HEARTBEAT} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def chroma_server(path: Path, timeout: float = 30.0) -> Iterator[ChromaServer]:
    """Run ``chroma run`` on 127.0.0.1 with its data in ``path``."""
    if not CHROMA_BIN.exists():
        raise ServiceUnavailable(f"no chroma CLI at {CHROMA_BIN} (pip install chromadb in this virtualenv)")
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
        stop_process(process)
