"""Does a statement say the opposite of a claim? Negation, framing, swapped roles, flipped directions.

Sentence embeddings are blind to polarity: "static embeddings do not give a word one vector"
sits as close to the rubric point as the point itself. This module reads the few structures
that turn a statement into its opposite and compares them with the claim, word by word:

- **negation**: a cue (not, no, never, n't, without, ...) denies the content words after it in
  its clause; two cues cancel. A claim that carries a negation itself ("needs no labels") is
  stated by a statement that negates the same words ("does not need labels").
- **framing**: "it is false that", "it is a myth that", "people wrongly think", "..., but that is
  wrong", "the idea that ... is a misconception" deny the clause they frame.
- **swap**: the claim binds its predicate to one of the things a question contrasts (or to one
  of a few mutually exclusive terms: supervised/unsupervised, training/test, L1/L2, ...); a
  statement that binds the same predicate to another of them contradicts it.
- **direction**: increases/decreases, higher/lower, more/less, before/after, ... attached to the
  same word with the opposite sign (one flip contradicts; flipping cause and effect together
  keeps the meaning, so the signs' parity decides).

Everything is decided on shared content words, so a statement that is about something else
never contradicts. The rules err towards silence: a missed contradiction costs as much as
today, a false one takes credit from a correct answer.

One module although long: the reading (tokens, negation scopes, frames) and the four
comparisons share private structures and are tuned together against the adversarial bench;
split, each rule change would touch several files that only make sense together.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from interviewer.text import STOP_WORDS, clean

# --- lexicon ------------------------------------------------------------------------------------

NEGATORS = frozenset(
    "not no never none nothing nobody nor neither cannot without nowhere lacks lack lacking "
    "isn't aren't wasn't weren't don't doesn't didn't won't can't couldn't shouldn't wouldn't "
    "hasn't haven't hadn't mustn't needn't".split()
)
# Phrases whose negation word does not deny anything ("no matter which", "not only ... but").
_IDIOMS = re.compile(
    r"\b(no matter|not only|not just|not merely|no doubt|without doubt|not least|whether or not|"
    r"if not|nothing but|no less than|not to mention|no more than|never mind)\b"
)
# A frame that denies the rest of its sentence (everything after it).
_DENY_REST = re.compile(
    r"\b(?:it is|it's|it was|that is|that's|this is|this's)\s+(?:simply\s+|just\s+|actually\s+|completely\s+)?"
    r"(?:not true|untrue|false|wrong|incorrect|mistaken|a\s+(?:\w+\s+){0,2}?(?:myth|misconception|fallacy|mistake|misunderstanding))"
    r"\s+(?:to\s+(?:say|think|believe|claim)\s+)?that\b"
    r"|\b(?:a|the|one)\s+(?:\w+\s+){0,2}?(?:myth|misconception|fallacy|mistake|misunderstanding)\s+is\s+(?:that|to\s+(?:think|believe|assume|say)\s+(?:that\s+)?)"
    r"|\b(?:wrongly|mistakenly|incorrectly|falsely|erroneously|naively)\s+(?:think|thinks|believe|believes|assume|assumes|claim|claims|say|says|state|states|suppose|supposes|hold|holds|conclude|concludes)\b(?:\s+that\b)?"
    r"|\bcontrary\s+to\s+(?:the\s+)?(?:claim|belief|idea|notion|view|myth)\s+that\b"
    r"|\b(?:myth|misconception|fallacy)\s*:"
)
# A frame after the claim that denies what came before it in the sentence.
_DENY_BEFORE = re.compile(
    r"\b(?:but|yet|however|and)?\s*(?:(?:that|this|it|which)\s+(?:is|was)|that's|it's|this's)\s+(?:simply\s+|just\s+|actually\s+|completely\s+)?"
    r"(?:not true|untrue|false|wrong|incorrect|mistaken|a\s+(?:\w+\s+){0,2}?(?:myth|misconception|fallacy|mistake))"
    r"(?=\s*(?:$|[,;:!]))"  # the frame ends its clause: "it is wrong in the same way" is no frame
    r"|\bis\s+(?:simply\s+|just\s+)?(?:a\s+(?:\w+\s+){0,2}?(?:myth|misconception|fallacy)|not true|untrue|false|a mistake)\s*[.!]?\s*$"
)
# A sentence that only denies the one before it ("That is a myth.").
_DENIES_PREVIOUS = re.compile(
    r"^\s*(?:but\s+|however,?\s+|yet\s+)?(?:that|this|it|all of that|none of (?:that|this))\s+(?:is|was|'s)\s+"
    r"(?:simply\s+|just\s+|actually\s+|completely\s+)?(?:not true|untrue|false|wrong|incorrect|a\s+(?:\w+\s+){0,2}?(?:myth|misconception|fallacy|mistake))\b"
)
# Where a negation's reach ends.
_SCOPE_END = frozenset(list(";:,()") + "but while whereas although though because since so unless yet however instead rather than which who".split())
# Words that make the thing after them a foil ("unlike BERT, word2vec ...").
_FOILS = (("unlike",), ("than",), ("not",), ("instead", "of"), ("rather", "than"), ("as", "opposed", "to"),
          ("compared", "to"), ("compared", "with"), ("versus",), ("vs",), ("whereas",), ("apart", "from"),
          ("in", "contrast", "to"), ("different", "from"))
# Where a contrasted thing is the subject, "whereas" opens that thing's own clause, not a foil.
_FOILS_BUT_WHEREAS = tuple(f for f in _FOILS if f != ("whereas",))
# Strong clause boundaries for binding a predicate to its subject.
_SEGMENT = re.compile(r"[;:]|\s[-\u2013\u2014]\s|\b(?:but|while|whereas|although|though|however|whilst)\b|,\s*(?:which|so|and)\b")

# Direction words: +1 up, -1 down. One family: "reduces variance" and "higher variance" compare.
_UP = ("increase increases increased increasing raise raises raised raising higher high more larger large "
       "bigger big greater grow grows grew growing grown rise rises rose rising risen boost boosts boosted "
       "longer long wider faster improve improves improved improving maximise maximises maximize maximizes "
       "maximising maximizing expand expands expanded better stronger heavier up upward upwards inflate inflates "
       "overestimate overestimates").split()
_DOWN = ("decrease decreases decreased decreasing reduce reduces reduced reducing lower lowers lowered lowering "
         "low less fewer smaller small shrink shrinks shrank shrinking shrunk fall falls fell falling fallen "
         "drop drops dropped dropping decline declines declined declining diminish diminishes diminished "
         "shorter short narrower slower worsen worsens worsened worse weaker lighter down downward downwards little "
         "minimise minimises minimize minimizes minimising minimizing cut cuts deflate deflates "
         "underestimate underestimates").split()
DIRECTION = {**{w: 1 for w in _UP}, **{w: -1 for w in _DOWN}}
_TIME = {"before": 1, "after": -1}
# Mutually exclusive terms: a statement that puts one where the claim has another contradicts it.
EXCLUSIVE: tuple[tuple[str, ...], ...] = (
    ("unsupervised", "supervised", "self-supervised|self supervised", "semi-supervised|semi supervised"),
    ("overfit|overfits|overfitting|overfitted", "underfit|underfits|underfitting|underfitted"),
    ("training set|train set|training data|training split", "test set|test data|test split|validation set|validation data|validation split"),
    ("l1|lasso", "l2|ridge"),
    ("precision", "recall"),
    ("false positive|false positives|type i", "false negative|false negatives|type ii"),
    ("encoder-only|encoder only", "decoder-only|decoder only"),
    ("generative", "discriminative"),
    ("classification|classifier", "regression|regressor"),
    ("stemming", "lemmatisation|lemmatization"),
    ("bagging", "boosting"),
    ("parametric", "non-parametric|nonparametric"),
    ("convex", "non-convex|nonconvex"),
    ("linear", "non-linear|nonlinear"),
    ("data drift|covariate shift", "concept drift"),
    ("static", "contextual|contextualised|contextualized"),
)
# Opposites: each entry is one side and its other side ('a|b' lists words of one side). Two
# uses: a negated word states its opposite ("does not change" states "fixed"), and a statement
# that puts one side where the claim has the other reverses it ("uses the labels" for "ignores").
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("same|identical|shared", "different|distinct|separate"),
    ("fixed|static|constant|unchanged|frozen", "change|changes|vary|varies|depend|depends|dynamic|adapt|update"),
    ("single|one", "multiple|several|many"),
    ("independent", "dependent"),
    ("ignore|disregard|blind", "use|uses|look|consider|exploit|rely"),
    ("need|needs|require|requires|necessary|essential", "optional|unnecessary"),
    ("true|correct|right", "false|wrong|incorrect"),
    ("possible", "impossible"),
    ("stable", "unstable"),
    ("known", "unknown"),
    ("seen", "unseen"),
    ("together|jointly", "separately|independently"),
    ("cheap|inexpensive|efficient", "expensive|costly|slow"),
    ("easy|easier", "hard|harder|difficult"),
    ("keep|keeps|retain|preserve", "drop|drops|discard|discards|lose|loses|remove|removes"),
    ("include|includes", "exclude|excludes"),
    ("allow|allows|enable|enables", "prevent|prevents|block|blocks|forbid"),
    ("help|helps", "hurt|hurts|harm|harms"),
    ("balanced", "imbalanced|unbalanced"),
    ("symmetric", "asymmetric"),
    ("smooth|smoother", "jagged|rough|wiggly"),
    ("general|generic", "specific|specialised|specialized"),
    ("global", "local"),
    ("shallow", "deep"),
    ("parallel", "sequential|sequentially"),
    ("continuous", "discrete"),
    ("correlated", "uncorrelated"),
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")
_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[;:,()]")


def _stem(word: str) -> str:
    if word.endswith(("ss", "us", "is", "as")):  # bias, class, corpus, axis: no plural 's' to strip
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word  # ignore, ignores, ignored


_DIRECTION_STEMS = {_stem(w): sign for w, sign in {**DIRECTION, **_TIME}.items()}
_POLAR_STEMS = {_stem(w): (2 + k, sign) for k, pair in enumerate(OPPOSITES)
                for side, sign in zip(pair, (1, -1)) for w in side.split("|")}


def _antonyms(a: str, b: str) -> bool:
    """Whether two stems are opposites: listed, directions of opposite sign, or one is the other
    with a negative prefix."""
    if _DIRECTION_STEMS.get(a, 0) * _DIRECTION_STEMS.get(b, 0) < 0:
        return True
    pa, pb = _POLAR_STEMS.get(a), _POLAR_STEMS.get(b)
    if pa is not None and pb is not None and pa[0] == pb[0] and pa[1] != pb[1]:
        return True
    for prefix in ("un", "non", "non-", "in", "im", "dis", "ir", "il"):
        if (a == prefix + b or b == prefix + a) and min(len(a), len(b)) >= 4:
            return True
    return False


# --- analysis -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    word: str
    stem: str
    content: bool  # carries meaning (not a stop word, not punctuation, not a negator)
    negated: bool  # inside an odd number of negation scopes or denying frames


@dataclass(frozen=True)
class Reading:
    """One text as a sequence of tokens with polarity, split into segments for binding."""

    tokens: tuple[Token, ...]
    segments: tuple[tuple[int, int], ...]  # [start, end) token ranges between strong boundaries
    framed: bool  # a frame denies part of it

    def content(self, start: int = 0, end: int | None = None) -> list[tuple[int, Token]]:
        return [(i, t) for i, t in enumerate(self.tokens[start:end], start) if t.content]


_HYPHEN = re.compile(r"(?<=[a-z0-9])-(?=[a-z])")


def _tokenise(text: str) -> list[str]:
    """Lower-case words and clause punctuation; hyphenated words are read as their parts
    ("highest-variance" is about variance), so compounds match the words they join."""
    text = _HYPHEN.sub(" ", clean(text).lower().replace("\u2019", "'"))
    text = _IDIOMS.sub(lambda m: m.group(0).replace("not", "n0t").replace("no", "n0").replace("never", "n0ver")
                       .replace("without", "with0ut").replace("nothing", "n0thing"), text)
    return _TOKEN.findall(text)


# Cues that deny only the phrase right after them ("without labels", "rather than accuracy").
_SHORT_NEGATORS = (("without",), ("no",), ("none",), ("nothing",), ("nobody",), ("instead", "of"), ("rather", "than"), ("as", "opposed", "to"), ("in", "place", "of"),
                   ("independent", "of"), ("independently", "of"), ("regardless", "of"), ("irrespective", "of"),
                   ("free", "of"), ("avoid",), ("avoids",), ("avoiding",), ("avoided",))
# Words after which a content word is being removed, so it agrees with that word negated:
# "avoids full retraining" states "without full retraining".
_SUPPRESSORS = frozenset(
    "avoid avoids avoiding avoided prevent prevents preventing prevented reduce reduces reducing reduced "
    "eliminate eliminates eliminating eliminated remove removes removing removed skip skips skipping skipped "
    "lose loses losing lost drop drops dropping dropped minimise minimises minimize minimizes lower lowers "
    "decrease decreases cut cuts exclude excludes excluding ignore ignores ignoring ignored "
    "solve solves solving solved fix fixes fixing fixed".split()
)


_AUXILIARIES = frozenset("is are was were be been do does did can could will would should must may might has have had".split())
_KEEPERS = frozenset("keep keeps keeping kept stop stops stopping stopped prevent prevents protect protects shield shields".split())


def _is_negator(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


def _flip_ranges(words: list[str], text: str) -> list[tuple[int, int]]:
    """Token ranges denied by a negation cue or a frame (a cue inside a frame's own words,
    the "not" of "it is not true that", is part of the frame, not a second negation)."""
    ranges: list[tuple[int, int]] = []
    lowered = " ".join(words)
    framing: set[int] = set()
    for match in _DENY_REST.finditer(lowered):
        first, start = len(lowered[: match.start()].split()), len(lowered[: match.end()].split())
        framing.update(range(first, start))
        end = start
        stops = ("but", "however", "yet", "whereas") if first == 0 else (";", "but", "however", "yet", "whereas")
        while end < len(words) and words[end] not in stops:  # a frame that opens the sentence denies all of it
            end += 1
        ranges.append((start, end))
    for match in _DENY_BEFORE.finditer(lowered):
        stop = len(lowered[: match.start()].split())
        framing.update(range(stop, len(lowered[: match.end()].split())))
        begin = stop
        while begin > 0 and words[begin - 1] not in (";", ":", "."):
            begin -= 1
        if stop > begin:
            ranges.append((begin, stop))
    for i in range(len(words)):
        cue = next((c for c in _SHORT_NEGATORS if tuple(words[i: i + len(c)]) == c), None)
        if cue is None or i in framing:
            continue
        end, content = i + len(cue), 0
        phrase = len(cue) > 1  # "instead of relying on the model's memory" denies the whole phrase
        while end < len(words) and end < i + len(cue) + (6 if phrase else 4) and words[end] not in _SCOPE_END:
            if words[end] in STOP_WORDS and content and not phrase:
                break
            content += words[end] not in STOP_WORDS
            end += 1
        ranges.append((i + len(cue), end))
    for i, word in enumerate(words):
        if i in framing or word in ("without", "no", "none", "nothing", "nobody") or word.startswith("avoid"):
            continue
        if word == "non" or (_is_negator(word) and not (word == "no" and i + 1 < len(words) and words[i + 1] in ("longer",))):
            end = i + 1
            limit = i + 2 if word == "non" else len(words)
            while end < limit and words[end] not in _SCOPE_END and words[end] not in ("and", "or", "then"):
                end += 1
            ranges.append((i + 1, end))
        if word == "neither":
            ranges.append((i + 1, min(len(words), i + 12)))
    return ranges


@lru_cache(maxsize=16384)
def read(text: str) -> Reading:
    """Tokens of ``text`` with their polarity (cached: rubric texts are read every turn)."""
    words = _tokenise(text)
    flips = [0] * len(words)
    ranges = _flip_ranges(words, text)
    for start, end in ranges:
        for k in range(start, end):
            flips[k] += 1
    tokens = tuple(
        Token(w, _stem(w), w not in STOP_WORDS and not _is_negator(w) and w not in _SCOPE_END and w != "non" and len(w) > 1, bool(flips[k] % 2))
        for k, w in enumerate(words)
    )
    joined = " ".join(words)
    cuts = sorted({0, len(words)} | {len(joined[: m.start()].split()) for m in _SEGMENT.finditer(joined)})
    segments = tuple((a, b) for a, b in zip(cuts, cuts[1:]) if b > a)
    return Reading(tokens, segments or ((0, len(words)),), bool(ranges) and any(
        m for m in (_DENY_REST.search(joined), _DENY_BEFORE.search(joined))))


def denies_previous(sentence: str) -> bool:
    """'That is a myth.' and the like: a sentence whose only job is to deny the one before it."""
    return bool(_DENIES_PREVIOUS.match(clean(sentence).lower())) and len(_tokenise(sentence)) <= 12


# --- comparison ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """How a statement contradicts a claim, for the feedback ("You said ...; in fact ...")."""

    kind: str  # negation | framing | swap | direction
    detail: str = ""
    copied: bool = False  # read from a near copy's edits (copy_edits.py), not guessed from free wording
    borrowed: bool = False  # a sentence pair's, from its sentence farther from the claim: no evidence, not reported


def _same(a: str, b: str) -> bool:
    """Stems of one word family ('flexible' and 'flexibility', 'sparse' and 'sparsity')."""
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= 5 and n >= 0.75 * min(len(a), len(b))


def _in(stem: str, stems: set[str] | dict) -> str | None:
    """The member of ``stems`` of ``stem``'s word family, if any."""
    if stem in stems:
        return stem
    return next((s for s in stems if _same(stem, s)), None)


