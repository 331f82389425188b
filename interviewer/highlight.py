"""Where a grade's evidence sits in the answer, so every view can highlight it in place.

Evidence is verbatim by construction (the evidence check drops a quote the answer does not
contain), but the check compares normalised text: case, punctuation and line breaks may differ,
and "..." may join two passages. So the quote is located word by word in the original answer,
and each located passage becomes a span marked with the verdict it supports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")
RANK = {"covered": 3, "partial": 2, "misconception": 4}


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def locate(answer: str, quote: str | None) -> list[tuple[int, int]]:
    """Character spans of ``answer`` that ``quote`` cites (several when '...' joins passages)."""
    if not quote or not quote.strip():
        return []
    tokens = _words(answer)
    words = [w for w, _, _ in tokens]
    spans: list[tuple[int, int]] = []
    position = 0
    for piece in _ELLIPSIS.split(quote.strip()):
        wanted = [w.lower() for w in _WORD.findall(piece)]
        if not wanted:
            continue
        found = next(
            (i for i in range(position, len(words) - len(wanted) + 1) if words[i : i + len(wanted)] == wanted),
            None,
        )
        if found is None:
            return []  # not verbatim after all: better no highlight than a wrong one
        spans.append((tokens[found][1], tokens[found + len(wanted) - 1][2]))
        position = found + len(wanted)
    return spans


def segments(answer: str, marks: Iterable[tuple[str | None, str]]) -> list[tuple[str, str | None]]:
    """``answer`` cut into (text, mark) pieces; ``marks`` are (quote, label) pairs.

    Labels are 'covered', 'partial' or 'misconception'; where two quotes overlap, the stronger
    label wins (a misconception over a covered point, covered over partial).
    """
    label_at: list[str | None] = [None] * len(answer)
    for quote, label in marks:
        for start, end in locate(answer, quote):
            for i in range(start, end):
                current = label_at[i]
                if current is None or RANK.get(label, 0) > RANK.get(current, 0):
                    label_at[i] = label
    pieces: list[tuple[str, str | None]] = []
    start = 0
    for i in range(1, len(answer) + 1):
        if i == len(answer) or label_at[i] != label_at[start]:
            pieces.append((answer[start:i], label_at[start]))
            start = i
    return pieces
