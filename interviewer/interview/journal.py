"""The store as the interview reads and writes it: one turn of a session at a time, everywhere.

``Journal.working_on`` holds a session in this process (an asyncio lock) and across processes
(``Store.owning``); while it is held the transcript is read once and kept in step with every
write instead of being read again at each step. The store stays the truth: the copy is dropped
when the hold ends, since another replica may write as soon as it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from interviewer.domain import Assessment, TurnRecord
from interviewer.interview.ordering import KeyedLocks
from interviewer.storage.store import Store


@dataclass
class Transcript:
    """A session's turns and grades as read under the hold (grades keyed by the answer's seq)."""

    turns: list[TurnRecord]
    grades: dict[int, Assessment]


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._sessions = KeyedLocks()
        self._copies: dict[str, Transcript] = {}  # only while the session is held

    @asynccontextmanager
    async def working_on(self, session_id: str) -> AsyncIterator[None]:
        """Hold the session here and across processes for one step of the interview."""
        async with self._sessions.hold(session_id), self.store.owning(session_id).held():
            self._copies.pop(session_id, None)  # read after owning: another replica may have written
            try:
                yield
            finally:
                self._copies.pop(session_id, None)

    async def transcript(self, session_id: str) -> Transcript:
        cached = self._copies.get(session_id)
        if cached is None:
            turns, grades = await asyncio.to_thread(self.store.transcript, session_id)
            cached = self._copies[session_id] = Transcript(turns, grades)
        return cached

    async def append(self, session_id: str, **fields: Any) -> TurnRecord | None:
        """Store a turn (None when its event id was stored before: a retried delivery)."""
        record = await asyncio.to_thread(lambda: self.store.append_turn(session_id, **fields))
        cached = self._copies.get(session_id)
        if record is not None and cached is not None:
            cached.turns.append(record)
        return record

    async def add_assessment(self, session_id: str, seq: int, assessment: Assessment) -> None:
        stored = await asyncio.to_thread(self.store.add_assessment, session_id, seq, assessment)
        cached = self._copies.get(session_id)
        if stored and cached is not None:
            cached.grades[seq] = assessment
        else:  # graded elsewhere meanwhile: read the store again
            self._copies.pop(session_id, None)

    async def finish(self, session_id: str) -> None:
        await asyncio.to_thread(self.store.finish_session, session_id)

    @property
    def sessions_held(self) -> int:
        """Sessions with a lock entry in this process (held or waited for)."""
        return len(self._sessions)