def _clauses(reading: Reading) -> list[int]:
    """The clause number of each token (clauses end at commas, semicolons, colons, brackets)."""
    numbers, n = [], 0
    for t in reading.tokens:
        if t.word in (",", ";", ":", "(", ")"):
            n += 1
        numbers.append(n)
    return numbers


def _negation(claim: Reading, statement: Reading, strict: bool = True) -> int:
    """1 when the statement denies content the claim asserts (or asserts what it denies), else 0.

    Only negated content words vote: shared with the other text at the opposite polarity they
    disagree, at the same polarity they agree, and an antonym of an asserted word there agrees
    ("does not change" states "fixed"). Most of what is negated must be shared and disagree: a
    negation over words the claim does not use says something else, not the opposite."""
    polarity: list[dict[str, list[bool]]] = [{}, {}]
    for k, reading in enumerate((claim, statement)):
        words = [t.word for t in reading.tokens]
        for i, t in reading.content():
            removed = any(w in _SUPPRESSORS for w in words[max(0, i - 3): i]) or (
                "from" in words[max(0, i - 3): i] and any(w in _KEEPERS for w in words[max(0, i - 9): i])
            )  # "keeps the gradients from damaging the backbone"
            polarity[k].setdefault(t.stem, []).append(t.negated or removed)
    agree = disagree = 0
    decisive = False
    for side, other in ((statement, polarity[0]), (claim, polarity[1])):
        content = side.content()
        whole = len({t.stem for _, t in content})
        clause_of = _clauses(side)
        votes: dict[int, list[int]] = {}
        for i, t in content:
            if not t.negated:
                continue
            match = _in(t.stem, other)
            vote = votes.setdefault(clause_of[i], [0, 0, 0])
            if match is not None:
                if any(other[match]):
                    vote[0] += 1
                else:
                    vote[1] += 1
            elif any(_antonyms(t.stem, s) and not any(other[s]) for s in other):
                vote[0] += 2
            else:
                vote[2] += 1
        words = [t.word for t in side.tokens]
        main = {clause_of[i] for i, w in enumerate(words)
                if w.endswith("n't") or w in ("cannot", "never") or (w == "not" and i and words[i - 1] in _AUXILIARIES)}
        # A near copy of the other text with a negation added denies it, however short the negation.
        near_copy = len({t.stem for _, t in content if _in(t.stem, other)}) >= 0.7 * max(whole, len(other), 1)
        for clause, (agreed, disagreed, unshared) in votes.items():
            agree, disagree = agree + agreed, disagree + disagreed
            size = sum(1 for i, _ in content if clause_of[i] == clause)
            # The negation must deny the clause's claim, not a word of it ("spam or not spam"),
            # and mostly words the other text uses ("does not change with the sentence").
            if disagreed > agreed and disagreed * 2 > unshared and (
                (disagreed >= 0.5 * whole and whole <= 4) or near_copy or side.framed
                or (not strict and disagreed >= 2 and disagreed >= 0.5 * size)
                or (clause in main and disagreed >= 3 and disagreed >= 0.6 * size)  # "X is not Y": the verb denied
                or (clause in main and disagreed >= 5 and disagreed >= 0.5 * size)  # the same after a long opening phrase
            ):
                decisive = True
    return int(decisive and disagree > agree)


