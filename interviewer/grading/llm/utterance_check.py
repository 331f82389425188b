"""The interviewer's words from a model must not contradict the score we computed.

The score is ours (computed from checked verdicts), but the model writes the interviewer's next
words, and a gullible or compromised model says "Perfect, 10/10!" over an answer our checks
grade 0. ``score_claim`` finds what an utterance says about the grade: a stated score ("7/10",
"a 9 out of 10", "nine out of ten", "full marks", "a perfect score") or praise ("perfect",
"excellent", "great answer", "spot on"). An utterance whose stated score differs from ours
(rounded to 0.5), or that praises an answer we score under 5, is not shown: the interviewer's
own rubric follow-up or acknowledgement replaces it.

``mentions_grade`` is the same test without a score, for words streamed before the score exists.
"""

from __future__ import annotations

import re

PRAISE_BELOW = 5.0  # praise over a score under this is not shown

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_NUMBER = r"(\d+(?:[.,]\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
# "9 out of 10 cases" counts things; it does not grade the answer
_NOT_COUNTING = (r"(?!\s+(?:folds?|times|cases|samples|examples|people|users|items|documents|docs|chunks|tokens|classes"
                 r"|runs|trials|queries|requests|predictions|images|rows|models|experts|heads|layers)\b)")
_STATED = re.compile(
    rf"\b{_NUMBER}\s*(?:/|\bout\s+of\b)\s*(?:10|ten)\b(?!\s*[.,]\d){_NOT_COUNTING}"  # 7/10, 7 out of 10, nine out of ten
    rf"|\b{_NUMBER}\s+of\s+(?:10|ten)\b(?!\s*[.,]\d)(?!\s+[a-z])"  # "a 7 of 10." but not "3 of 10 folds"
    rf"|\b(?:score|scored|scoring|grade|graded|rating|rated|mark|marks|give you|giving you|you get|you got|that's an?|that is an?)\s*"
    rf"(?:of|:|=|is|at)?\s*(?:an?\s+)?{_NUMBER}\s*(?:/\s*10|out\s+of\s+(?:10|ten)|points?)\b",
    re.IGNORECASE,
)
_FULL = re.compile(
    r"\b(full|maximum|max|top|perfect)\s+(marks|score|points|credit)\b|\bperfect\s+10\b|\b100\s*(%|percent)",
    re.IGNORECASE,
)
_PRAISE = re.compile(
    r"\b(excellent|outstanding|flawless|superb|brilliant|fantastic|impeccable|exemplary|spot[- ]on|nailed it"
    r"|great (answer|job|work|explanation|response)|well done|textbook answer|couldn't have (said|put) it better)\b"
    r"|(^|[.!?]\s*|\b(that's|that is|this is|absolutely|simply|just)\s+)perfect\b"
    r"|\bperfect(ly)?\s*(answer|response|explanation|[.!,;:]|$)",
    re.IGNORECASE,
)


def _number(text: str) -> float:
    text = text.lower().replace(",", ".")
    return float(_NUMBER_WORDS[text]) if text in _NUMBER_WORDS else float(text)


def stated_scores(utterance: str) -> list[float]:
    """Every score out of 10 the utterance states."""
    scores = []
    for match in _STATED.finditer(utterance):
        number = next(g for g in match.groups() if g is not None)
        try:
            scores.append(_number(number))
        except ValueError:
            continue
    scores.extend(10.0 for _ in _FULL.finditer(utterance))
    return scores


def praises(utterance: str) -> str | None:
    match = _PRAISE.search(utterance)
    return match.group(0).strip(" .!,;:") if match else None


def score_claim(utterance: str | None, score: float) -> str | None:
    """Why ``utterance`` must not be shown over our ``score`` (None: it may be shown)."""
    if not utterance:
        return None
    ours = round(score * 2) / 2
    for stated in stated_scores(utterance):
        if abs(stated - ours) > 1e-9:
            return f"stated a score of {stated:g}/10 while the computed score is {score:g}"
    praise = praises(utterance)
    if praise and score < PRAISE_BELOW:
        return f"praised the answer ('{praise}') while the computed score is {score:g}"
    return None


def mentions_grade(text: str) -> bool:
    """Whether ``text`` states a score or praises the answer (what a stream holds back)."""
    return bool(_STATED.search(text) or _FULL.search(text) or _PRAISE.search(text))
