"""Adversarial answers for the rubric bank: text that reads well and states the wrong thing.

Pure text generators (no model, no grading), used by ``bench/adversarial.py`` and
``tests/test_adversarial.py``. Every attack class is a function of a bank ``Question`` that
returns a list of ``(answer, note)`` pairs; ``note`` says what the answer is (for
``single_negation`` it is the id of the negated point). Deliberately independent of the grader
and of its contradiction check: the word lists and rules below are this module's own, so the
benchmark does not measure the fix with the fix's own vocabulary.

Everything is deterministic: the same question always gives the same answers.

One module although long: one generator per attack class, each with its own word lists, kept
beside one another so the classes stay comparable.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from interviewer.domain import Question
from interviewer.grading.contradiction import renamed
from interviewer.text import split_sentences

Attack = tuple[str, "str | None"]

DATA_DIR = Path(__file__).resolve().parent / "data"

# ---------------------------------------------------------------------------------------------
# Negating a sentence the way a person would
# ---------------------------------------------------------------------------------------------

# Auxiliaries and copulas after which "not" goes, with the contracted negative of each.
_AUX_CONTRACTED = {
    "is": "isn't", "are": "aren't", "was": "wasn't", "were": "weren't",
    "can": "can't", "could": "couldn't", "will": "won't", "would": "wouldn't",
    "does": "doesn't", "do": "don't", "did": "didn't", "has": "hasn't", "have": "haven't",
    "had": "hadn't", "should": "shouldn't", "must": "mustn't", "may": "may not", "might": "might not",
}
# Already negative forms: negating them means dropping the negation.
_NEGATED_AUX = {
    "isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were", "can't": "can",
    "cannot": "can", "couldn't": "could", "won't": "will", "wouldn't": "would",
    "doesn't": "does", "don't": "do", "didn't": "did", "hasn't": "has", "haven't": "have",
    "hadn't": "had", "shouldn't": "should", "mustn't": "must",
}
_DROPPED_NEGATION = {"not", "never", "no"}

# Verbs common in ML prose (base forms). A word is read as a leading main verb only if its base
# form is here: "assigns" -> "does not assign"; "models" or "weights" are never taken for verbs.
_VERBS = frozenset(
    """accept access account achieve act adapt add adjust aggregate aim align allocate allow alter
    apply approximate argue arrange assign assume attach attend augment automate average avoid
    balance batch become begin behave belong bias blend block boost break bring build calculate
    call capture carry cause change check choose clip cluster collapse collect combine come compare
    compete compile complete compose compress compute concatenate condition connect consider
    consist constrain consume contain control converge convert copy correct correspond cost count
    cover create cross cut decay decide decode decompose decrease define degrade delete denoise
    depend derive describe detect determine differ discard discover distil distill distribute
    die diverge divide dominate draw drive drop emerge employ enable encode encourage end enforce ensure enter
    estimate evaluate exceed exist expand explode expect explain exploit expose extend extract fail fall
    favour favor feed fetch fill filter find fine-tune fit fix flatten flip follow force forget
    form freeze gain gather generalise generalize generate get give go grow guarantee guide halve
    handle happen help hallucinate hide hold identify ignore imply improve include incorporate increase induce
    infer inherit inject introduce invert involve keep know label lack lead learn leak leave let lie limit link
    live look lose lower make map mask match matter mean measure memorise memorize merge minimise
    minimize miss mix move multiply need normalise normalize observe obtain occur offer omit
    operate optimise pair optimize outperform output overfit overlap pad pass pay penalise penalize
    perform pick place plateau play point pool predict prefer prepare preserve prevent process
    produce project promote propagate protect prove provide prune pull push put quantise quantize
    raise rank reach read rebuild receive recover reduce refer reflect regularise regularize reject
    rely remain remember remove render repeat replace represent require rescale reserve reset
    resize resolve respond restore retain retrain retrieve return reuse reveal reverse reward rise
    rotate rule run sample saturate save scale score search see select send separate serve set shape share
    shift show shrink shuffle simplify skip slide slow smooth solve sort speed split squash stabilise
    stabilize stack start stay stem stop store strip suffer suggest sum supply support suppress
    swap take target teach tell tend test tie tokenise tokenize track train transfer transform
    translate treat trigger trim try tune turn underfit undergo update use validate vanish vary vote
    want warm weigh weight widen win work worsen wrap write yield zero""".split()
)
# Words that are verbs in the list above but read as nouns far more often in the bank's prose
# right after a noun ("bootstrap samples", "the model's outputs"): not taken for a leading verb.
_NOUNISH = frozenset("samples outputs points labels scores weights tests costs sets ranks pools maps masks".split())

_DETERMINERS = frozenset(
    """a an the each every this that these those its their his her our your my some any no
    of for in on at by to from with without into onto over under and or as than such
    two three four five several many most few both all""".split()
)
_PLURAL_PRONOUNS = frozenset("they we you i".split())
_QUANTIFIERS = frozenset("both all many most several few".split())  # subjects on their own: "both saturate"
# A leading subordinate clause ("Because ..., ") is not the main claim: negation goes after its
# comma. A leading prepositional phrase ("For classification, ...") too, if the comma comes soon.
_SUBORDINATORS = frozenset(
    "because if when whenever since although though while once unless until whereas as".split()
)
_PREPOSITIONS = frozenset(
    """for with without in on at by from during unlike like given to under over compared apart
    beyond besides instead after before""".split()
)
_SHORT_OPENING = 7  # words before the comma of a leading prepositional phrase
_RELATIVES = frozenset("that which who whom whose where".split())
_STOPPERS = _RELATIVES | _SUBORDINATORS | frozenset("since so".split())
_PARTICIPLES = frozenset(
    """been become made shown got gotten had done seen taken given grown known built learnt found led
    left run set put split kept held brought thought won lost paid read sent spent stood told
    understood fallen risen chosen driven drawn written proven begun broken""".split()
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019-]*")
_PREFIXES = ("It is false that", "It is not true that")


def _stable(text: str) -> int:
    """A small deterministic number for ``text`` (Python's ``hash`` changes per process)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _base_of_third_person(word: str) -> str | None:
    """'assigns' -> 'assign', 'applies' -> 'apply', 'pushes' -> 'push'; None if not a known verb."""
    w = word.lower()
    if not w.endswith("s") or w.endswith("ss") or w in _NOUNISH:
        return None
    candidates = [w[:-1]]
    if w.endswith("ies"):
        candidates.insert(0, w[:-3] + "y")
    if w.endswith("es"):
        candidates.append(w[:-2])
    for base in candidates:
        if base in _VERBS:
            return base
    return None


def _lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word looks like a name or acronym (BERT, ReLU)."""
    first = text.split(" ", 1)[0]
    if first == "A" or (len(first) > 1 and first[0].isupper() and first[1:] == first[1:].lower() and first[1].isalpha()):
        return text[0].lower() + text[1:]
    return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _split_end(text: str) -> tuple[str, str]:
    """('body', 'end punctuation') of a sentence."""
    match = re.search(r"[.!?]+[\"')\]]*\s*$", text)
    if not match:
        return text.rstrip(), ""
    return text[: match.start()].rstrip(), match.group().strip()


def _prefixed(clause: str, style: int) -> str:
    body, end = _split_end(clause)
    return f"{_PREFIXES[style % 2]} {_lower_first(body)}{end}"


def _search_start(tokens: list[re.Match[str]], clause: str) -> int:
    """Index of the first token of the main clause (after a leading 'Because ..., ' clause)."""
    if not tokens:
        return 0
    first = tokens[0].group().lower()
    comma = clause.find(",")
    if comma < 0 or first not in _SUBORDINATORS | _PREPOSITIONS:
        return 0
    after = next((k for k, t in enumerate(tokens) if t.start() > comma), len(tokens))
    if first in _PREPOSITIONS and after > _SHORT_OPENING:
        return 0
    return after if after < len(tokens) else 0


def negate_clause(clause: str, style: int = 0, prefix: bool = True) -> str:
    """Negate one clause: 'not' after the first auxiliary, 'does not' before a leading verb, or a
    prefix ('It is false that ...') when neither can be told; an instruction gets 'Do not'.
    ``style`` varies the wording: full or contracted negation, and every fourth clause the prefix
    form regardless. With ``prefix=False`` (a clause inside a sentence) no prefix is used: a
    clause with no verb that can be told is returned unchanged. Verb phrases coordinated with
    the negated one ('is applied ... and is what makes ...') are negated too, as a person would."""
    negated = _negate_first(clause, style, prefix)
    if negated.startswith(_PREFIXES) or negated.lower().startswith(("do not ", "don't ", "never ")):
        return negated
    return _negate_coordinated(negated, style % 4 == 1)


_COORDINATED = re.compile(
    r"\b(and|or|but)\s+((?:also|then|usually|often|still|only)\s+)?([A-Za-z]+(?:'[a-z]+)?)\b(\s+(?:not|never)\b)?"
)


def _negate_coordinated(text: str, contracted: bool) -> str:
    """'X does not train trees and makes them differ' -> '... and does not make them differ'."""

    def replace(match: re.Match[str]) -> str:
        conj, adverb, word, negation = match.group(1), match.group(2) or "", match.group(3), match.group(4)
        low = word.lower()
        if negation:  # "and is not" -> "and is"
            return f"{conj} {adverb}{word}"
        if low in _NEGATED_AUX:
            return f"{conj} {adverb}{_NEGATED_AUX[low]}"
        if low in _AUX_CONTRACTED and low not in {"has", "have", "had", "do", "does", "did"}:
            negative = _AUX_CONTRACTED[low] if contracted else ("cannot" if low == "can" else f"{low} not")
            return f"{conj} {adverb}{negative}"
        base = _base_of_third_person(word) if low not in _AUX_CONTRACTED else None
        if low in {"has", "does"}:
            base = {"has": "have", "does": "do"}[low]
        if base is not None:
            return f"{conj} {'doesn' + chr(39) + 't' if contracted else 'does not'} {adverb}{base}"
        return match.group()

    return _COORDINATED.sub(replace, text)


def _negate_first(clause: str, style: int, prefix: bool) -> str:
    clause = clause.strip()
    if not clause:
        return clause
    tokens = list(_TOKEN.finditer(clause))
    start = _search_start(tokens, clause)
    if start == 0 and _imperative(tokens, clause):  # "Detect bias per group" -> "Do not detect ..."
        lead = ("Do not", "Don't", "Do not", "Never")[style % 4]
        rest = _lower_first(clause)
        return f"{lead} {rest}" if clause[:1].isupper() else f"{lead.lower()} {rest}"
    if style % 4 == 3:
        if prefix:
            return _prefixed(clause, style // 4)
        style = 0
    contracted = style % 4 == 1
    negation_before: re.Match[str] | None = None  # "no human labelling is needed": drop the "no"
    relative_aux: int | None = None  # "a model that is too simple underfits": not that "is"
    for k in range(start, len(tokens)):
        word = tokens[k].group()
        low = word.lower().replace("\u2019", "'")
        nxt = tokens[k + 1].group().lower() if k + 1 < len(tokens) else ""
        if low in _DROPPED_NEGATION and negation_before is None:
            negation_before = tokens[k]
            continue
        if low in _NEGATED_AUX:  # "doesn't overfit" -> "does overfit"
            return _splice(clause, tokens[k], _match_case(word, _NEGATED_AUX[low]))
        acts = low in _AUX_CONTRACTED or (
            k > 0 and _base_of_third_person(word) is not None and tokens[k - 1].group().lower() not in _DETERMINERS
        )
        if acts and negation_before is not None:
            return _splice_span(clause, negation_before.start(), negation_before.end(), "")
        if low in _AUX_CONTRACTED and k > start and tokens[k - 1].group().lower() in _RELATIVES:
            relative_aux = k if relative_aux is None else relative_aux
            continue
        if low in _AUX_CONTRACTED:
            if nxt in _DROPPED_NEGATION:  # "is not", "has no", "is no longer" -> the positive
                after = tokens[k + 2].group().lower() if k + 2 < len(tokens) else ""
                if nxt == "no" and after == "longer":
                    return _splice_span(clause, tokens[k + 1].start(), tokens[k + 2].end(), "still")
                if nxt == "no" and low in {"is", "was"} and after not in {"more", "less", "", "different"}:
                    article = "an" if after[:1] in "aeiou" else "a"
                    return _splice(clause, tokens[k + 1], article)
                return _splice_span(clause, tokens[k].end(), tokens[k + 1].end(), "")
            if low in {"has", "have", "had"} and not (nxt in _PARTICIPLES or nxt.endswith(("ed", "en"))):
                do = {"has": "does", "have": "do", "had": "did"}[low]
                negative = f"{do}n't have" if contracted else f"{do} not have"
                return _splice(clause, tokens[k], _match_case(word, negative))
            if low in {"do", "does", "did"} and nxt in _DETERMINERS:  # "does the job": main verb
                negative = f"{low}n't do" if contracted else f"{low} not do"
                return _splice(clause, tokens[k], _match_case(word, negative))
            if contracted:
                negative = _AUX_CONTRACTED[low]
            else:
                negative = "cannot" if low == "can" else f"{low} not"
            return _splice(clause, tokens[k], _match_case(word, negative))
        if k == 0:
            continue
        j = k - 1  # the word before, skipping adverbs ("LLMs typically use")
        while j > start and (tokens[j].group().lower() in _ADVERBS or tokens[j].group().lower().endswith("ly")):
            j -= 1
        prev = tokens[j].group().lower()
        if prev in _QUANTIFIERS and low in _VERBS and nxt not in _AUX_CONTRACTED:  # "both saturate"
            return _splice(clause, tokens[k], "don't " + low if contracted else "do not " + low)
        if prev in _DETERMINERS or clause[tokens[j].end() : tokens[k].start()].strip(" )]\"'"):
            continue  # after "the", or across a comma: not a verb right after its subject
        if nxt in _AUX_CONTRACTED or nxt in _NEGATED_AUX:
            continue  # "bootstrap samples are": the word is the subject, not the verb
        base = _base_of_third_person(word)
        if (base is not None or low in _VERBS) and nxt in {"no", "never"} and k + 1 < len(tokens):
            if base is not None or prev in _PLURAL_PRONOUNS or prev.endswith("s"):  # "adds no power" -> "adds power"
                return _splice_span(clause, tokens[k].end(), tokens[k + 1].end(), "")
        if base is not None:  # "A random forest trains" -> "does not train"
            return _splice(clause, tokens[k], "doesn't " + base if contracted else "does not " + base)
        if low in _VERBS and (prev in _PLURAL_PRONOUNS or (prev.endswith("s") and not prev.endswith("ss"))):
            return _splice(clause, tokens[k], "don't " + low if contracted else "do not " + low)
    if prefix:
        return _prefixed(clause, style)
    if relative_aux is not None:  # inside a sentence a prefix reads badly: negate the relative clause
        word = tokens[relative_aux].group()
        return _splice(clause, tokens[relative_aux], _match_case(word, "cannot" if word.lower() == "can" else f"{word} not"))
    return clause


def _imperative(tokens: list[re.Match[str]], clause: str) -> bool:
    """Whether a clause is an instruction ("Detect bias per group, ..."): it opens with a verb's
    base form and no auxiliary or third-person verb follows before a comma or a subordinate word."""
    if not tokens or tokens[0].group().lower() not in _VERBS or tokens[0].start() > 0:
        return False
    for token in tokens[1:]:
        if clause[tokens[0].end() : token.start()].count(",") or token.group().lower() in _STOPPERS:
            break
        low = token.group().lower()
        if low in _AUX_CONTRACTED or low in _NEGATED_AUX or _base_of_third_person(low) is not None:
            return False
    return True


def _match_case(original: str, replacement: str) -> str:
    return _upper_first(replacement) if original[:1].isupper() else replacement


def _splice(text: str, token: re.Match[str], replacement: str) -> str:
    return _splice_span(text, token.start(), token.end(), replacement)


def _splice_span(text: str, start: int, end: int, replacement: str) -> str:
    out = re.sub(r"\s{2,}", " ", text[:start] + replacement + text[end:]).strip()
    return _upper_first(out) if text[:1].isupper() else out


_CLAUSE_SPLIT = re.compile(r"(;\s+|:\s+|,\s+(?=(?:so|but|while|whereas)\s))")
_CONJUNCTION = re.compile(r"(?:so|but|while|whereas|and|yet|thus|hence)\s+", re.IGNORECASE)
# Adverbs that may sit between a subject and its verb ("LLMs typically use").
_ADVERBS = frozenset("also often only then still always usually never rarely sometimes mostly mainly just".split())


def negate_sentence(sentence: str, counter: list[int] | None = None) -> str:
    """Negate every claim of a sentence: each part between semicolons or colons and each
    coordinate clause after ', so', ', but', ', while' or ', whereas' is negated on its own
    (otherwise 'A; B' would keep B true). ``counter`` (a one-item list) numbers the clauses
    across an answer, so the wording varies from clause to clause."""
    counter = counter if counter is not None else [0]
    body, end = _split_end(" ".join(sentence.split()))
    pieces = _CLAUSE_SPLIT.split(body)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 or not piece.strip():  # a separator (or nothing)
            out.append(piece)
            continue
        head_match = _CONJUNCTION.match(piece)
        head = head_match.group() if head_match else ""
        negated = negate_clause(piece[len(head) :], counter[0], prefix=not (i and head))
        counter[0] += 1
        if (i or head) and negated.startswith(_PREFIXES):
            negated = "i" + negated[1:]
        out.append(head + negated)
    return "".join(out) + end


# ---------------------------------------------------------------------------------------------
# The attack classes
# ---------------------------------------------------------------------------------------------


def _model_sentences(question: Question) -> list[str]:
    return split_sentences(question.model_answer or "")


def whole_negation(question: Question) -> list[Attack]:
    """The model answer with every sentence (every claim of it) negated."""
    sentences = _model_sentences(question)
    if not sentences:
        return []
    counter = [_stable(question.id) % 3]  # which sentence gets which wording varies per question
    return [(" ".join(negate_sentence(s, counter) for s in sentences), "model answer, every sentence negated")]


def _as_sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def points_answer(question: Question) -> str:
    """All the points' texts, one after the other: the control for ``single_negation``."""
    return " ".join(_as_sentence(p.text) for p in question.points)


def single_negation(question: Question) -> list[Attack]:
    """For each point: all the points' texts in order with only that point's sentence negated.
    The note is the negated point's id: that point, and only that one, should lose its credit."""
    attacks = []
    for k, point in enumerate(question.points):
        parts = []
        for j, other in enumerate(question.points):
            sentence = _as_sentence(other.text)
            parts.append(negate_sentence(sentence, [k]) if j == k else sentence)
        attacks.append((" ".join(parts), point.id))
    return attacks


_MYTH_FRAMES: tuple[Callable[[str], str], ...] = (
    lambda c: f"It is a common myth that {c}.",
    lambda c: f"Many people wrongly believe that {c}.",
    lambda c: f"A popular misconception is that {c}.",
    lambda c: f"People often claim that {c}, but that is false.",
    lambda c: f"The idea that {c} is a myth.",
)


def myth_framing(question: Question) -> list[Attack]:
    """Each point's text framed as a myth, the frames rotating from point to point."""
    if not question.points:
        return []
    offset = _stable(question.id) % len(_MYTH_FRAMES)
    sentences = []
    for k, point in enumerate(question.points):
        claim = _lower_first(_split_end(" ".join(point.text.split()))[0])
        sentences.append(_MYTH_FRAMES[(offset + k) % len(_MYTH_FRAMES)](claim))
    return [(" ".join(sentences), "every point framed as a myth")]


def _alternatives(cue: str) -> list[str]:
    return [a.strip() for a in cue.split("|") if a.strip()]


def swap_contrasts(text: str, contrasts: Sequence[str]) -> str:
    """Each mention of entry i becomes a mention of entry i+1 (the last wraps to the first: two
    entries swap, three or more rotate). A mention is what the grader reads as one (an
    alternative as a whole word, or a long one as a word's start: "exploring" names "explor"),
    renamed in kind by ``contradiction.renamed`` ("exploring" -> "exploiting", "Batch
    normalisation" -> "Layer normalisation", "BN" -> "LN")."""
    entries = [c for c in contrasts if _alternatives(c)]
    if len(entries) < 2:
        return text
    return renamed(text, entries, {i: (i + 1) % len(entries) for i in range(len(entries))})


def role_swap(question: Question) -> list[Attack]:
    """The model answer with the contrasted things swapped (only for questions with contrasts)."""
    if len(question.contrasts) < 2 or not question.model_answer:
        return []
    original = " ".join(_model_sentences(question))
    swapped = swap_contrasts(original, question.contrasts)
    if swapped == original:
        return []
    return [(swapped, "contrasted things swapped: " + " <-> ".join(_alternatives(c)[0] for c in question.contrasts))]


def _pairs(a: str, b: str, forms: Sequence[tuple[str, str]] = (("", ""),)) -> dict[str, str]:
    out: dict[str, str] = {}
    for suffix_a, suffix_b in forms:
        out[a + suffix_a] = b + suffix_b
        out[b + suffix_b] = a + suffix_a
    return out


_E_VERB = (("e", "e"), ("es", "es"), ("ed", "ed"), ("ing", "ing"))
_FLIPS: dict[str, str] = {}
_FLIPS.update(_pairs("increas", "decreas", _E_VERB))
_FLIPS.update(_pairs("maximis", "minimis", _E_VERB))
_FLIPS.update(_pairs("maximiz", "minimiz", _E_VERB))
_FLIPS.update(_pairs("overfit", "underfit", (("", ""), ("s", "s"), ("ting", "ting"), ("ted", "ted"))))
_FLIPS.update({"improve": "worsen", "improves": "worsens", "improved": "worsened", "improving": "worsening"})
_FLIPS.update({"worsen": "improve", "worsens": "improves", "worsened": "improved", "worsening": "improving"})
_FLIPS.update({"raise": "lower", "raises": "lowers", "raised": "lowered", "raising": "lowering"})
_FLIPS.update({"lowers": "raises", "lowered": "raised", "lowering": "raising"})
_FLIPS.update({"higher": "lower", "more": "less", "less": "more", "fewer": "more"})
_FLIPS.update(_pairs("larger", "smaller"))
_FLIPS.update({"bigger": "smaller"})
_FLIPS.update(_pairs("before", "after"))
_FLIPS.update(_pairs("faster", "slower"))
_FLIPS.update(_pairs("rises", "falls"))
_FLIPS.update({"rise": "fall", "rising": "falling", "rose": "fell"})
_FLIPS.update(_pairs("grows", "shrinks"))
_FLIPS.update({"grow": "shrink", "growing": "shrinking"})
_FLIPS.update(_pairs("better", "worse"))
_FLIPS.update(_pairs("longer", "shorter"))
_VERB_CONTEXT = frozenset("to can could will would may might must should does do did not also".split())
_FLIP_WORD = re.compile(r"(?<![\w-])(" + "|".join(sorted([*_FLIPS, "lower"], key=len, reverse=True)) + r")(?![\w-])", re.IGNORECASE)


def _flip(word: str, before: str) -> str:
    low = word.lower()
    if low == "lower":  # a verb after "to"/"can": "raise"; otherwise the comparative "higher"
        prev = re.findall(r"[A-Za-z']+", before)[-1:]
        flipped = "raise" if prev and prev[0].lower() in _VERB_CONTEXT else "higher"
    else:
        flipped = _FLIPS[low]
    return _upper_first(flipped) if word[0].isupper() else flipped


def flip_direction(sentence: str) -> str:
    """The sentence with its last direction or comparison word flipped (unchanged if it has none)."""
    matches = list(_FLIP_WORD.finditer(sentence))
    if not matches:
        return sentence
    last = matches[-1]
    return sentence[: last.start()] + _flip(last.group(), sentence[: last.start()]) + sentence[last.end() :]


def direction_flip(question: Question) -> list[Attack]:
    """The model answer's sentences that state a direction or comparison, each with one direction
    word flipped; the sentences that state none are left out, so every sentence of the answer is
    wrong (an answer that is four-fifths right is not one that should score 3/10)."""
    sentences = _model_sentences(question)
    flipped = [f for s in sentences if (f := flip_direction(s)) != s]
    if not flipped:
        return []
    return [(" ".join(flipped), f"{len(flipped)} of {len(sentences)} sentences, each flipped")]


def rubric_keywords(question: Question) -> list[str]:
    """The first alternative of every keyword cue of every point, once each, in rubric order."""
    seen: dict[str, str] = {}
    for point in question.points:
        for cue in point.keywords:
            alternatives = _alternatives(cue)
            if alternatives:
                seen.setdefault(alternatives[0].lower(), alternatives[0])
    return list(seen.values())


_VOCAB_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


def keyword_phrases(question: Question) -> list[str]:
    """The rubric keywords as words a person would write: a cue stem ('imitat', 'neighbo') is
    completed to the first word of the question's own texts that starts with it ('imitate')."""
    texts = [question.text, question.model_answer or ""]
    texts += [t for p in question.points for t in (p.text, *p.aliases)]
    vocab = list(dict.fromkeys(w.lower().strip("'-") for t in texts for w in _VOCAB_WORD.findall(t)))
    known = set(vocab)
    out = []
    for keyword in rubric_keywords(question):
        words = []
        for word in keyword.split():
            if word.lower() not in known:
                word = next((v for v in vocab if v.startswith(word.lower()) and len(v) > len(word)), word)
            words.append(word)
        out.append(" ".join(words))
    return list(dict.fromkeys(out))


def _groups(items: list[str]) -> list[list[str]]:
    """Consecutive groups of 3-5 items using all of them (fewer than 3 make one group)."""
    if len(items) < 3:
        return [items] if items else []
    count = math.ceil(len(items) / 5)
    size, extra = divmod(len(items), count)
    groups, start = [], 0
    for g in range(count):
        end = start + size + (1 if g < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


def _keyword_sentence(group: list[str], template: int) -> str:
    if template == 0:
        return _upper_first(", and ".join(f"the {w}" for w in group)) + " is the answer."
    if template == 1:
        head = " and ".join(f"the {w}" for w in group[:-1]) if len(group) > 1 else ""
        return f"It is about {head} with the {group[-1]}." if head else f"It is about the {group[-1]}."
    listed = ", ".join(group[:-1]) + f" and {group[-1]}" if len(group) > 1 else group[0]
    return _upper_first(listed) + " are what matters here."


def keyword_prose(question: Question) -> list[Attack]:
    """The rubric's keywords strung together with function words, 3-5 per sentence, templates rotating."""
    keywords = keyword_phrases(question)
    if not keywords:
        return []
    offset = _stable(question.id) % 3
    sentences = [_keyword_sentence(g, (offset + k) % 3) for k, g in enumerate(_groups(keywords))]
    return [(" ".join(sentences), f"{len(keywords)} keywords")]


def restated(question: Question) -> list[Attack]:
    """The question itself, and a declarative restatement of it."""
    text = " ".join(question.text.split())
    body = re.sub(r"\?\s+(?=\S)", "; ", text).rstrip(" ?")
    return [(text, "the question verbatim"), (f"The question is about {_lower_first(body)}.", "the question restated")]


def off_topic(question: Question, pool: Sequence[Question]) -> list[Attack]:
    """The model answer of a question from the next topic alphabetically (fluent, technical, off-topic)."""
    by_topic: dict[str, list[Question]] = {}
    for other in pool:
        if other.model_answer:
            by_topic.setdefault(other.topic, []).append(other)
    topics = sorted(t for t in by_topic if t != question.topic)
    if not topics:
        return []
    after = [t for t in topics if t > question.topic]
    topic = after[0] if after else topics[0]
    candidates = sorted(by_topic[topic], key=lambda q: q.id)
    chosen = candidates[_stable(question.id) % len(candidates)]
    return [(" ".join(_model_sentences(chosen)), f"model answer of {chosen.id}")]


ATTACKS: dict[str, Callable[[Question], list[Attack]]] = {
    "whole_negation": whole_negation,
    "single_negation": single_negation,
    "myth_framing": myth_framing,
    "role_swap": role_swap,
    "direction_flip": direction_flip,
    "keyword_prose": keyword_prose,
    "restated": restated,
}
"""The attack classes that need only the question (``off_topic`` also needs the bank)."""


def generate(question: Question, pool: Sequence[Question] = ()) -> dict[str, list[Attack]]:
    """Every attack class for one question."""
    out = {name: fn(question) for name, fn in ATTACKS.items()}
    out["off_topic"] = off_topic(question, pool) if pool else []
    return out


# ---------------------------------------------------------------------------------------------
# Hand-written answers (bench/data, written by people)
# ---------------------------------------------------------------------------------------------


def hand_written(path: str | Path = DATA_DIR) -> dict[str, object]:
    """Load ``fluent_wrong.yaml`` and ``paraphrases.yaml`` from ``path`` (a folder, or either file's
    folder). Returns ``{"fluent_wrong": [...], "paraphrases": [...], "messages": [...]}``; a missing
    or malformed file gives an empty list and a message saying why, never an exception."""
    import yaml

    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    out: dict[str, object] = {"fluent_wrong": [], "paraphrases": [], "messages": []}
    messages: list[str] = out["messages"]  # type: ignore[assignment]
    wanted = {"fluent_wrong": ("answer", "wrong"), "paraphrases": ("answer", "covers")}
    for name, extra in wanted.items():
        file = folder / f"{name}.yaml"
        if not file.exists():
            messages.append(f"{file}: not found, its hand-written answers are skipped")
            continue
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            messages.append(f"{file}: unreadable ({exc.__class__.__name__}: {exc}), skipped")
            continue
        rows = data.get("answers") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            messages.append(f"{file}: no 'answers' list, skipped")
            continue
        kept = []
        for n, row in enumerate(rows):
            if not isinstance(row, dict) or not row.get("question") or not row.get("answer"):
                messages.append(f"{file}: answers[{n}] lacks 'question' or 'answer', skipped")
                continue
            if name == "paraphrases":
                covers = row.get("covers") or []
                row = {**row, "covers": [covers] if isinstance(covers, str) else list(covers)}
            kept.append(row)
        out[name] = kept
    return out