@lru_cache(maxsize=2048)
def _alternatives(cue: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(_tokenise(a)) for a in cue.split("|") if _tokenise(a))


def _matches(alt: tuple[str, ...], words: Sequence[str], at: int) -> bool:
    if at + len(alt) > len(words):
        return False
    for a, w in zip(alt, words[at: at + len(alt)]):
        if not (w == a or (len(a) > 3 and w.startswith(a))):
            return False
    return True


def _longest_cue(cues: Sequence[str], words: Sequence[str], at: int) -> tuple[int, int] | None:
    """(index of the cue, length in words) of the longest cue that starts at `at`, if any."""
    best = None
    for index, cue in enumerate(cues):
        for alt in _alternatives(cue):
            if _matches(alt, words, at) and (best is None or len(alt) > best[1]):
                best = (index, len(alt))
    return best


def _foiled(words: Sequence[str], at: int, foils=None) -> bool:
    """Whether a foil ("unlike", "than", "whereas" ...) stands up to two words before `at`."""
    return any(tuple(words[max(0, at - len(f) - k): at - k]) == f for f in (foils or _FOILS) for k in (0, 1, 2))


Groups = tuple[tuple[str, ...], ...]
_PREPOSITIONS = frozenset("with of for in on at by from to into over under per across".split())


