"""Where a grade's evidence sits in the answer, so every view can highlight it in place.

Evidence is verbatim by construction (the evidence check drops a quote the answer does not
contain), but the check compares normalised text: case, punctuation and line breaks may differ,
and "..." may join two passages. So the quote is located word by word in the original answer,
and each located passage becomes a span marked with the verdict it supports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from interviewer.interview.records import GradeRecord

_WORD = re.compile(r"\w+")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
RANK = {"covered": 3, "partial": 2, "misconception": 4}


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def locate(answer: str, quote: str | None) -> list[tuple[int, int]]:
    """Character spans of ``answer`` that ``quote`` cites (several when '...' joins passages)."""
    return _locate(_words(answer), quote)


def _locate(tokens: list[tuple[str, int, int]], quote: str | None) -> list[tuple[int, int]]:
    if not quote or not quote.strip():
        return []
    words = [w for w, _, _ in tokens]
    spans: list[tuple[int, int]] = []
    position = 0
    for piece in _ELLIPSIS.split(quote.strip()):
        wanted = [w.lower() for w in _WORD.findall(piece)]
        if not wanted:
            continue
        first, n = wanted[0], len(wanted)
        found = next(
            (i for i in range(position, len(words) - n + 1) if words[i] == first and words[i : i + n] == wanted),
            None,
        )
        if found is None:
            return []  # not verbatim after all: better no highlight than a wrong one
        spans.append((tokens[found][1], tokens[found + n - 1][2]))
        position = found + n
    return spans


def evidence_marks(grade: GradeRecord | None) -> list[tuple[str | None, str]]:
    """What to highlight for a grade: the evidence of each point it credits, and misconceptions."""
    if grade is None:
        return []
    marks: list[tuple[str | None, str]] = [(p.evidence, p.verdict) for p in grade.points if p.verdict != "missed"]
    return marks + [(m.evidence, "misconception") for m in grade.misconceptions]


def segments(answer: str, marks: Iterable[tuple[str | None, str]]) -> list[tuple[str, str | None]]:
    """``answer`` cut into (text, mark) pieces; ``marks`` are (quote, label) pairs.

    Labels are 'covered', 'partial' or 'misconception'; where two quotes overlap, the stronger
    label wins (a misconception over a covered point, covered over partial).
    """
    tokens = _words(answer)  # once per answer, however many quotes
    spans = [(start, end, label) for quote, label in dict.fromkeys(marks) for start, end in _locate(tokens, quote)]
    cuts = sorted({0, len(answer), *(edge for start, end, _ in spans for edge in (start, end))})
    pieces: list[tuple[str, str | None]] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = [label for s, e, label in spans if s <= start and end <= e]
        label = max(covering, key=lambda name: RANK.get(name, 0)) if covering else None
        if pieces and pieces[-1][1] == label:
            pieces[-1] = (pieces[-1][0] + answer[start:end], label)
        else:
            pieces.append((answer[start:end], label))
    return pieces
