"""Recorded interviews for tests, benchmarks and demo reports (not shipped: a harness piece).

``practise_from_examples`` runs whole interviews through the real core with the bank's graded
examples as answers; ``backdate`` spreads a stored history over weeks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from interviewer.domain import Question
from interviewer.testing import VerdictMap, keyword_rule

def example_rule(bank_questions: dict[str, Question]) -> Callable[[Question, str], VerdictMap]:
    """A grader that gives a bank answer example exactly its human verdicts (others: keyword_rule)."""

    def rule(question: Question, answer: str) -> VerdictMap:
        for example in question.examples:
            if example.answer.strip() == answer.strip():
                return {point_id: verdict.value for point_id, verdict in example.verdicts.items()}
        return keyword_rule(question, answer)

    return rule


async def practise_from_examples(
    interviewer: Any, user_key: str, *, sessions: int, questions: int = 4, seed: int = 0,
    topics: Sequence[str] = (), channel: str = "repl",
) -> list[Any]:
    """Run whole interviews through the real core, answering with the bank's graded examples.

    The candidate improves over the sessions (weak answers early, strong ones late), asks for a
    hint now and then, skips now and then and answers follow-ups, so the transcripts look like a
    real practice history. Pair it with ``ScriptedEngine(rule=example_rule(...))``.
    """
    import random

    from interviewer.domain import SessionOptions, Turn

    rng = random.Random(seed)
    done = []
    for n in range(sessions):
        progress = n / max(1, sessions - 1)
        pool = [q.id for q in interviewer.bank.select(list(topics)) if q.examples]
        picked = rng.sample(pool, min(questions, len(pool)))  # from the seed, so a history is reproducible
        options = SessionOptions(question_ids=picked, questions=len(picked))
        session, reply = await interviewer.start(user_key=user_key, channel=channel, options=options, session_key=f"{user_key}:{n}")
        current = ""
        for _ in range(questions * 6):
            if reply.finished:
                break
            asked = [m for m in reply.messages if m.kind in ("question", "follow_up", "hint")]
            last = asked[-1] if asked else None
            current = (last.data.get("question_id") if last else None) or current  # a hint names no question
            question = interviewer.bank.questions.get(current)
            if last is not None and last.kind == "question" and question is not None:
                roll = rng.random()
                if roll < 0.06:
                    text = "skip"
                elif roll < 0.14:
                    text = "hint"
                else:
                    text = _example_answer(question, progress, rng)
            elif last is not None and last.kind == "hint" and question is not None:
                text = _example_answer(question, min(1.0, progress + 0.3), rng)
            elif last is not None and last.kind == "follow_up":
                text = "skip" if rng.random() < 0.3 else _a_sentence_of(question, rng) if question else "I am not sure."
            else:
                text = "end"
            reply = await interviewer.handle(Turn(session_key=session.session_key, user_key=user_key, text=text, channel=channel))
        if not reply.finished:
            await interviewer.handle(Turn(session_key=session.session_key, user_key=user_key, text="end", channel=channel))
        done.append(session)
    return done


def _a_sentence_of(question: Question, rng: Any) -> str:
    """A follow-up answer: one sentence of the question's strongest example."""
    strong = next((e.answer for e in question.examples if e.label == "strong"), question.model_answer or question.text)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", strong.strip()) if s]
    return rng.choice(sentences) if sentences else strong


def _example_answer(question: Question, progress: float, rng: Any) -> str:
    by_label = {e.label: e.answer for e in question.examples}
    weights = {"weak": 1 - progress, "partial": 0.8, "fluent_wrong": 0.3, "strong": 0.2 + progress}
    labels = [label for label in weights if label in by_label]
    if not labels:
        return question.model_answer or question.text
    return by_label[rng.choices(labels, weights=[weights[label] for label in labels])[0]]


def backdate(store: Any, session_id: str, start: Any, *, step_seconds: float = 40.0) -> None:
    """Move a stored session to ``start`` (its turns ``step_seconds`` apart), for a history over weeks."""
    from datetime import timedelta

    from sqlalchemy import update

    from interviewer.storage.tables import SessionRow, TurnRow

    turns = store.turns(session_id)
    with store.engine.begin() as db:
        for n, turn in enumerate(turns):
            db.execute(
                update(TurnRow).where(TurnRow.session_id == session_id, TurnRow.seq == turn.seq)
                .values(created_at=start + timedelta(seconds=step_seconds * n))
            )
        end = start + timedelta(seconds=step_seconds * max(0, len(turns) - 1))
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(created_at=start, updated_at=end))