@dataclass(frozen=True)
class _Polar:
    """A word that takes one side: a direction (up/down), a time (before/after), one of an antonym
    pair, or one of several contrasted things; attached to the shared words next to it."""

    family: object
    sign: int  # the side it takes, negation included
    lexical: int  # the side the word itself names
    word: str
    targets: tuple[tuple[int, str], ...]  # (distance, shared stem), nearest first


def thing_at(words: Sequence[str], at: int, groups: Groups) -> tuple[int, int, int] | None:
    """(group, member, length in words) of the longest named thing starting at ``at``, if any."""
    hit = None
    for g, cues in enumerate(groups):
        match = _longest_cue(cues, words, at)
        if match is not None and (hit is None or match[1] > hit[2]):
            hit = (g, *match)
    return hit


@lru_cache(maxsize=16384)
def _polar_words(reading: Reading, groups: Groups) -> list[tuple[int, int, object, int, int, str]]:
    """(start, end, family, sign, word) of each polar word; a contrasted thing named as a foil
    ("unlike BERT") takes no side, and a negated one takes the other side of a pair."""
    words = [t.word for t in reading.tokens]
    found = []
    i = 0
    while i < len(words):
        hit = thing_at(words, i, groups)
        if hit is not None:
            g, member, length = hit
            family = ("thing", g)
            if not _foiled(words, i):  # negation around a thing is the negation check's business
                found.append((i, i + length, family, member, member, " ".join(words[i: i + length])))
            i += length
            continue
        t = reading.tokens[i]
        polar = (0, DIRECTION[t.word]) if t.word in DIRECTION else (1, _TIME[t.word]) if t.word in _TIME else _POLAR_STEMS.get(t.stem)
        if polar is not None:
            found.append((i, i + 1, polar[0], -polar[1] if t.negated else polar[1], polar[1], t.stem))
        i += 1
    return found


