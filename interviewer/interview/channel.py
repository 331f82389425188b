"""What every chat channel does the same way, whatever the platform (Rasa's input/output split).

A channel turns a platform's events into ``take_turn`` calls and renders the ``Reply`` its own
way (``send``). The base keeps each session's turns and replies in arrival order, turns a
failure into an honest error reply, and answers the core's refusals privately to the one who
caused them: someone else's interview, or a button pressed after the interview ended.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from interviewer.domain import Turn
from interviewer.interview.ordering import KeyedLocks
from interviewer.interview.replies import Reply, failed_turn
from interviewer.interview.session import Interviewer

log = logging.getLogger(__name__)

OVER = "That interview is over."


class ChatChannel:
    """A chat platform's channel; ``place`` is whatever it needs to post (a thread, a DM)."""

    name: ClassVar[str]  # stored with each session it starts

    def __init__(self, interviewer: Interviewer, *, default_questions: int = 5) -> None:
        self.interviewer = interviewer
        self.default_questions = default_questions
        self._order = KeyedLocks()

    @asynccontextmanager
    async def in_order(self, key: str) -> AsyncIterator[None]:
        """Hold the session's place in line: take it before the first await of an event."""
        async with self._order.hold(key):
            yield

    @property
    def sessions_in_flight(self) -> int:
        return len(self._order)

    async def take_turn(
        self, place: Any, key: str, user: str, text: str, *, event_id: str | None = None,
        prompt_seq: int | None = None, pressed: bool = False, in_line: bool = False,
    ) -> None:
        """One message or button press (``pressed``) for the interview at ``key``; ``in_line``:
        the caller already holds ``in_order(key)``."""
        if not in_line:
            async with self.in_order(key):
                await self.take_turn(place, key, user, text, event_id=event_id, prompt_seq=prompt_seq, pressed=pressed, in_line=True)
            return
        turn = Turn(session_key=key, user_key=user, text=text, channel=self.name, prompt_seq=prompt_seq)
        try:
            reply = await self.interviewer.handle(turn, event_id=event_id)
        except Exception as exc:
            log.exception("%s: interview turn failed", self.name)
            reply = failed_turn(exc)
        else:
            refusal = reply.messages[0].data.get("reason") if len(reply.messages) == 1 else None
            if refusal == "no_session":  # not an interview here: silence, unless a button waited for it
                if pressed:
                    await self.refuse(place, user, OVER)
                return
            if refusal == "not_owner":
                await self.refuse(place, user, self.not_yours(reply.messages[0].data["owner"]))
                return
        await self.send(place, reply)

    async def deliver(self, place: Any, key: str, reply: Reply) -> bool:
        """Send a reply the channel got outside a turn (the first question), in line with the turns."""
        async with self.in_order(key):
            return await self.send(place, reply)

    # what each platform does its own way ---------------------------------------------------

    async def send(self, place: Any, reply: Reply) -> bool:
        """Post every message of ``reply``; False when the platform refused one."""
        raise NotImplementedError

    async def refuse(self, place: Any, user: str, text: str) -> None:
        """Tell ``user`` (a user key) privately why their message or press did nothing."""
        raise NotImplementedError

    def not_yours(self, owner_key: str) -> str:
        """The note for someone who answers or presses in another person's interview."""
        raise NotImplementedError
