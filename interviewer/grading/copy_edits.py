"""Contradictions read from a copy's edits: a sentence that copies a true phrasing word for word
with a few words changed says exactly what the changes say.

The rule reading in ``contradiction.py`` has to guess which words of a freely worded sentence
belong to which; a near copy needs no guess. Aligned on word stems against the phrasing it
copies (each named thing aligned as its kind, so "trades variance for bias" lines up with
"trades bias for variance"), each part of the sentence (between "but", "while", ";" ...) counts its reversals: a
contrasted thing put where the phrasing has another (one reversal however many names trade
places, unless they only trade places in a list: "between A and B"), a direction or antonym
put for its opposite ("falls" for "rises", "underfit" for "overfit"), and a negation or denying
frame added or taken away. An odd count in any part contradicts: "lower is worse" for "lower is
better" does, "higher is worse" for it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from interviewer.grading.contradiction import EXCLUSIVE, Conflict, Groups, Reading, _antonyms, _is_negator, read, thing_at

COPY_RATIO = 0.7  # SequenceMatcher ratio over word stems from which a sentence is a copy of a phrasing
TIE = 0.02  # phrasings this close to the best copy are copied as much
_JOINERS = frozenset(("and", "or", ",", "vs", "versus", "nor", "/"))
_LIST_WORDS = _JOINERS | {"a", "an", "the", "between", "both", "either", "neither", "then"}


@dataclass(frozen=True)
class _Unit:
    """A word, or a named thing (one of a group of things only one of which a sentence can
    mean: the question's contrasted things, or domain terms such as overfit and underfit)."""

    key: object  # what aligns: the word's stem, or the thing's group
    start: int  # token range in the reading
    end: int
    member: int = -1  # which thing of its group, for a named thing
    name: str = ""


@dataclass
class _Part:
    """The reversals found in one part of the sentence."""

    swapped: list[tuple[_Unit, _Unit]] = field(default_factory=list)  # (said, meant)
    flips: list[str] = field(default_factory=list)  # "falls where it is rises"
    denied: bool = False  # a content word's polarity differs from the phrasing's
    other: bool = False  # content words changed that are no reversal


def _units(reading: Reading, groups: Groups) -> list[_Unit]:
    """The text as words and named things, in order."""
    words = [t.word for t in reading.tokens]
    units: list[_Unit] = []
    i = 0
    while i < len(words):
        hit = thing_at(words, i, groups)
        if hit is None:
            units.append(_Unit(reading.tokens[i].stem, i, i + 1))
            i += 1
            continue
        g, member, length = hit
        units.append(_Unit(("thing", g), i, i + length, member, " ".join(words[i : i + length])))
        i += length
    return units


@lru_cache(maxsize=4096)
def _read_units(text: str, groups: Groups) -> tuple[Reading, tuple[_Unit, ...]]:
    reading = read(text)
    return reading, tuple(_units(reading, groups))


def _only_reordered(swapped: list[tuple[_Unit, _Unit]], reading: Reading) -> bool:
    """Whether swapped names stand side by side in a list ("A and B", "between B and A", "an A
    model and a B model"): listing two things the other way round says nothing new."""
    if len({said.member for said, _ in swapped}) < 2:
        return False
    words = [t.word for t in reading.tokens]
    ordered = sorted((said for said, _ in swapped), key=lambda u: u.start)
    for first, second in zip(ordered, ordered[1:]):
        gap = words[first.end : second.start]
        if len(gap) > 5 or not any(w in _JOINERS for w in gap):
            return False
        between = [w for w in gap if w not in _LIST_WORDS]
        # at most the head noun both names share: "a dense retriever and a BM25 retriever"
        if between and (len(between) > 1 or second.end >= len(words) or words[second.end] != between[0]):
            return False
    return True


@dataclass(frozen=True)
class Copy:
    """What a sentence copies: the phrasing (its index among those given) and how its edits
    read: ``conflict`` when they reverse it, ``faithful`` when they change nothing that matters
    (the sentence says what the phrasing says); neither when a part has a reversal next to
    other changed words, which may undo it ("actual" for "predicted"): the rules decide then."""

    index: int
    conflict: Conflict | None
    faithful: bool


def copied(statement: str, phrasings: Sequence[str], contrasts: Sequence[str] = ()) -> Copy | None:
    """The phrasing ``statement`` is the nearest copy of, and how its edits read; None when it
    copies none of them. Ties go to the faithful reading: a sentence that copies one true
    phrasing exactly is not made false by its likeness to a parallel one ("Recall is ..." next
    to "Precision is ...")."""
    groups: Groups = ((tuple(contrasts),) if len(contrasts) >= 2 else ()) + EXCLUSIVE
    s, said = _read_units(statement, groups)
    if not said:
        return None
    keys = [u.key for u in said]
    scored = []
    for index, phrasing in enumerate(phrasings):
        c, meant = _read_units(phrasing, groups)
        matcher = SequenceMatcher(None, [u.key for u in meant], keys, autojunk=False)
        if matcher.real_quick_ratio() >= COPY_RATIO and matcher.quick_ratio() >= COPY_RATIO and matcher.ratio() >= COPY_RATIO:
            ratio = _copied_share(meant, said, matcher)
            if ratio >= COPY_RATIO:
                scored.append((ratio, index, c, meant, matcher))
    if not scored:
        return None
    best = max(ratio for ratio, *_ in scored)
    readings = [(index, _edits(c, meant, s, said, matcher)) for ratio, index, c, meant, matcher in scored if ratio >= best - TIE]
    for index, reading in readings:
        if reading is None:
            return Copy(index, None, True)
    index, reading = readings[0]
    return Copy(index, reading if isinstance(reading, Conflict) else None, False)


def _copied_share(meant: Sequence[_Unit], said: Sequence[_Unit], matcher: SequenceMatcher) -> float:
    """The share of both texts copied as it stands: a thing aligned with another of its group
    ("GPT" with "BERT") lines the sentences up but is not copied. Otherwise a sentence about
    one thing would read as a swapped copy of its parallel about the other ("GPT-style models
    use next-token prediction" for "BERT-style models use masked language modelling")."""
    same = sum(
        sum(1 for a, b in zip(meant[i1:i2], said[j1:j2]) if a.member == b.member)
        for op, i1, i2, j1, j2 in matcher.get_opcodes() if op == "equal"
    )
    return 2 * same / (len(meant) + len(said))


def copy_edit(statement: str, claims: Sequence[str], contrasts: Sequence[str] = ()) -> Conflict | None:
    """How ``statement`` contradicts the one of ``claims`` it is the nearest copy of, or None."""
    found = copied(statement, claims, contrasts)
    return found.conflict if found is not None else None


def _segment_of(reading: Reading) -> list[int]:
    index = [0] * len(reading.tokens)
    for n, (start, end) in enumerate(reading.segments):
        for k in range(start, end):
            index[k] = n
    return index


_UNSURE = "unsure"


def _kin(a: str, b: str) -> bool:
    """Forms of one word, as stems read them ("giv" and "give", "mak" and "make", "goes" and "go")."""
    if a == b or (min(len(a), len(b)) >= 2 and (a.startswith(b) or b.startswith(a))):
        return True
    return min(len(a), len(b)) >= 4 and a[:4] == b[:4]


def _edits(claim: Reading, meant: Sequence[_Unit], statement: Reading, said: Sequence[_Unit], matcher: SequenceMatcher) -> Conflict | str | None:
    """The conflict the copy's edits make, None when they keep the meaning, or ``_UNSURE``."""
    segment = _segment_of(statement)
    parts: dict[int, _Part] = {}

    def part(unit: _Unit) -> _Part:
        return parts.setdefault(segment[unit.start], _Part())

    negations: dict[int, list[int]] = {}  # per part: negation words in the claim's aligned words, in the part's
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        for k, a in enumerate(meant[i1:i2]):  # a claim word counts in the part its place falls in
            b = said[min(j1 + k if op == "equal" else j1, len(said) - 1)]
            negations.setdefault(segment[b.start], [0, 0])[0] += _is_negator(claim.tokens[a.start].word)
        for b in said[j1:j2]:
            negations.setdefault(segment[b.start], [0, 0])[1] += _is_negator(statement.tokens[b.start].word)
        if op == "equal":
            for a, b in zip(meant[i1:i2], said[j1:j2]):
                if a.member != b.member:
                    part(b).swapped.append((b, a))
                    continue
                x, y = claim.tokens[a.start], statement.tokens[b.start]
                if (x.content or a.member >= 0) and x.negated != y.negated:
                    part(b).denied = True
            continue
        if op != "replace":
            continue
        if i2 - i1 == j2 - j1:
            pairs = list(zip(meant[i1:i2], said[j1:j2]))
        elif max(i2 - i1, j2 - j1) <= 2:
            pairs = [(a, b) for a in meant[i1:i2] for b in said[j1:j2]]
        else:
            pairs = []
        explained = False
        for a, b in pairs:
            x, y = claim.tokens[a.start], statement.tokens[b.start]
            if a.member < 0 and b.member < 0 and x.negated == y.negated and x.word.isalpha() and y.word.isalpha() \
                    and _antonyms(x.stem, y.stem):
                part(b).flips.append(f"{y.word} where it is {x.word}")
                explained = True
        if not explained:
            before = [claim.tokens[a.start].stem for a in meant[i1:i2]]
            for b in said[j1:j2]:
                y = statement.tokens[b.start]
                if (y.content or b.member >= 0) and not any(_kin(y.stem, x) for x in before):
                    part(b).other = True
    if claim.framed == statement.framed:
        for n, found in parts.items():  # the same negation said in another place: "adds nothing" for "nothing to add"
            if negations[n][0] == negations[n][1]:
                found.denied = False
    unsure = False
    for found in parts.values():
        swap = bool(found.swapped) and not _only_reordered(found.swapped, statement)
        reversals = swap + len(found.flips) + found.denied
        if reversals and found.other:
            unsure = True  # other words changed beside the reversal may undo it
            continue
        if reversals % 2 == 0:
            continue
        if swap:
            said_thing, meant_thing = found.swapped[0]
            return Conflict("swap", f"{said_thing.name} where it is {meant_thing.name}", copied=True)
        if found.flips:
            return Conflict("direction", found.flips[0], copied=True)
        return Conflict("framing" if statement.framed and not claim.framed else "negation", copied=True)
    return _UNSURE if unsure else None
