"""Plain-text helpers for grading: sentence splitting, normalisation and keyword cues.

Deliberately dependency-free (no NLTK data downloads) and fast: grading runs on every turn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "fig.", "eq.", "dr.", "mr.", "ms.")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_CLAUSE_BREAK = re.compile(r"\s*(?:;|:|,\s+(?:which|while|whereas|but|so|because)\b|\s+-\s+)\s*")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INVISIBLE = dict.fromkeys(
    [cp for cp in range(0x200B, 0x2010)] + [0x2060, 0xFEFF, 0x00AD], None
)

STOP_WORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from as is are was were be been being
    it its this that these those there here which who whom whose what when where why how all any both each
    few more most other some such no nor not only own same so than too very can will just should now do
    does did doing have has had having i me my we our you your he him his she her they them their into
    about over under again further once also may might must would could used use uses using one""".split()
)


def clean(text: str) -> str:
    """Normalise unicode (compatibility forms, invisible characters) and whitespace."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    if text.isascii():  # the common case, without a per-character category lookup
        text = _ASCII_CONTROL.sub(" ", text)
    else:
        text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences; bullet lines and paragraphs always end a sentence."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*\u2022]|\d+[.)])\s)", clean(text)):
        block = _BULLET.sub("", block.replace("\n", " ")).strip()
        if not block:
            continue
        protected = block
        for abbr in _ABBREVIATIONS:
            protected = re.sub(re.escape(abbr), abbr.replace(".", "\u2024"), protected, flags=re.IGNORECASE)
        for part in _SENTENCE_END.split(protected):
            part = part.replace("\u2024", ".").strip()
            if part:
                sentences.append(part)
    return sentences


def split_clauses(sentence: str, min_words: int = 4) -> list[str]:
    """Clauses of a long sentence, so one sentence can be evidence for two different points."""
    parts = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if p and p.strip()]
    return [p for p in parts if len(p.split()) >= min_words]


def words(text: str) -> list[str]:
    return _WORD.findall(clean(text).lower())


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOP_WORDS and len(w) > 1]


@lru_cache(maxsize=4096)
def _cue_alternatives(cue: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(words(alt)) for alt in cue.split("|") if words(alt))


def _token_matches(cue_token: str, token: str) -> bool:
    # Short cue tokens must match exactly ("k" must not match "kernel"); longer ones may be
    # stems ("neighbo" matches "neighbours").
    return token == cue_token if len(cue_token) <= 3 else token.startswith(cue_token)


def _in_joined(cue_token: str, joined: str) -> bool:
    """Whether some token matches ``cue_token``; ``joined`` is the tokens between single spaces."""
    return (f" {cue_token} " if len(cue_token) <= 3 else f" {cue_token}") in joined


def _present(cue: str, tokens: list[str], joined: str) -> bool:
    for alternative in _cue_alternatives(cue):
        if not _in_joined(alternative[0], joined):
            continue  # a substring test rules out most cues without walking the tokens
        if len(alternative) == 1:
            return True
        n = len(alternative)
        for start in range(len(tokens) - n + 1):
            if all(_token_matches(alternative[i], tokens[start + i]) for i in range(n)):
                return True
    return False


def _joined(tokens: list[str]) -> str:
    return " " + " ".join(tokens) + " "


def cue_present(cue: str, tokens: list[str]) -> bool:
    """Whether any alternative of a keyword cue ('a|b c') occurs as a token sequence."""
    return _present(cue, tokens, _joined(tokens))


def cue_matches(cues: list[str], tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of any cue alternative, longest first where they overlap:
    "sigmoid, probability" is two cues named, even though the comma between them is gone."""
    joined = _joined(tokens)
    found: list[tuple[int, int]] = []
    for cue in cues:
        for alternative in _cue_alternatives(cue):
            if not _in_joined(alternative[0], joined):
                continue
            n = len(alternative)
            for start in range(len(tokens) - n + 1):
                if all(_token_matches(alternative[i], tokens[start + i]) for i in range(n)):
                    found.append((start, start + n))
    kept: list[tuple[int, int]] = []
    taken: set[int] = set()
    for start, end in sorted(set(found), key=lambda m: (m[0] - m[1], m[0])):
        if not taken.intersection(range(start, end)):
            kept.append((start, end))
            taken.update(range(start, end))
    return sorted(kept)


def cue_spans(cues: list[str], tokens: list[str]) -> set[int]:
    """Indexes of the tokens inside any occurrence of any cue alternative."""
    return {i for start, end in cue_matches(cues, tokens) for i in range(start, end)}


LIST_RUN = 8  # this many words in a row without one function word is a list, not a sentence