_COMPARATIVES = frozenset(
    "more less fewer higher lower larger smaller greater bigger faster slower longer shorter wider narrower deeper shallower".split()
)


def _attached(reading: Reading, groups: Groups, shared: set[str]) -> list[_Polar]:
    """The polar words of a text, each with the shared content words within three words of it
    in its clause (the nearest on each side), nearest first."""
    polar = _polar_words(reading, groups)
    taken = {k for start, end, *_ in polar for k in range(start, end)}
    things = {k for start, end, family, *_ in polar if isinstance(family, tuple) for k in range(start, end)}
    owner = {k: family for start, end, family, *_ in polar if isinstance(family, tuple) for k in range(start, end)}
    tokens = reading.tokens
    result = []
    for start, end, family, sign, lexical, word in polar:
        targets = []
        thing = isinstance(family, tuple)
        after = tokens[end] if end < len(tokens) else None
        if not thing and tokens[start].word in _COMPARATIVES and after is not None and after.content and end not in taken \
                and not after.word.endswith("ly") and _in(after.stem, shared) is None:
            continue  # "more flexible": more is flexible's, a word the other text does not share
        for step, origin in ((1, end - 1), (-1, start)):
            k = origin + step
            while 0 <= k < len(tokens) and abs(k - origin) <= 3 and tokens[k].word not in _SCOPE_END and tokens[k].word not in ("and", "or"):
                if step < 0 and not thing and tokens[k].word in _PREPOSITIONS:
                    break  # "high sparsity with small accuracy loss": small is the loss's
                other_thing = k in things and owner.get(k) != family
                if (k not in taken or (k in things and (not thing or other_thing))) and tokens[k].content:  # "variance falls"
                    match = _in(tokens[k].stem, shared)
                    if match is not None:
                        targets.append((abs(k - origin), match))
                        break
                k += step
        if targets:
            result.append(_Polar(family, sign, lexical, word, tuple(sorted(targets))))
    return result


def _subject_swap(claim: Reading, statement: Reading, contrasts: tuple[str, ...], shared: set[str]) -> Conflict | None:
    """The question's things by the sentence's subject: when the claim names one of them and the
    statement names only another (foils aside) while saying the same of it in two or more of the
    claim's words ("GPT goes the other way, with an encoder stack that looks both ways" for
    "BERT is an encoder ... bidirectional"), the statement binds the claim to the wrong thing."""
    named = [{member for _, _, family, _, member, _ in _polar_words(r, (contrasts,)) if family == ("thing", 0)}
             for r in (claim, statement)]
    if len(named[0]) != 1 or len(named[1]) != 1 or named[0] == named[1]:
        return None
    thing_words = {w for cue in contrasts for alt in _alternatives(cue) for w in alt}
    said = {t.stem for _, t in statement.content() if t.word not in thing_words and _in(t.stem, shared)}
    claimed = {t.stem for _, t in claim.content() if t.word not in thing_words}
    if len(said) < 2 or len(said) < SWAP_SHARE * len(claimed):
        return None  # "vector" and "word" are said of both things
    (wanted,), (got,) = named
    return Conflict("swap", f"{contrasts[got].split('|')[0]} where it is {contrasts[wanted].split('|')[0]}")


def _mentions(reading: Reading, contrasts: tuple[str, ...]) -> list[tuple[int, int, int, bool]]:
    """(start, end, member, foiled) of each mention of one of the question's contrasted things;
    a foiled one ("unlike BERT", "than word2vec") is named only to be set against the other."""
    words = [t.word for t in reading.tokens]
    found = []
    i = 0
    while i < len(words):
        best = _longest_cue(contrasts, words, i)
        if best is None:
            i += 1
            continue
        foiled = _foiled(words, i, _FOILS_BUT_WHEREAS)
        found.append((i, i + best[1], best[0], foiled))  # "whereas" opens the other thing's clause here
        i += best[1]
    return found


@lru_cache(maxsize=512)
def _name_pattern(cue: str) -> re.Pattern[str]:
    """Any alternative of a contrasted thing as written in running text (long ones as prefixes,
    as ``_matches`` reads them: "finetun" names "fine-tuning")."""
    return _mention_pattern(tuple(sorted(_alternatives_of(cue), key=len, reverse=True)))


@lru_cache(maxsize=512)
def _mention_pattern(alternatives: tuple[str, ...]) -> re.Pattern[str]:
    """A mention of any of ``alternatives`` (longest first): a whole word, or a long one
    (over 3 letters) as a word's start."""
    parts = [re.escape(a) + (r"[\w-]*" if len(a) > 3 else "") for a in alternatives]
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])", re.IGNORECASE)


def named_in(text: str, cue: str) -> bool:
    """Whether the text names the contrasted thing ``cue`` (any of its alternatives)."""
    return _name_pattern(cue).search(text) is not None


def _alternatives_of(cue: str) -> list[str]:
    return [a.strip() for a in cue.split("|") if a.strip()]


def renamed(text: str, contrasts: Sequence[str], mapping: dict[int, int]) -> str:
    """The text with every mention of thing a (a key of ``mapping``) written as thing
    ``mapping[a]``, in the same form where the rubric lists one: alternatives are read as
    parallel lists ("l1 penalty|l1|lasso" against "l2 penalty|l2|ridge"), so "Ridge" becomes
    "Lasso", and an abbreviation becomes the other's ("L2" -> "L1", "BN" -> "LN"); a mention
    of a long alternative read as a word's start keeps its ending ("exploring" -> "exploiting",
    "overfitting" -> "underfitting"). A capitalised mention gets a capitalised name; an
    abbreviation in capitals stays in capitals."""
    entries = [[a.lower() for a in _alternatives_of(c)] for c in contrasts]
    owner: dict[str, tuple[int, int]] = {}
    for k in mapping:
        for i, alternative in enumerate(entries[k]):
            owner.setdefault(alternative, (k, i))
    if not owner:
        return text
    ordered = tuple(sorted(owner, key=len, reverse=True))
    pattern = _mention_pattern(ordered)

    def rename(match: re.Match[str]) -> str:
        said = match.group()
        alternative = next(a for a in ordered if said.lower() == a or (len(a) > 3 and said.lower().startswith(a)))
        k, i = owner[alternative]
        target = entries[mapping[k]]
        short = [a for a in target if len(a) <= 3] if len(alternative) <= 3 else []
        if short:  # an abbreviation for the other's abbreviation ("BN" -> "LN")
            name = short[0]
        else:
            name = target[i] if i < len(target) and len(target[i]) > 3 else target[0]
        ending = said[len(alternative):]
        if ending:  # onto the name's shortest listed stem: "explor" + "ing" -> "exploit" + "ing"
            name = min((a for a in target if len(a) > 3 and name.startswith(a)), key=len, default=name) + ending
        if said.isupper() and len(said) > 1 and len(name) <= 3:
            return name.upper()
        return name[:1].upper() + name[1:] if said[0].isupper() else name

    return pattern.sub(rename, text)


