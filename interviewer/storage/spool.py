"""Answers the store could not take, kept until it can: an append-only JSON-lines file.

When the database refuses an answer (disk full, server gone, file read-only), losing it would
cost the candidate the one thing they typed; so the answer goes here, one line each, flushed
and synced. The next time that interview moves (a resume, or any message to it), an entry whose
session still waits at the same prompt is stored and graded; an entry the interview has moved
past is dropped. The first place that takes the line wins: beside the data, else the user's
temp folder (often another filesystem, so a full data disk does not take the answer with it).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILE_NAME = "unsaved-answers.jsonl"


@dataclass(frozen=True)
class KeptAnswer:
    """An answer as it would have been stored, with the prompt it answers."""

    session_id: str
    question_id: str
    prompt_seq: int
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None
    kept_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


class Spool:
    """Kept answers in the first writable of ``places`` (read back from all of them)."""

    def __init__(self, places: list[Path]) -> None:
        self.places = places
        self._lock = threading.Lock()  # appends and rewrites from worker threads never interleave

    @classmethod
    def beside(cls, data_dir: Path) -> Spool:
        user = getattr(os, "getuid", lambda: "user")()
        return cls([data_dir / FILE_NAME, Path(tempfile.gettempdir()) / f"interviewer-{user}" / FILE_NAME])

    def keep(self, answer: KeptAnswer) -> Path | None:
        """Append ``answer`` durably; the file it went to, or None when no place would take it."""
        line = json.dumps(asdict(answer), ensure_ascii=False) + "\n"
        with self._lock:
            for place in self.places:
                size: int | None = None  # known once the file is about to be touched
                try:
                    place.parent.mkdir(parents=True, exist_ok=True)
                    size = place.stat().st_size if place.exists() else 0
                    with open(place, "a", encoding="utf-8") as spool:
                        spool.write(line)
                        spool.flush()
                        os.fsync(spool.fileno())
                    return place
                except OSError:
                    if size is not None:
                        _cut_back(place, size)
                    continue
        return None

    def waiting(self, session_id: str | None = None) -> list[KeptAnswer]:
        """Kept answers (of one session, when given), oldest first; unreadable lines are skipped."""
        found = []
        for place in self.places:
            for answer in _read(place):
                if session_id is None or answer.session_id == session_id:
                    found.append(answer)
        return sorted(found, key=lambda a: a.kept_at)

    def has_waiting(self) -> bool:
        """Cheap check before any reading: does any spool file exist?"""
        return any(place.exists() for place in self.places)

    def forget(self, answers: list[KeptAnswer]) -> None:
        """Remove ``answers`` (stored or moved past); a file left empty is deleted."""
        if not answers:
            return
        gone = {(a.session_id, a.prompt_seq, a.kept_at) for a in answers}
        with self._lock:
            for place in self.places:
                kept = _read(place)
                left = [a for a in kept if (a.session_id, a.prompt_seq, a.kept_at) not in gone]
                if len(left) == len(kept):
                    continue
                try:
                    if not left:
                        place.unlink()
                        continue
                    fresh = place.with_suffix(".tmp")
                    fresh.write_text("".join(json.dumps(asdict(a), ensure_ascii=False) + "\n" for a in left), encoding="utf-8")
                    fresh.replace(place)
                except OSError:
                    pass  # still there next time; storing is checked against the session, so never twice


def _cut_back(place: Path, size: int) -> None:
    """Undo a line a full disk cut short (and remove a file it left empty), as far as it can."""
    try:
        if size:
            os.truncate(place, size)
        elif place.exists():
            place.unlink()
    except OSError:
        pass


def _read(place: Path) -> list[KeptAnswer]:
    try:
        lines = place.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    answers = []
    for line in lines:
        try:
            answers.append(KeptAnswer(**json.loads(line)))
        except (ValueError, TypeError):
            continue  # a line cut short by a crash mid-write
    return answers
