"""A replica in a subprocess, for the cross-process store tests: ``python replica_worker.py CMD ...``.

Each command prints READY once its store is open, waits for GO on stdin (so that replicas start
together), then does its part and prints its result.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from interviewer.domain import Assessment, Turn
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"


def _ready() -> None:
    print("READY", flush=True)
    sys.stdin.readline()


def grade(url: str, session_id: str, turns: str) -> None:
    """Try to grade turns 1..N of a session; print how many grades this process stored."""
    store = Store(url)
    _ready()
    grade = Assessment(question_id="q", verdicts=[], score=5.0)
    print(sum(store.add_assessment(session_id, seq, grade) for seq in range(1, int(turns) + 1)), flush=True)


def open_store(url: str) -> None:
    """Open (and so migrate) the store only after GO: replicas starting together on an empty one."""
    _ready()
    store = Store(url)
    print(store.revision(), flush=True)


class _AnnouncingEngine(ScriptedEngine):
    """Says when it starts grading: by then the answer is stored and the session is owned."""

    async def assess(self, question, answer, **kwargs):
        print("GRADING", flush=True)
        return await super().assess(question, answer, **kwargs)


async def _answer(url: str, session_key: str, name: str, answers: int, delay: float) -> None:
    engine = _AnnouncingEngine(rule=keyword_rule, delay=delay)
    interviewer = Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, Store(url))
    _ready()
    for n in range(answers):
        text = f"answer {n} from {name} about nothing in particular"
        await interviewer.handle(Turn(session_key=session_key, user_key="u", text=text), event_id=f"{name}-{n}")
    print("DONE", flush=True)


def answer(url: str, session_key: str, name: str, answers: str, delay: str) -> None:
    """Send answers to one session through the core, each graded after ``delay`` seconds."""
    asyncio.run(_answer(url, session_key, name, int(answers), float(delay)))


if __name__ == "__main__":
    {"grade": grade, "answer": answer, "open": open_store}[sys.argv[1]](*sys.argv[2:])