def canonical_names(text: str, contrasts: Sequence[str]) -> str:
    """The text with each contrasted thing called by its first name ("BERT" -> "contextual"):
    the baseline a mirrored text is compared with, so that a name closer to the rubric's
    wording is not mistaken for a better statement."""
    names = {k: c.split("|")[0] for k, c in enumerate(contrasts)}
    patterns = {k: _name_pattern(contrasts[k]) for k in names}
    combined = re.compile("|".join(f"(?P<t{k}>{pattern.pattern})" for k, pattern in patterns.items()), re.IGNORECASE)
    return combined.sub(lambda match: names[next(k for k in names if match.group(f"t{k}") is not None)], text)


def mirrored(text: str, contrasts: Sequence[str]) -> list[tuple[int, int, str]]:
    """(a, b, text with things a and b trading places, each named in the form the other was,
    ``renamed``) for each pair of the question's contrasted things that the text names at
    least one of: what the sentence would say had it bound its attributes the other way round."""
    named = [k for k, cue in enumerate(contrasts) if named_in(text, cue)]
    out: list[tuple[int, int, str]] = []
    for a in named:
        for b in range(len(contrasts)):
            if b != a and not (b in named and b < a):
                out.append((a, b, renamed(text, contrasts, {a: b, b: a})))
    return out


SWAP_SHARE = 0.4  # share of the claim's words a statement must say of the other thing to swap it


def _subject_bindings(reading: Reading, contrasts: tuple[str, ...]) -> dict[str, set[int]]:
    """Which of the question's things each content word is said of: the subject of its clause.

    A thing is a subject where it opens its segment (within its first three words) or follows
    "and", "or", "whereas", "if" ... ("... and high variance as overfitting"); it is said of
    itself from there on, and of the words before it in its segment. Things joined ("BM25
    scores and cosine similarities are ...") are the subject together. A segment that names no
    subject speaks of the last one; a sentence that has none ("you run the denoiser, then
    decode with the VAE": objects, not subjects) binds nothing. Other things named in a clause
    are said of its subject, keyed "#" plus their name ("high bias shows up as underfitting").
    Denied words bind nothing."""
    mentions = _mentions(reading, contrasts)
    named = [m for m in mentions if not m[3]]
    if not named:
        return {}
    inside = {k for m in mentions for k in range(m[0], m[1])}
    words = [t.word for t in reading.tokens]

    def joint(a: tuple[int, int, int, bool], b: tuple[int, int, int, bool]) -> bool:
        between = words[a[1]:b[0]]
        return len(between) <= 3 and any(w in ("and", "or", ",", "vs", "versus", "nor") for w in between)

    def leads(m: tuple[int, int, int, bool], start: int) -> bool:
        return len([w for w in words[start:m[0]] if w not in (",", "(", ")")]) <= 2

    def opens_after(m: tuple[int, int, int, bool], start: int) -> bool:
        if any(w in _CLAUSE_OPENERS for w in words[max(start, m[0] - 2): m[0]]):
            return True
        # A clause with its verb left out after a comma: "overfitting comes from too much
        # capacity, underfitting from too little" (not a list: "bias, variance and noise").
        return m[0] - 1 > start and _opens_gapped_clause(words, m[0], m[1])

    def opens_clause(m: tuple[int, int, int, bool], start: int) -> bool:
        return leads(m, start) or opens_after(m, start)

    out: dict[str, set[int]] = {}
    subject: set[int] = set()
    for start, end in reading.segments:
        here = [m for m in named if start <= m[0] < end]
        clauses: list[tuple[int, set[int], int]] = []  # (first token, subject, where it ends) of each clause
        k = 0
        while k < len(here):
            m = here[k]
            if (opens_clause(m, start) if not k else opens_after(m, start)) and not (k and joint(here[k - 1], m)):
                who = {m[2]} | ({here[k + 1][2]} if k + 1 < len(here) and joint(m, here[k + 1]) else set())
                if not clauses and not leads(m, start):
                    clauses.append((start, subject, start))  # "poor on training data, and high variance ...": the last subject's
                last_mention = here[k + 1] if len(who) > 1 else m
                clauses.append((start if not clauses else m[0], who, last_mention[1]))
                k += 1 + (len(who) > 1)
                continue
            if clauses and m[0] - clauses[-1][2] <= _PAIR_GAP:  # a thing named just after the subject is said of it
                name = "#" + " ".join(t.stem for t in reading.tokens[m[0]:m[1]])
                out.setdefault(name, set()).update(clauses[-1][1])
            k += 1
        if not clauses:
            clauses = [(start, subject, start)]  # no subject of its own: the last segment's, if any
        for n, (first, who, _) in enumerate(clauses):
            last = clauses[n + 1][0] if n + 1 < len(clauses) else end
            for i, token in reading.content(first, last):
                if who and i not in inside and not token.negated:
                    out.setdefault(token.stem, set()).update(who)
        subject = clauses[-1][1]
    return out


_PAIR_GAP = 5  # "high bias shows up as underfitting": at most this many words from the subject
_LIST_GLUE = frozenset("and or nor vs versus".split())


