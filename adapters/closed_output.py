"""Noticing that nobody reads the interview any more: `make practice 2>&1 | tee log`, then Ctrl-C
killed `tee`. The interviewer was left waiting for the next answer, invisibly, for as long as the
terminal stayed open; now it pauses as Ctrl-C would (every turn is saved as it happens) and exits.
"""

from __future__ import annotations

import logging
import os
import select
import stat
import sys
import threading
from typing import IO

log = logging.getLogger(__name__)


def reader_gone(stream: IO[str]) -> bool:
    """Whether the pipe or socket behind ``stream`` has lost its reader (poll reports an error or
    a hang-up on a write end whose reader closed; a terminal or a file never does)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def is_pipe(stream: IO[str]) -> bool:
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class OutputWatch:
    """Watches stdout while the interview waits for an answer; when its reader is gone, pauses
    the interview (says so on stderr when anyone still reads that) and ends the process.

    ``idle`` is set only while the interview waits for input, so a turn being graded is never
    cut: the process ends when it is back to waiting."""

    def __init__(self, session_id: str, stream: IO[str] | None = None, every: float = 0.5) -> None:
        self.stream = stream or sys.stdout
        self.session_id = session_id
        self.every = every
        self.idle = threading.Event()
        self._stop = threading.Event()

    def start(self) -> "OutputWatch":
        if is_pipe(self.stream):
            threading.Thread(target=self._watch, name="output-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            if reader_gone(self.stream):
                self.idle.wait()
                log.warning("output closed: interview %s paused", self.session_id)
                try:
                    sys.stderr.write(f"\nNobody reads the output any more: interview paused and saved (session "
                                     f"{self.session_id[:8]}). Continue later with 'interviewer resume'.\n")
                    sys.stderr.flush()
                except OSError:
                    pass
                os._exit(0)
