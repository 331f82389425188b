"""The score is ours: computed from verdicts and weights, never taken from a model.

The same verdicts always give the same score, whichever engine produced them.
"""

from __future__ import annotations

from interviewer.domain import Assessment, MisconceptionHit, PointVerdict, Question, Verdict

MISCONCEPTION_PENALTY = 1.5
MAX_SCORE = 10.0


def score_verdicts(question: Question, verdicts: list[PointVerdict], misconceptions: list[MisconceptionHit]) -> float:
    by_id = {v.point_id: v.verdict for v in verdicts}
    total = sum(p.weight for p in question.points)
    if total <= 0:
        return 0.0
    earned = sum(p.weight * by_id.get(p.id, Verdict.missed).credit for p in question.points)
    score = MAX_SCORE * earned / total - MISCONCEPTION_PENALTY * len({m.misconception_id for m in misconceptions})
    return round(min(MAX_SCORE, max(0.0, score)), 1)


def merge_follow_up(question: Question, before: Assessment, after: Assessment) -> Assessment:
    """Combine a follow-up's grade with the question's grade so far.

    A follow-up answer raises a point's verdict when it adds what was missing, and lowers it to
    missed when it contradicts the point, as an interviewer would; a misconception stated in
    either answer still counts.
    """
    contradicted = {hit.point_id for hit in after.misconceptions if hit.point_id}
    merged: list[PointVerdict] = []
    for point in question.points:
        old = next((v for v in before.verdicts if v.point_id == point.id), None)
        new = next((v for v in after.verdicts if v.point_id == point.id), None)
        candidates = [v for v in (old, new) if v is not None]
        if point.id in contradicted:
            merged.append(PointVerdict(point_id=point.id, verdict=Verdict.missed, reasoning="contradicted in a follow-up answer"))
            continue
        if not candidates:
            merged.append(PointVerdict(point_id=point.id, verdict=Verdict.missed))
            continue
        merged.append(max(candidates, key=lambda v: (v.verdict.credit, v is new)))
    seen: set[str] = set()
    hits: list[MisconceptionHit] = []
    for hit in [*before.misconceptions, *after.misconceptions]:
        if hit.misconception_id not in seen:
            seen.add(hit.misconception_id)
            hits.append(hit)
    return after.model_copy(
        update={
            "verdicts": merged,
            "misconceptions": hits,
            "score": score_verdicts(question, merged, hits),
            "notes": [*before.notes, *[n for n in after.notes if n not in before.notes]],
        }
    )
