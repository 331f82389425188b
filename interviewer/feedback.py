"""Turning grades into feedback a candidate can act on: what was good, what was missing, why.

Each function returns plain text (stored in the transcript, and what a plain channel shows)
and a data dict that richer adapters render.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from interviewer.domain import Assessment, Question, Verdict
from interviewer.session_state import SessionState
from interviewer.text import reflow

VERDICT_MARK = {Verdict.covered: "[x]", Verdict.partial: "[~]", Verdict.missed: "[ ]"}


def scorecard_data(question: Question, assessment: Assessment, *, skipped: bool = False, hints: int = 0) -> dict[str, Any]:
    by_id = {v.point_id: v for v in assessment.verdicts}
    points = []
    for point in question.points:
        verdict = by_id.get(point.id)
        points.append(
            {
                "id": point.id,
                "text": point.text,
                "weight": point.weight,
                "verdict": (verdict.verdict if verdict else Verdict.missed).value,
                "evidence": verdict.evidence if verdict else None,
                "cite": point.cite,
            }
        )
    if not question.points:  # graded against a reference answer: the verdicts carry the points
        points = [
            {"id": v.point_id, "text": v.point_id, "weight": 1.0, "verdict": v.verdict.value, "evidence": v.evidence, "cite": None}
            for v in assessment.verdicts
        ]
    return {
        "question_id": question.id,
        "question": question.text,
        "topic": question.topic,
        "difficulty": question.difficulty,
        "score": assessment.score,
        "skipped": skipped,
        "hints": hints,
        "points": points,
        "misconceptions": [m.model_dump() for m in assessment.misconceptions],
        "model_answer": reflow(question.model_answer or question.reference_answer or "") or None,
        "notes": assessment.notes,
        "engine": assessment.engine,
    }


def feedback_text(data: dict[str, Any]) -> str:
    lines = [f"Score: {data['score']:.1f}/10" + (" (skipped)" if data["skipped"] else "")]
    good = [p for p in data["points"] if p["verdict"] == "covered"]
    partial = [p for p in data["points"] if p["verdict"] == "partial"]
    missed = [p for p in data["points"] if p["verdict"] == "missed"]
    if good:
        lines.append("What you covered:")
        lines += [f"  [x] {p['text']}\n      evidence: \"{p['evidence']}\"" for p in good]
    if partial:
        lines.append("Partly covered (say more next time):")
        lines += [f"  [~] {p['text']}\n      evidence: \"{p['evidence']}\"" for p in partial]
    if missed:
        lines.append("Missing:")
        lines += [f"  [ ] {p['text']}" for p in missed]
    for hit in data["misconceptions"]:
        lines.append(f"Careful: you said \"{hit['evidence']}\". {hit['correction']}")
    if data.get("read_more"):
        lines.append("Read more: " + "; ".join(data["read_more"]))
    if data.get("hints"):
        lines.append(f"Hints used: {data['hints']}")
    for note in data.get("notes", []):
        lines.append(f"Note: {note}")
    if data.get("model_answer"):
        lines.append("Model answer:\n" + data["model_answer"].strip())
    return "\n".join(lines)


def summary_data(state: SessionState, questions: dict[str, Question]) -> dict[str, Any]:
    rows = []
    by_topic: dict[str, list[float]] = defaultdict(list)
    weakest: list[tuple[float, str, str, str]] = []
    for qs in state.questions:
        question = questions.get(qs.question_id)
        if question is None:
            continue
        answered = qs.assessment is not None
        score = qs.assessment.score if qs.assessment else None
        rows.append(
            {
                "question_id": qs.question_id,
                "question": question.text,
                "topic": question.topic,
                "difficulty": question.difficulty,
                "score": score,
                "skipped": qs.skipped,
                "answered": answered,
            }
        )
        if score is not None:
            by_topic[question.topic].append(score)
        if qs.assessment is not None:
            for point in question.points:
                verdict = qs.assessment.verdict_for(point.id)
                if verdict != Verdict.covered:
                    weakest.append((point.weight * (1 - verdict.credit), point.text, question.topic, point.cite or ""))
    scores = [r["score"] for r in rows if r["score"] is not None]
    weakest.sort(key=lambda w: -w[0])
    return {
        "questions": rows,
        "average": round(sum(scores) / len(scores), 1) if scores else None,
        "topics": {topic: round(sum(v) / len(v), 1) for topic, v in sorted(by_topic.items())},
        "weakest": [{"text": t, "topic": topic, "cite": cite} for _, t, topic, cite in weakest[:5]],
    }


def summary_text(data: dict[str, Any]) -> str:
    if not data["questions"]:
        return "Interview ended before any question was answered. Nothing to score yet."
    lines = ["Interview summary"]
    for n, row in enumerate(data["questions"], start=1):
        score = "not answered" if row["score"] is None else f"{row['score']:.1f}/10"
        if row["skipped"]:
            score += " (skipped)"
        lines.append(f"  {n}. [{row['topic']}, level {row['difficulty']}] {score}  {row['question']}")
    if data["average"] is not None:
        lines.append(f"Average: {data['average']:.1f}/10")
    if data["topics"]:
        lines.append("By topic: " + ", ".join(f"{t} {s:.1f}" for t, s in data["topics"].items()))
    if data["weakest"]:
        lines.append("Study next:")
        for item in data["weakest"]:
            cite = f"  (read: {item['cite']})" if item["cite"] else ""
            lines.append(f"  - {item['text']}{cite}")
    return "\n".join(lines)
