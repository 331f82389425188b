"""Turning grades into feedback a candidate can act on: what was good, what was missing, why.

Each function returns plain text (stored in the transcript, and what a plain channel shows)
and a data dict that richer adapters render.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from interviewer.domain import Assessment, Question, Verdict
from interviewer.interview.state import SessionState
from interviewer.text import reflow




def quoted_claim(evidence: str) -> str:
    """A candidate's words in quotes, closed as a sentence, with no second full stop after the
    quote when the words end with their own; every channel quotes a misconception this way."""
    text = evidence.strip()
    return f"“{text}”" + ("" if text[-1:] in ".!?" else ".")


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
    lines = [f"Interviewer: {data['remark']}"] if data.get("remark") else []
    lines.append(f"Score: {data['score']:.1f}/10" + (" (skipped)" if data["skipped"] else ""))
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
        lines.append(f"Careful: you said {quoted_claim(hit['evidence'])} {hit['correction']}")
    if data.get("read_more"):
        lines.append("Read more: " + "; ".join(data["read_more"]))
    if data.get("hints"):
        lines.append(f"Hints used: {data['hints']}")
    for note in data.get("notes", []):
        lines.append(f"Note: {note}")
    if data.get("model_answer"):
        lines.append("Model answer:\n" + data["model_answer"].strip())
    return "\n".join(lines)


def summary_data(state: SessionState, questions: dict[str, Question], titles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The end-of-interview summary every channel renders; ``titles`` names the topics as the
    bank does ("NLP preprocessing", not its file name "nlp-preprocessing")."""
    titles = titles or {}
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
                "topic_title": titles.get(question.topic, question.topic),
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
        "topic_titles": {topic: titles.get(topic, topic) for topic in sorted(by_topic)},
        "weakest": [{"text": t, "topic": topic, "cite": cite} for _, t, topic, cite in weakest[:5]],
    }


def score_label(row: dict[str, Any]) -> str:
    """A summary row's score as every channel shows it: '7.5/10', '0.0/10 (skipped)', 'not answered'."""
    label = "not answered" if row["score"] is None else f"{row['score']:.1f}/10"
    return label + (" (skipped)" if row.get("skipped") else "")


def by_topic_line(data: dict[str, Any]) -> str:
    """'Statistics 6.5, Retrieval-augmented generation 4.0': each topic by its title."""
    titles = data.get("topic_titles") or {}
    return ", ".join(f"{titles.get(t, t)} {s:.1f}" for t, s in data["topics"].items())


def summary_text(data: dict[str, Any]) -> str:
    if not data["questions"]:
        return "Interview ended before any question was answered. Nothing to score yet."
    lines = ["Interview summary"]
    for n, row in enumerate(data["questions"], start=1):
        lines.append(f"  {n}. [{row.get('topic_title') or row['topic']}, level {row['difficulty']}] {score_label(row)}  {row['question']}")
    if data["average"] is not None:
        lines.append(f"Average: {data['average']:.1f}/10")
    if data["topics"]:
        lines.append("By topic: " + by_topic_line(data))
    if data["weakest"]:
        lines.append("Study next:")
        for item in data["weakest"]:
            cite = f"  (read: {item['cite']})" if item["cite"] else ""
            lines.append(f"  - {item['text']}{cite}")
    if data.get("coaching"):
        lines.append("Coaching:\n" + data["coaching"])
    if data.get("usage"):
        lines.append(usage_line(data["usage"]))
    return "\n".join(lines)


def usage_totals(grades: Iterable[Assessment], coaching: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """What the model cost this session: None when no model was involved."""
    grades = list(grades)
    by_model = [g for g in grades if g.engine == "llm" or g.fallback or g.tokens]
    if not by_model and coaching is None:
        return None
    extra = coaching or {}
    costs = [g.cost for g in by_model if g.cost is not None] + ([extra["cost"]] if extra.get("cost") is not None else [])
    models = sorted({g.model for g in by_model if g.engine == "llm" and g.model} | {f.split(": ", 1)[0] for f in (g.fallback for g in by_model) if f})
    return {
        "models": models,
        "graded_by_model": sum(g.engine == "llm" for g in by_model),
        "fallbacks": sum(bool(g.fallback) for g in by_model),
        "tokens_in": sum(g.tokens_in or 0 for g in by_model) + int(extra.get("tokens_in") or 0),
        "tokens_out": sum(g.tokens_out or 0 for g in by_model) + int(extra.get("tokens_out") or 0),
        "cost": round(sum(costs), 6) if costs else None,
        "model_seconds": round((sum(g.latency_ms or 0.0 for g in by_model) + float(extra.get("latency_ms") or 0.0)) / 1000, 2),
    }


def usage_line(usage: dict[str, Any]) -> str:
    cost = f"${usage['cost']:.4f}" if usage.get("cost") is not None else "no cost (local or unpriced model)"
    fallbacks = f", {usage['fallbacks']} graded offline after a model failure" if usage.get("fallbacks") else ""
    return (
        f"Model usage: {', '.join(usage['models']) or 'model'}: {usage['graded_by_model']} answers graded by the model{fallbacks}; "
        f"{usage['tokens_in']:,} tokens in, {usage['tokens_out']:,} out; {cost}; {usage['model_seconds']:.1f} s grading"
    )


def coaching_input(state: SessionState, questions: dict[str, Question]) -> str:
    """The graded session as plain text for the coaching prompt (the candidate's words included)."""
    blocks = []
    for n, qs in enumerate(state.questions, start=1):
        question = questions.get(qs.question_id)
        if question is None or qs.assessment is None:
            continue
        lines = [f"{n}. {question.text} (topic {question.topic}, score {qs.assessment.score:.1f}/10)"]
        for point in question.points:
            verdict = qs.assessment.verdict_for(point.id)
            lines.append(f"   [{verdict.value}] {point.text}")
        for hit in qs.assessment.misconceptions:
            lines.append(f"   [misconception] the candidate said: \"{hit.evidence}\"; correct view: {hit.correction}")
        if qs.skipped:
            lines.append("   (skipped)")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) or "(no answered questions)"


def grade_provenance(grade: Assessment | Any) -> str:
    """Who graded and at what cost: engine, model, prompt version, tokens, cost, time, fallback.

    Takes a stored Assessment or an export's GradeRecord: they share these fields."""
    parts = [f"graded by {grade.engine}" + (f" ({grade.model})" if grade.model else "")]
    if grade.prompt_version:
        parts.append(f"prompt {grade.prompt_version}")
    if grade.tokens_in or grade.tokens_out:
        parts.append(f"{grade.tokens_in or 0:,} tokens in / {grade.tokens_out or 0:,} out")
    if grade.cost is not None:
        parts.append(f"${grade.cost:.4f}")
    if grade.latency_ms is not None:
        parts.append(f"{grade.latency_ms:,.0f} ms")
    if grade.fallback:
        parts.append(f"fell back from {grade.fallback}")
    return " · ".join(parts)


def duration_label(seconds: float) -> str:
    """'45 s', '12 min 05 s', '1 h 03 min': how long an interview took, as every view shows it."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
