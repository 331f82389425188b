"""Checking that a model's evidence is really in the candidate's answer.

A grade is only as good as its evidence. A quote that the answer does not contain (a paraphrase,
an invented sentence, or verdicts injected by the candidate) earns nothing: the verdict drops to
"missed" and the transcript says why. Matching is on normalised text, so punctuation, case,
curly quotes and line breaks do not matter, and "..." may join two passages quoted in order.
"""

from __future__ import annotations

import re
import unicodedata

from interviewer.domain import MisconceptionHit, PointVerdict, Verdict

_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalise(text: str) -> str:
    """Lowercase words separated by single spaces; punctuation and invisible characters dropped."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).lower()
    text = re.sub(r"[^\w]+", " ", text)
    return f" {text.strip()} "


def quote_in(quote: str | None, normalised_answer: str) -> bool:
    """True when every '...'-separated piece of ``quote`` occurs in the answer, in order."""
    if not quote or not quote.strip():
        return False
    position = 0
    pieces = [normalise(p) for p in _ELLIPSIS.split(quote.strip())]
    pieces = [p for p in pieces if p.strip()]
    if not pieces:
        return False
    for piece in pieces:
        found = normalised_answer.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece) - 1
    return True


# Sentences that speak to the grader instead of answering: never evidence for a point.
_DIRECTED_AT_GRADER = re.compile(
    "|".join(
        [
            r"\b(ignore|disregard|forget|override)\s+((all|any|the|your|previous|prior|above|earlier)\s+)*"
            r"(instructions?|rubric|prompt|rules|guidelines)\b",
            r"\b(mark|grade|score|rate|set|label)\s+(this|my|the|all|every|each)\s+(answer|response|points?|verdicts?|rubric)\b",
            r"\b(this|my)\s+(answer|response)\s+(deserves|earns|merits|should (get|receive|score))\b",
            r"\b(give|award|assign)\s+(me|this|it)\b.{0,25}(\d+\s*/\s*10|full marks|perfect|maximum|top (score|marks))",
            r"\b(all|every)\s+(rubric\s+)?points?\s+(are\s+|is\s+|as\s+)?(covered|correct)\b",
            r"\"(verdict|point_id|evidence|score|points)\"\s*:",
            r"</?\s*(system|assistant|user|candidate_answer|rubric|instructions?)\s*>",
            r"\b(you are now|as the grader|dear grader|note to (the )?grader|new instructions:|developer mode)",
            r"\b(ignore|override|reveal|print)\s+(the|your)\s+system\s+prompt\b",
        ]
    ),
    re.IGNORECASE,
)


def grader_directed(answer: str) -> list[str]:
    """Normalised sentences (or lines) of the answer that address the grader."""
    pieces = re.split(r"(?<=[.!?])\s+|\n+", answer)
    return [normalise(p) for p in pieces if p.strip() and _DIRECTED_AT_GRADER.search(p)]


def _quotes_injection(quote: str, directed: list[str]) -> bool:
    pieces = [normalise(p) for p in _ELLIPSIS.split(quote) if p.strip()]
    return any(piece in sentence or sentence in piece for piece in pieces for sentence in directed)


def check_verdicts(verdicts: list[PointVerdict], answer: str) -> tuple[list[PointVerdict], list[str]]:
    """Downgrade every credited verdict whose quote is not in ``answer``; notes say which."""
    normalised_answer = normalise(answer)
    directed = grader_directed(answer)
    checked: list[PointVerdict] = []
    notes: list[str] = []
    for verdict in verdicts:
        if verdict.verdict == Verdict.missed:
            checked.append(verdict.model_copy(update={"evidence": None}))
            continue
        found = quote_in(verdict.evidence, normalised_answer)
        if found and not _quotes_injection(verdict.evidence or "", directed):
            checked.append(verdict)
            continue
        if not (verdict.evidence or "").strip():
            problem = "gave no quote"
        elif found:
            problem = "quoted text addressed to the grader, not an answer"
        else:
            problem = "quoted text that is not in the answer"
        notes.append(
            f"evidence check: the model marked '{verdict.point_id}' {verdict.verdict.value} but {problem}; "
            "counted as missed"
        )
        checked.append(verdict.model_copy(update={"verdict": Verdict.missed, "evidence": None, "confidence": 0.0}))
    return checked, notes


def check_misconceptions(hits: list[MisconceptionHit], answer: str) -> tuple[list[MisconceptionHit], list[str]]:
    """Keep only misconceptions the answer really states (a made-up quote must not cost points either)."""
    normalised_answer = normalise(answer)
    kept = [h for h in hits if quote_in(h.evidence, normalised_answer)]
    notes = [
        f"evidence check: misconception '{h.misconception_id}' was dropped; its quote is not in the answer"
        for h in hits
        if h not in kept
    ]
    return kept, notes
