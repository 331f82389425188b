"""Fault campaign on the PostgreSQL store: connections dropped at random moments of interviews.

Scripted interviews run through the real ``Interviewer`` over a fresh PostgreSQL database (the
server at INTERVIEWER_TEST_POSTGRES_URL, by default the local one). During every candidate turn,
at a random moment (while the turn reads, writes, grades or holds the session's lock), every
server connection to the database is terminated with ``pg_terminate_backend``, as a restart,
a failover or an idle timeout would. Then, from the outside: did the turn get a reply, is every
answer stored exactly once, in order, with one grade, and did every interview finish?

Prints one line, e.g. ``terminations 48 injected at 48 turns; 48 survived, 0 lost, 0 duplicated,
0 unfinished``; exits 1 unless nothing was lost.

Usage: python bench/storage_faults.py [--interviews 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from interviewer.domain import SessionOptions, Turn  # noqa: E402
from interviewer.interview.session import Interviewer  # noqa: E402
from interviewer.rubrics import RubricBank  # noqa: E402
from interviewer.storage.store import Store  # noqa: E402
from interviewer.testing import ScriptedEngine, keyword_rule  # noqa: E402

from harness.reliability import services  # noqa: E402
from harness.reliability.services import terminate_backends  # noqa: E402

QUESTIONS = ["rag-what-and-why", "tf-attention-scaling"]


async def campaign(url: str, interviews: int, seed: int) -> dict[str, int]:
    bank = RubricBank.load()
    rng = random.Random(seed)
    counts = {"turns": 0, "injected": 0, "survived": 0, "lost": 0, "duplicated": 0, "unfinished": 0}
    store = Store(url)
    try:
        for n in range(interviews):
            interviewer = Interviewer(bank, ScriptedEngine(rule=keyword_rule, delay=0.03), store)
            key = f"campaign-{n}"
            session, _ = await interviewer.start(
                user_key="u", channel="bench", session_key=key,
                options=SessionOptions(question_ids=QUESTIONS, max_follow_ups=1),
            )
            sent: list[str] = []
            finished = False
            for step in range(8):
                text = f"retrieval grounds the answer in sources; the scaling keeps the softmax soft ({n}.{step})"
                pause = rng.uniform(0.0, 0.06)
                killer = asyncio.get_running_loop().run_in_executor(None, lambda: (time.sleep(pause), terminate_backends(url))[1])
                counts["turns"] += 1
                try:
                    reply = await interviewer.handle(Turn(session_key=key, user_key="u", text=text), event_id=f"{n}.{step}")
                    ok = bool(reply.messages)
                except Exception as exc:  # noqa: BLE001 - the campaign counts what the user would meet
                    print(f"  turn {n}.{step}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}", file=sys.stderr)
                    ok, reply = False, None
                counts["injected"] += 1 if await killer else 0
                counts["survived"] += ok
                sent.append(text)
                if reply is not None and reply.finished:
                    finished = True
                    break
            stored = [t.text for t in store.turns(session.id) if t.kind == "answer"]
            counts["lost"] += len([t for t in sent if t not in stored])
            counts["duplicated"] += len(stored) - len(set(stored))
            counts["unfinished"] += not finished
    finally:
        store.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    reason = services.postgres_unreachable()
    if reason is not None:
        print(f"no PostgreSQL server at {services.POSTGRES_SERVER}: {reason}")
        return 2
    with services.fresh_postgres_database(prefix="interviewer_faults") as url:
        c = asyncio.run(campaign(url, args.interviews, args.seed))
    print(f"terminations {c['injected']} injected at {c['turns']} turns; {c['survived']} survived, "
          f"{c['lost']} lost, {c['duplicated']} duplicated, {c['unfinished']} unfinished")
    return 0 if c["survived"] == c["turns"] and not (c["lost"] or c["duplicated"] or c["unfinished"]) else 1


if __name__ == "__main__":
    sys.exit(main())
