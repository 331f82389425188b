"""Choosing the next question: filters, no repeats, topic rotation and adaptive difficulty."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from interviewer.domain import Question, SessionOptions
from interviewer.labels import STRONG_SCORE, WEAK_SCORE


def next_difficulty(current: int, last_score: float | None) -> int:
    """Harder after a strong answer, easier after a weak one."""
    if last_score is None:
        return current
    if last_score >= STRONG_SCORE:
        return min(3, current + 1)
    if last_score < WEAK_SCORE:
        return max(1, current - 1)
    return current


def pick_question(
    pool: Sequence[Question],
    options: SessionOptions,
    asked: Sequence[str],
    seen: dict[str, datetime],
    target_difficulty: int,
    rng: random.Random,
) -> Question | None:
    """The best next question, or None when the pool is exhausted.

    Unseen questions (never asked to this user before) come first; among them the ones closest
    to the target difficulty, then the topic asked least so far in this session. Once every
    question has been seen, the one seen longest ago wins.
    """
    if options.question_ids:
        remaining = [qid for qid in options.question_ids if qid not in asked]
        by_id = {q.id: q for q in pool}
        return by_id.get(remaining[0]) if remaining else None
    candidates = [q for q in pool if q.id not in asked]
    if options.difficulty is not None:
        candidates = [q for q in candidates if q.difficulty == options.difficulty]
    if not candidates:
        return None
    by_id = {q.id: q for q in pool}
    topic_counts = Counter(by_id[qid].topic for qid in asked if qid in by_id)
    earliest = datetime.min.replace(tzinfo=None)

    def rank(q: Question) -> tuple:
        last_seen = seen.get(q.id)
        return (
            last_seen is not None,
            (last_seen.replace(tzinfo=None) if last_seen else earliest),
            abs(q.difficulty - target_difficulty),
            topic_counts[q.topic],
            rng.random(),
        )

    return min(candidates, key=rank)