def prose_factor(tokens: list[str], cues: Sequence[str] = ()) -> float:
    """Keyword lists have almost no function words; full sentences have plenty.

    Function words inside the question's own cue phrases ("at least as extreme") do not count:
    a string of cue phrases is still a keyword list, however many "the"s they carry. A long run
    of words with no function word at all (a list pasted after a real sentence) counts for
    nothing, so the unit is prose only in the share of it that lies outside such runs.
    """
    if len(tokens) < 4:
        return 1.0
    inside = cue_spans(list(cues), tokens) if cues else set()
    function = [t in STOP_WORDS and i not in inside for i, t in enumerate(tokens)]
    in_runs, run = 0, 0
    for is_function in [*function, True]:
        if is_function:
            in_runs += run if run >= LIST_RUN else 0
            run = 0
        else:
            run += 1
    ratio = sum(function) / len(tokens)
    return min(1.0, ratio / 0.2) * (1.0 - in_runs / len(tokens))


# Words that talk about an answer instead of giving one ("... is the answer", "the key ideas").
_META = frozenset(
    """answer answers key keys idea ideas important matter matters thing things concept concepts point points
    term terms topic topics relevant involved question questions difference differences main core basically
    essentially overall summary short words keyword keywords here about regarding concerning namely
    involve involves include includes including concern concerns relate relates related
    mention mentions list listed consider considered aspects aspect factors factor""".split()
)
NOVELTY_FLOOR = 0.25  # share of a unit's content words that must be new beyond the question's


def _stem_key(word: str) -> str:
    return word[:6]


def question_words(question: str) -> set[str]:
    """Stems of the question's content words (a unit made of them only restates the question)."""
    return {_stem_key(w) for w in content_words(question)}


def states_something(text: str, tokens: list[str], cues: Sequence[str], asked: set[str]) -> float:
    """1.0 for a unit that states something; less, down to 0, for one that cannot:

    - a question ("What is the difference ...?") asks, it does not answer;
    - three or more of the rubric's cue phrases with nothing but function words around them
      ("The word2vec, and the static, and the context is the answer.") name, they do not state;
    - a unit whose content words are nearly all the question's own restates it.
    """
    if text.rstrip().endswith("?"):
        return 0.0
    content = [t for t in tokens if t not in STOP_WORDS and len(t) > 1]
    if not content:
        return 1.0
    if cues:
        named = cue_matches(list(cues), tokens)
        inside = {i for start, end in named for i in range(start, end)}
        cue_words = {w for cue in cues for alternative in _cue_alternatives(cue) for w in alternative}
        lowered = text.lower()
        rest = [
            t for i, t in enumerate(tokens)
            if i not in inside and t not in STOP_WORDS and t not in _META and len(t) > 1
            and not any(_token_matches(w, t) or w.startswith(t) for w in cue_words)  # "rule-based": "based"
            and not (i - 1 in inside and f"{tokens[i - 1]}-{t}" in lowered)  # a cue's compound: "fine-tuning"
        ]
        if len(named) >= 3 and not rest:
            return 0.0
    new = [t for t in content if t not in _META and _stem_key(t) not in asked]
    novelty = len(new) / len(content)
    return min(1.0, novelty / NOVELTY_FLOOR) if asked else 1.0


def cue_coverage(cues: list[str], tokens: list[str]) -> float:
    """Share of keyword cues present in the tokens (0 when the point has no cues)."""
    if not cues:
        return 0.0
    joined = _joined(tokens)
    return sum(_present(cue, tokens, joined) for cue in cues) / len(cues)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut text to at most ``limit`` characters at a sentence or word boundary."""
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    boundary = max(cut.rfind(". "), cut.rfind("\n"))
    if boundary > limit * 0.6:
        cut = cut[: boundary + 1]
    else:
        space = cut.rfind(" ")
        cut = cut[:space] if space > limit * 0.6 else cut
    return cut, True


def reflow(text: str) -> str:
    """Join hard-wrapped lines into paragraphs (YAML block scalars keep their line breaks)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def within_limit(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at paragraphs, lines, then spaces.

    Chat platforms reject over-long messages; splitting keeps every word of a long scorecard.
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def plural(count: int, word: str) -> str:
    """"1 question", "3 questions": the count with its noun agreeing."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def quoted_within_limit(text: str, limit: int) -> list[str]:
    """``text`` as a Markdown quote ("> " before every line) in pieces of at most ``limit``
    characters: a long quote split over several messages or fields stays a quote in each."""
    pieces: list[str] = []
    for piece in within_limit(text, max(1, limit - 2)):
        quoted = "> " + piece.replace("\n", "\n> ")
        if len(quoted) <= limit:
            pieces.append(quoted)
        else:  # many short lines: each "> " costs two characters more
            pieces.extend(quoted_within_limit(piece, limit - (len(quoted) - limit)))
    return pieces


# Control characters a candidate typed (escape sequences, bells, NULs) are shown as their
# visible pictures (U+2400 block): raw, they would drive the reader's terminal.
_VISIBLE = {**{c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}, 0x7F: 0x2421,
            **{c: 0xFFFD for c in range(0x80, 0xA0)}}


def visible(text: str) -> str:
    """``text`` with every control character but tab and newline replaced one for one."""
    return text.translate(_VISIBLE)