def _opens_gapped_clause(words: Sequence[str], start: int, end: int) -> bool:
    """Whether the mention at words[start:end] opens a clause with its verb left out: it
    follows a comma and a word that is not list glue follows it ("..., underfitting from too
    little", not "bias, variance and noise")."""
    after = words[end] if end < len(words) else ""
    return start >= 1 and words[start - 1] == "," and after.isalpha() and after not in _LIST_GLUE
_CLAUSE_OPENERS = frozenset("and or while whereas but whilst if unless when because since once although though".split())


def _binding_swap(claim: Reading, statement: Reading, contrasts: tuple[str, ...]) -> Conflict | None:
    """The question's things bound the other way round across a whole sentence: what the claim
    says of one thing, the statement says of another: in three or more words, a good share of
    the claim's and more than twice as many as it binds rightly ("Bias is instability: a
    flexible model follows the noise of its sample" for "Variance is error from sensitivity to
    the sample ... it fits noise"), or two things the claim pairs paired the other way round
    ("high variance shows up as underfitting, and high bias as overfitting")."""
    said = _subject_bindings(claim, contrasts)
    if not said:
        return None
    agree = disagree = paired_agree = paired_disagree = 0
    first: tuple[int, int] | None = None
    for word, members in _subject_bindings(statement, contrasts).items():
        match = (word if word in said else None) if word.startswith("#") else _in(word, said)
        if match is None or len(members) != 1 or len(said[match]) != 1:
            continue
        (got,), (wanted,) = members, said[match]
        paired = word.startswith("#")
        if got == wanted:
            agree += 1
            paired_agree += paired
        else:
            disagree += 1
            paired_disagree += paired
            first = first or (wanted, got)
    bound = sum(1 for members in said.values() if len(members) == 1)
    # Words both things are described with ("vector", "word") are shared by chance: the swapped
    # words must be a good part of what the claim says, or two things paired the wrong way.
    by_words = disagree >= 3 and disagree > 2 * agree and disagree >= SWAP_SHARE * bound
    by_pairs = paired_disagree >= 2 and not paired_agree and disagree > agree
    if first is None or not (by_words or by_pairs):
        return None
    wanted, got = first
    return Conflict("swap", f"{contrasts[got].split('|')[0]} where it is {contrasts[wanted].split('|')[0]}")


def _reversal(claim: Reading, statement: Reading, groups: Groups) -> tuple[int, Conflict | None]:
    """Whether the statement takes the other side where the claim takes one, on shared words.

    Only a word of the other side counts ("reduces" for "increases", "BERT" for "word2vec"), and
    only when no negation turns it back ("does not increase" for "reduces" agrees); the same
    word negated is the negation check's business. Two kinds of reversal: the thing a sentence is
    about (a swap: one bit however many of its names are swapped), and directions attached to
    shared words. Reversing one direction contradicts; reversing every one of two or more
    restates the claim from the other side ("as complexity falls, bias rises"). Returns the bit
    to add up with the other reversals, or a conflict that nothing cancels (some directions
    reversed and others kept)."""
    claim_stems = {t.stem for _, t in claim.content()}
    shared = {s for s in claim_stems if _in(s, {t.stem for _, t in statement.content()})}
    wanted: dict[tuple[object, str], tuple[int, _Polar]] = {}
    claimed = _attached(claim, groups, shared)
    sides: dict[object, set[int]] = {}
    for _, _, family, _, member, _ in _polar_words(claim, groups):
        if family == ("thing", 0) and groups[0] is not EXCLUSIVE[0]:
            sides.setdefault(family, set()).add(member)
    compared = {family for family, members in sides.items() if len(members) > 1}  # comparing the question's things binds neither
    ambiguous: set[tuple[object, str]] = set()
    for reading, polars in ((claim, claimed), (statement, _attached(statement, groups, shared))):
        seen: dict[tuple[object, str], int] = {}
        for polar in polars:
            nearest = polar.targets[0][0]  # "more flexible usually lowers bias": lowers is bias's, not flexible's
            for distance, target in polar.targets:
                if distance > nearest:
                    continue
                if seen.setdefault((polar.family, target), polar.sign) != polar.sign:
                    ambiguous.add((polar.family, target))  # "from seen to unseen events"
    for polar in claimed:
        if polar.family in compared:
            continue
        for distance, target in polar.targets:
            key = (polar.family, target)
            if key in ambiguous:
                continue
            if key not in wanted or distance < wanted[key][0]:
                wanted[key] = (distance, polar)
    swap: Conflict | None = None
    swap_kept = False
    matched = flipped = 0
    first: Conflict | None = None
    for polar in _attached(statement, groups, shared):
        key = next(((polar.family, t) for _, t in polar.targets if (polar.family, t) in wanted), None)
        if key is None:
            continue
        other = wanted[key][1]
        if isinstance(polar.family, tuple):  # a thing: its side is which of them it is
            if other.sign != polar.sign:
                swap = swap or Conflict("swap", f"{polar.word} where it is {other.word}")
            else:
                swap_kept = True
            continue
        if other.lexical == polar.lexical and other.sign != polar.sign:
            continue  # the same word negated: the negation check's business
        matched += 1
        if other.sign != polar.sign:
            flipped += 1
            first = first or Conflict("direction" if polar.family in (0, 1) else "opposite", key[1])
    if flipped and (flipped < matched or (matched > 1 and len({k for k in wanted if k[0] in (0, 1) or not isinstance(k[0], tuple)}) > matched)):
        # Some directions reversed and others kept, or left out: no reading makes that right.
        # Reversing all of them, cause included, restates the claim from the other side.
        return 0, first
    bits = 0
    found = None
    if swap is None and not swap_kept and groups and groups[0] is not EXCLUSIVE[0]:
        swap = _subject_swap(claim, statement, groups[0], shared)
    if swap is not None and not swap_kept:
        bits, found = 1, swap
    if flipped == 1 and matched == 1:
        bits, found = bits + 1, found or first
    return bits, found


def _groups_named(reading: Reading, groups: Groups) -> set[object]:
    return {family for _, _, family, *_ in _polar_words(reading, groups) if isinstance(family, tuple)}


def _part(reading: Reading, start: int, end: int) -> Reading:
    return Reading(reading.tokens[start:end], ((0, end - start),), reading.framed)


