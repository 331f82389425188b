"""The values that fill the LLM engine's prompt templates, built from a question and its context.

Kept apart from the engine so the rendered prompt can be tested (and snapshotted) on its own.
The candidate's text is always placed between <candidate_answer> tags; tags inside the text are
defused first so an answer cannot close the block and speak as the system.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from interviewer.domain import GradedExample, Passage, Question, RubricPoint, Verdict
from interviewer.grading.base import AssessContext
from interviewer.text import content_words, cue_coverage, split_sentences, words

EXAMPLE_ORDER = ("strong", "fluent_wrong", "partial", "weak")
MAX_PASSAGE_CHARS = 1_200
_TAG = re.compile(r"<\s*/?\s*candidate_answer\s*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def defuse(text: str) -> str:
    """The candidate's text, safe to place inside the answer block."""
    return _CONTROL.sub("", _TAG.sub("[tag removed]", text)).strip()


def rubric_block(points: Sequence[RubricPoint]) -> str:
    lines = []
    for point in points:
        lines.append(f"[{point.id}] (weight {point.weight:g}) {point.text}")
        if point.aliases:
            lines.append("    also counts: " + " | ".join(point.aliases))
    return "\n".join(lines)


def misconception_block(question: Question) -> str:
    if not question.misconceptions:
        return "(none listed)"
    return "\n".join(f"[{m.id}] {m.claim} Correct view: {m.correction}" for m in question.misconceptions)


def material_block(passages: Sequence[Passage]) -> str:
    if not passages:
        return "(none)"
    blocks = []
    for n, passage in enumerate(passages, start=1):
        text = passage.text if len(passage.text) <= MAX_PASSAGE_CHARS else passage.text[:MAX_PASSAGE_CHARS] + " ..."
        blocks.append(f"[{n}] {passage.citation}\n{text.strip()}")
    return "\n\n".join(blocks)


def conversation_block(conversation: Sequence[tuple[str, str]]) -> str:
    if not conversation:
        return "(this is the candidate's first answer to the question)"
    lines = []
    for speaker, text in conversation:
        if speaker == "candidate":
            lines.append(f"Candidate:\n<candidate_answer>\n{defuse(text)}\n</candidate_answer>")
        else:
            lines.append(f"Interviewer: {text}")
    return "\n".join(lines)


def _evidence_sentence(sentences: list[tuple[str, list[str]]], point: RubricPoint) -> str | None:
    """The example answer's sentence that best states ``point`` (few-shot evidence must be verbatim).

    ``sentences`` are the answer's sentences with their tokens, split once per example.
    """
    if not sentences:
        return None
    wanted = set(content_words(" ".join([point.text, *point.aliases])))

    def fit(item: tuple[str, list[str]]) -> float:
        tokens = item[1]
        cues = cue_coverage(point.keywords, tokens) if point.keywords else 0.0
        return cues + len(wanted & set(tokens)) / max(len(wanted), 1)

    return max(sentences, key=fit)[0]


REASONING = {
    Verdict.covered: "The answer states this idea correctly and specifically.",
    Verdict.partial: "The answer touches on this idea but leaves out an essential part of it.",
    Verdict.missed: "The answer does not state this idea, or states it wrongly.",
}


def example_grading(question: Question, example: GradedExample, points: Sequence[RubricPoint]) -> str:
    """The JSON reply we would want for a graded example: its verdicts, verbatim evidence, next words."""
    sentences = [(sentence, words(sentence)) for sentence in split_sentences(example.answer)]
    judged = []
    for point in points:
        verdict = example.verdicts.get(point.id, Verdict.missed)
        evidence = _evidence_sentence(sentences, point) if verdict != Verdict.missed else None
        judged.append({"point_id": point.id, "reasoning": REASONING[verdict], "evidence": evidence, "verdict": verdict.value})
    found = []
    for misconception_id in example.misconceptions:
        misconception = next(m for m in question.misconceptions if m.id == misconception_id)
        probe = RubricPoint(id="m", text=misconception.claim, keywords=misconception.keywords, follow_up="-", hint="-")
        found.append({"misconception_id": misconception_id, "evidence": _evidence_sentence(sentences, probe)})
    gaps = [p for p in points if example.verdicts.get(p.id, Verdict.missed) != Verdict.covered]
    target = max(gaps, key=lambda p: p.weight) if gaps else None
    if target is not None:
        utterance = target.follow_up
    else:
        utterance = "That's a complete answer; you covered the mechanism and the trade-offs."
    return json.dumps(
        {
            "analysis": example.rationale,
            "points": judged,
            "misconceptions": found,
            "follow_up_point": target.id if target else None,
            "utterance": utterance,
        },
        ensure_ascii=False,
    )


def few_shot_examples(question: Question, points: Sequence[RubricPoint], limit: int = 3) -> list[dict[str, str]]:
    """Up to ``limit`` of the question's graded examples, strongest first, fluent-but-wrong second."""
    ranked = sorted(question.examples, key=lambda e: EXAMPLE_ORDER.index(e.label))[:limit]
    return [
        {
            "points": ", ".join(p.id for p in points),
            "follow_up_allowed": "yes",
            "answer": defuse(example.answer),
            "grading": example_grading(question, example, points),
        }
        for example in ranked
    ]


def assess_values(
    question: Question,
    points: Sequence[RubricPoint],
    graded: Sequence[RubricPoint],
    answer: str,
    context: AssessContext,
) -> dict[str, str]:
    """Template values of the assess prompt."""
    return {
        "topic": question.topic or "general",
        "difficulty": str(question.difficulty),
        "question": question.text,
        "rubric": rubric_block(points),
        "misconceptions": misconception_block(question),
        "model_answer": (question.model_answer or question.reference_answer or "(none given)").strip(),
        "material": material_block(context.material),
        "conversation": conversation_block(context.conversation),
        "points": ", ".join(p.id for p in graded),
        "follow_up_allowed": "yes" if context.follow_up_allowed else "no",
        "answer": defuse(answer) or "(empty)",
    }
