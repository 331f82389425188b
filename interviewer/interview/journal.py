"""The store as the interview reads and writes it: one turn of a session at a time, everywhere.

``Journal.working_on`` holds a session in this process (an asyncio lock) and across processes
(``Store.owning``); while it is held the transcript is read once and kept in step with every
write instead of being read again at each step. The store stays the truth: the copy is dropped
when the hold ends, since another replica may write as soon as it does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from interviewer.domain import Assessment, TurnRecord
from interviewer.interview.ordering import KeyedLocks
from interviewer.storage.errors import AnswerKept, failure_cause
from interviewer.storage.spool import KeptAnswer, Spool
from interviewer.storage.store import Store


@dataclass
class Transcript:
    """A session's turns and grades as read under the hold (grades keyed by the answer's seq)."""

    turns: list[TurnRecord]
    grades: dict[int, Assessment]


class Journal:
    def __init__(self, store: Store, spool: Spool | None = None) -> None:
        self.store = store
        self.spool = spool
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

    async def append_answer(self, session_id: str, prompt_seq: int, **fields: Any) -> TurnRecord | None:
        """Store an answer; when the store refuses it, keep it in the spool (``AnswerKept``) so
        that it is not lost. Without a spool, or when no spool place takes it, the error stands."""
        try:
            return await self.append(session_id, role="candidate", kind="answer", **fields)
        except DBAPIError as exc:
            if self.spool is None:
                raise
            answer = KeptAnswer(session_id=session_id, question_id=fields["question_id"], prompt_seq=prompt_seq,
                                text=fields["text"], meta=fields.get("meta") or {}, event_id=fields.get("event_id"))
            place = await asyncio.to_thread(self.spool.keep, answer)
            if place is None:
                raise
            raise AnswerKept(failure_cause(exc, self.store.url), place) from exc

    async def take_back(self, session_id: str, still_awaited: Callable[[KeptAnswer], Awaitable[bool]]) -> int:
        """Store the kept answers of a session that the interview still waits for (the same
        prompt, nothing answered since); drop the ones it moved past. How many were stored."""
        if self.spool is None or not self.spool.has_waiting():
            return 0
        stored, settled = 0, []
        try:
            for answer in await asyncio.to_thread(self.spool.waiting, session_id):
                if await still_awaited(answer):
                    await self.append(session_id, role="candidate", kind="answer", text=answer.text, question_id=answer.question_id,
                                      meta=answer.meta, event_id=answer.event_id)
                    stored += 1
                settled.append(answer)
        finally:  # a store still failing raises here; what was settled before is not kept twice
            await asyncio.to_thread(self.spool.forget, settled)
        return stored

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