def _close(claim: Reading, statement: Reading, share: float = 0.5) -> bool:
    """Whether the statement says much the same words as the claim (a paraphrase by copying)."""
    a = {t.stem for _, t in claim.content()}
    b = {t.stem for _, t in statement.content()}
    return len({w for w in b if _in(w, a)}) >= share * max(len(a), len(b), 1)


def _compare(claim: Reading, statement: Reading, groups: Groups) -> Conflict | None:
    bits, reversal = _reversal(claim, statement, groups)
    if reversal is not None and reversal.kind != "swap" and not _close(claim, statement):
        bits, reversal = 0, None  # a reversed direction counts only in a sentence that follows the claim closely
    if reversal is not None and bits == 0:
        return reversal
    negation = Conflict("framing" if statement.framed and not claim.framed else "negation") if _negation(claim, statement) else None
    if negation is None and bits and _negation(claim, statement, strict=False):
        return None  # "BERT does not give one fixed vector": the other side, denied, says the same
    bits += negation is not None
    return (negation or reversal) if bits % 2 else None


def conflict(statement: str, claim: str, contrasts: Sequence[str] = ()) -> Conflict | None:
    """How ``statement`` contradicts ``claim``, or None when it does not (or says nothing of it).

    Each reversal counts once: a negation of the claim's content, a swap of the thing it is
    about (one of ``contrasts``, the question's, or of a few mutually exclusive domain terms),
    and a reversed direction. An odd count contradicts; an even one says the same from the
    other side ("word2vec gives one fixed vector" and "BERT does not"; "static is cheap" and
    "contextual is costly"). Each part of the statement between strong boundaries ("but",
    "while", ";") is read against the part of the claim it shares most words with, and the
    statement's parts that are about the claim decide.
    """
    s, c = read(statement), read(claim)
    claim_parts = [_part(c, a, b) for a, b in c.segments]
    claim_words = [{t.stem for _, t in part.content()} for part in claim_parts]
    if not claim_parts:
        return None
    groups = ((tuple(contrasts),) if len(contrasts) >= 2 else ()) + EXCLUSIVE
    found: list[tuple[int, Conflict | None]] = []
    claim_groups = [_groups_named(part, groups) for part in claim_parts]
    for a, b in _gapped(s, groups):
        part = _part(s, a, b)
        words = [t.stem for _, t in part.content()]
        named = _groups_named(part, groups)
        # Naming one of the same things counts as a shared word: "decoder-only" where the claim says "encoder-only".
        overlaps = [sum(1 for w in words if _in(w, cw)) + len(named & cg) for cw, cg in zip(claim_words, claim_groups)]
        k = max(range(len(claim_parts)), key=overlaps.__getitem__)
        if overlaps[k]:
            found.append((overlaps[k], _compare(claim_parts[k], part, groups)))
    if not found:
        return None
    # Any part about the claim (sharing at least half as much with it as the closest part) that
    # contradicts it decides: "variance is error from a too simple model; it stays wrong ..."
    floor = max(2, max(n for n, _ in found) / 2)
    decided = next((c for n, c in sorted(found, key=lambda f: -f[0]) if c is not None and n >= floor), None)
    if decided is None and len(contrasts) >= 2 and not s.framed:
        return _binding_swap(c, s, tuple(contrasts))
    return decided


@lru_cache(maxsize=4096)
def _gapped(reading: Reading, groups: Groups) -> tuple[tuple[int, int], ...]:
    """The reading's segments, each also split where a clause with its verb left out starts
    after a comma with one of the things ("overfitting comes from too much capacity,
    underfitting from too little"): each clause is about its own thing. Not in a list ("bias,
    variance and noise": the thing is followed by "and", "or" or a comma)."""
    words = [t.word for t in reading.tokens]
    if "," not in words:
        return reading.segments
    cuts: set[int] = set()
    for group in groups:
        for start, end, _, _ in _mentions(reading, group):
            if start >= 2 and _opens_gapped_clause(words, start, end):
                cuts.add(start - 1)
    out: list[tuple[int, int]] = []
    for a, b in reading.segments:
        edges = [a, *sorted(c for c in cuts if a < c < b), b]
        out += [(x, y) for x, y in zip(edges, edges[1:]) if y > x]
    return tuple(out)


def against(statement: str, claims: Sequence[str], contrasts: Sequence[str] = ()) -> Conflict | None:
    """Whether ``statement`` contradicts the one of ``claims`` (a point and its other phrasings)
    that it shares most words with: the phrasing it is talking about."""
    words = {t.stem for _, t in read(statement).content()}
    if not words:
        return None

    def shared(claim: str) -> int:
        return sum(1 for _, t in read(claim).content() if _in(t.stem, words))

    best = max(claims, key=shared, default=None)
    if best is None or shared(best) == 0:
        return None
    return conflict(statement, best, contrasts)


def framed_by_next(sentence: str) -> str:
    """A sentence as read when the next one only denies it ("X. That is a myth.")."""
    return f"It is a myth that {sentence}"


_CONTRAST_QUESTION = re.compile(
    r"difference(?:s)? between (?:the )?(?P<a>[\w\s-]+?) and (?:the )?(?P<b>[\w\s-]+?)(?:[?,.]|$| and | in | for )"
    r"|(?P<c>[\w-]+) (?:vs\.?|versus) (?P<d>[\w-]+)"
    r"|compare (?:the )?(?P<e>[\w\s-]+?) (?:and|with|to) (?:the )?(?P<f>[\w\s-]+?)(?:[?,.]|$)",
    re.IGNORECASE,
)


def derived_contrasts(question_text: str) -> list[str]:
    """The two things a question contrasts, read from its wording when its rubric names none
    ('What is the difference between A and B?', 'A vs B', 'compare A and B')."""
    match = _CONTRAST_QUESTION.search(question_text)
    if not match:
        return []
    a, b = [g for g in match.groups() if g][:2]
    heads = []
    for phrase in (a, b):
        content = [w for w in _tokenise(phrase) if w not in STOP_WORDS and w not in _SCOPE_END]
        if not content:
            return []
        heads.append(content[0])
    if heads[0] == heads[1]:
        return []
    return heads
