"""A stub "model" that answers the interviewer's own prompts: read the answer and the points out of
a grading request, and reply the way a well-behaved grader would (``grading_rule``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from interviewer.testing.llm_server import Responder

_ANSWER_BLOCK = re.compile(r"<candidate_answer>\n(.*?)\n</candidate_answer>", re.DOTALL)
_GRADE_THESE = re.compile(r"Grade these points: (.+)")


def prompt_answer(request: dict) -> str:
    """The candidate's answer in a request from the assess prompt (the last delimited block)."""
    last = str(request["messages"][-1]["content"])
    found = _ANSWER_BLOCK.findall(last)
    return found[-1] if found else ""


def prompt_points(request: dict) -> list[str]:
    last = str(request["messages"][-1]["content"])
    found = _GRADE_THESE.findall(last)
    return [p.strip() for p in found[-1].split(",")] if found else []


_RUBRIC_LINE = re.compile(r"^\[([^\]]+)\] \(weight [^)]*\) (.+)$", re.MULTILINE)


def prompt_rubric(request: dict) -> dict[str, str]:
    """Point id -> point text, from the rubric block of an assess request."""
    rubric: dict[str, str] = {}
    for message in request["messages"][:2]:  # the system message and the rubric, before any few-shot pair
        rubric.update(_RUBRIC_LINE.findall(str(message["content"])))
    return rubric


def _quotable(sentence: str) -> str:
    return sentence if len(sentence) <= 200 else sentence[:200].rsplit(" ", 1)[0]  # never cut mid-word


def _evidence_for(sentences: list[str], point_text: str | None) -> str:
    """The answer's sentence sharing most content words with the point (the first one without a
    rubric): a whole sentence, as a careful grader quotes."""
    if not sentences:
        return ""
    if not point_text:
        return _quotable(sentences[0])
    from interviewer.text import content_words

    wanted = set(content_words(point_text))
    return _quotable(max(sentences, key=lambda s: len(wanted & set(content_words(s)))))


def grading_reply(
    request: dict,
    verdict: Callable[[str, str], str] | str = "covered",
    utterance: str = "Thanks. What would you add about the part you skipped?",
) -> str:
    """A valid grading JSON for an assess request: each credited point quotes the answer's sentence
    closest to it (whole sentences: the engine's quote check rejects fragments and unrelated text)."""
    answer = prompt_answer(request)
    sentences = [s for s in re.split(r"(?<=[.!?])\s", answer.strip()) if s.strip()] if answer.strip() else []
    rubric = prompt_rubric(request)
    points = []
    for point_id in prompt_points(request):
        chosen = verdict(point_id, answer) if callable(verdict) else verdict
        quote = _evidence_for(sentences, rubric.get(point_id))
        evidence = quote if chosen != "missed" and quote else None
        points.append({"point_id": point_id, "reasoning": f"stub reasoning for {point_id}", "evidence": evidence,
                       "verdict": chosen if evidence or chosen == "missed" else "missed"})
    gaps = [p["point_id"] for p in points if p["verdict"] != "covered"]
    allowed = "Follow-up allowed: yes" in str(request["messages"][-1]["content"])
    return json.dumps({
        "analysis": "stub analysis",
        "points": points,
        "misconceptions": [],
        "follow_up_point": gaps[0] if gaps and allowed else None,
        "utterance": utterance if gaps and allowed else "Good, that answers the question.",
    })


def grading_rule(verdict: Callable[[str, str], str] | str = "covered", coaching: str = "Stub coaching: revise the gaps.") -> Responder:
    """A responder for StubLLMServer that grades, coaches and writes questions like a real model would."""

    def respond(request: dict) -> str:
        text = str(request["messages"][-1]["content"])
        if "<candidate_answer>" in text:
            return grading_reply(request, verdict)
        if text.startswith("Results, question by question"):
            return coaching
        ideas = _material_sentences(text)
        return json.dumps({
            "question": "How would you explain the idea in this material to a colleague?",
            "difficulty": 2,
            "points": [
                {"id": f"idea-{n}", "text": ideas[n - 1] if n <= len(ideas) else f"The material's idea number {n} is stated correctly.",
                 "weight": 2, "keywords": _idea_keywords(ideas[n - 1]) if n <= len(ideas) else ["idea"],
                 "follow_up": f"Tell me more about idea {n}.", "hint": f"Think of idea {n}."}
                for n in (1, 2, 3)
            ],
            "model_answer": "A stub model answer.",
        })

    return respond


_MATERIAL_PASSAGE = re.compile(r"^\[\d+\] [^\n]*\n(.+?)(?=\n\n\[\d+\] |\Z)", re.MULTILINE | re.DOTALL)


def _material_sentences(prompt: str) -> list[str]:
    """The sentences of the study material in a question-generation prompt: what a model would
    write its rubric points from (a rubric unrelated to the material would grade nothing)."""
    material = prompt.split("Study material", 1)[-1]
    sentences: list[str] = []
    for passage in _MATERIAL_PASSAGE.findall(material):
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage.strip()) if len(s.split()) >= 4]
    return sentences


def _idea_keywords(sentence: str) -> list[str]:
    from interviewer.text import content_words

    return list(dict.fromkeys(content_words(sentence)))[:2] or ["idea"]
