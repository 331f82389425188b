"""Questions from a candidate's own notes, with no LLM.

Each section of the ingested notes (a heading and its text) with at least ``MIN_SENTENCES``
full sentences becomes one question, "Explain <heading>", whose rubric points are the section's
most central sentences: those closest in meaning to the section as a whole. Keywords are the
sentence's rarest content words across the notes; a point's follow-up and hint name its most
characteristic phrase ("the learning rate"), as an interviewer would. Sections too short to ask
about are returned with the reason, so the candidate is told which were left out. These
questions are marked ``generated`` everywhere they are shown.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from interviewer.domain import Question, RubricPoint
from interviewer.embedder import Embedder, shared_embedder
from interviewer.knowledge.index import KnowledgeBase, _body
from interviewer.text import STOP_WORDS, clean, split_sentences, words

MIN_SENTENCES = 2  # one sentence is one point: nothing to weigh, no follow-up to ask
MIN_WORDS, MAX_WORDS = 6, 60  # shorter is a label or a fragment; longer is a run-on paragraph
MAX_POINTS = 5
NOTES_TOPIC = "notes"


@dataclass
class _Section:
    source: str
    heading: str
    heading_path: str
    sentences: list[str]


@dataclass(frozen=True)
class SkippedSection:
    """A section of the notes no question was built from, and why (shown to the candidate)."""

    source: str
    heading: str
    sentences: int

    @property
    def label(self) -> str:
        return f"{self.source} > {self.heading}"


@dataclass
class NotesQuestions:
    """What the notes gave: one question per usable section, and the sections left out."""

    questions: list[Question]
    skipped: list[SkippedSection]

    @property
    def sections(self) -> int:
        return len(self.questions) + len(self.skipped)


def _plain(text: str) -> str:
    """Markdown to prose: drop headings, code blocks, tables, emphasis marks and link targets."""
    kept, in_code = [], False
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code or stripped.startswith(("#", "|", "<!--")):
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return re.sub(r"[*_`]{1,3}", "", text)


def _usable(sentence: str) -> bool:
    """A full statement worth a rubric point: long enough to say something, with content words.

    A bullet without a closing full stop counts (notes are often lists); a label such as
    "Pros and cons" does not.
    """
    n = len(sentence.split())
    content = [w for w in words(sentence) if w not in STOP_WORDS and len(w) > 2]
    return MIN_WORDS <= n <= MAX_WORDS and len(content) >= 3 and not sentence.rstrip().endswith(":")


def _sections(kb: KnowledgeBase) -> list[_Section]:
    everything = kb.collection.get(include=["documents", "metadatas"])
    grouped: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    for document, meta in zip(everything["documents"], everything["metadatas"]):
        grouped[(meta["source"], meta["heading_path"])].append((int(meta["position"]), meta["heading"], _body(document)))
    sections = []
    for (source, heading_path), parts in sorted(grouped.items(), key=lambda kv: (kv[0][0], min(p[0] for p in kv[1]))):
        parts.sort()
        seen: set[str] = set()
        sentences = []
        for _, _, body in parts:
            for sentence in split_sentences(_plain(body)):
                if _usable(sentence) and sentence not in seen:
                    seen.add(sentence)
                    sentences.append(sentence)
        sections.append(_Section(source, parts[0][1], heading_path, sentences))
    return sections


GENERIC = frozenset(
    """above across after along already although among another around away back became become
    becomes before behind being below beside besides better between beyond called cannot case
    cases come comes common compared different does done down during each easy either enough
    even every example examples first follow following form gets give given gives goes going good
    great half hard high however huge idea ideas instead into itself keep kind large later least
    less like likely long look made main make makes many mean means might more most much must
    near need needs never next often once only order other others over part parts per perhaps
    place point points possible quite rather really right same says second seen several shows
    side simple since small some something sometimes stands still such sure take takes than that
    their them then there these they thing things third this those though three through thus
    together took toward treats turn turns under unless until upon usually very want well went
    what when whether which while whole whose will with within without work works would years""".split()
)


def _keywords(sentence: str, weight: dict[str, float], skip: set[str], n: int = 3) -> list[str]:
    """The sentence's most characteristic words: frequent in its section, rare across the notes.

    Words of the heading are skipped: every answer to "Explain <heading>" contains them.
    """
    candidates = [
        w for w in dict.fromkeys(words(sentence))
        if w not in STOP_WORDS and w not in GENERIC and w not in skip and len(w) > 3 and not w.isdigit()
    ]
    return sorted(candidates, key=lambda w: -weight.get(w, 0.0))[:n]


def _cue(word: str) -> str:
    """A cue of up to 7 characters matches as a prefix: "normalis" also finds "normalisation"."""
    return word[:7] if len(word) > 8 else word


# Common verbs that sit between content words ("chunks that are too small lose context"): a run
# holding one is a clause, not a term.
VERBS = frozenset(
    """accept add adjust affect allow apply assign avoid become begin blur break bring build call
    capture carry cause change check choose combine compare compute connect contain control
    convert cost count cover create cut decide decrease define depend describe detect determine
    dilute divide drop encode estimate exceed exist expect explain express extract fail feed fill
    find fit focus follow force gather generate get give grow handle happen help hide hold
    identify ignore improve include increase indicate introduce involve keep know lead learn leave
    let limit link lose lower make map match measure meet miss move need offer occur pass pay pick
    place play predict prefer prevent produce protect provide push put raise reach read reduce
    refer reflect remain remove repeat replace represent reproduce require rest return reveal run
    save scale see seem select send serve set share show shrink skip solve speed split spread
    start stay stop store suffer suggest support take tell tend test treat try turn understand
    update use vary want watch win work write yield""".split()
)
VERB_FORMS = frozenset(
    form for verb in VERBS
    for form in (verb, verb + "s", verb + "es", verb + "d", verb + "ed", verb.rstrip("e") + "ing", verb[:-1] + "ies")
) | set(
    """written given taken done made seen known shown drawn chosen grown thrown broken hidden driven
    including automate automates hit hits whatever whichever anything everything something nothing
    outside inside beyond""".split()
)


_EDGE = ".,;:!?()[]\"'"


def _terms(text: str) -> list[tuple[str, bool]]:
    """(token, ends a phrase) per whitespace token: lower-cased, hyphens kept ("cross-validation").

    Punctuation after a token ("finance, fraud") or a parenthesis opening after it
    ("intelligence (AGI)") stops a term from running on to the next token.
    """
    raws = [raw for raw in clean(text).split() if raw.strip(_EDGE)]
    tokens = []
    for raw, after in zip(raws, raws[1:] + [""]):
        ends = raw.rstrip("\"')]")[-1:] in ".,;:!?" or raw.endswith(")") or after.startswith("(")
        tokens.append((raw.strip(_EDGE).lower(), ends))
    return tokens


def _is_term_word(token: str) -> bool:
    return (
        len(token) >= 3 and not token.isdigit() and "'" not in token and "\u2019" not in token
        and token not in STOP_WORDS and token not in GENERIC and token not in VERB_FORMS
        and re.fullmatch(r"[a-z][a-z0-9-]*", token) is not None
    )


def _phrases(sentence: str, weight: dict[str, float], heading: set[str], heading_title: str = "") -> list[str]:
    """The sentence's characteristic two-word terms ("learning rate"), best first.

    A pair is two adjacent content words. Passed over: a pair that restates the heading, and a
    subject followed by its verb at the start of the sentence ("keyword search finds").
    """
    marked = _terms(sentence)
    tokens = [t for t, _ in marked]
    core = {w for w in words(heading_title) if w not in STOP_WORDS}
    scored: dict[str, float] = {}
    for i in range(len(tokens) - 1):
        pair = tokens[i : i + 2]
        inside = set(words(" ".join(pair)))
        if not all(_is_term_word(t) for t in pair) or marked[i][1] or inside <= heading or (core and core <= inside):
            continue
        first, last = pair
        if _plural(first) or first.endswith("ly") or last.endswith(_NOT_A_HEAD) or (last.endswith("ed") and len(last) > 5):
            continue  # "engineers debugging", "truly positive", "boundary retrievable": not a term
        if i + 2 < len(tokens) and not marked[i + 1][1] and _is_term_word(tokens[i + 2]):
            continue  # part of a longer run ("commercial expert systems", "search finds exact")
        opening = all(t in _ARTICLES or _is_term_word(t) for t in tokens[:i])
        if _plural(last) and opening and not first.endswith(("ed", "ing")):
            continue  # "A random forest averages ...": the subject and its verb
        value = sum(weight.get(w, 0.0) for w in inside) / len(inside)
        scored[" ".join(pair)] = max(value, scored.get(" ".join(pair), 0.0))
    return sorted(scored, key=lambda term: -scored[term])


_NOT_A_HEAD = ("able", "ible", "ous", "ful", "less", "ly", "ical", "ial", "ural")
_ARTICLES = frozenset({"a", "an", "the", "each", "every", "any"})


def _plural(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _the(term: str) -> str:
    """ "the learning rate" but "bootstrap samples": a plural reads without the article."""
    return term if _plural(term.split()[-1]) else f"the {term}"


def _prompts(sentence: str, keywords: list[str], weight: dict[str, float], heading: set[str], title: str) -> tuple[str, str]:
    """(follow-up, hint) for a point, worded as an interviewer would ask about what is missing.

    The follow-up comes right after the section's question, so it need not name the section.
    """
    terms = _phrases(sentence, weight, heading, title)
    if terms:
        hint = " and ".join(_the(t) for t in terms[:2])
        return f"What can you tell me about {_the(terms[0])}?", f"Think about {hint}."
    opening = " ".join(sentence.split()[:5]).rstrip(".,;:")
    cue = f' "{keywords[0]}"' if keywords else " the main definition in this section"
    return f'Your notes go on: "{opening}..." How would you finish that thought?', f"Think about{cue}."


QUESTION_WORDS = frozenset({"what", "why", "how", "when", "where", "which", "who"})


def _question_text(heading: str, sentences: Sequence[str] = ()) -> str:
    """"Explain <heading> ..." with the heading read as a phrase: "Gradient descent" becomes
    "gradient descent", and a one-word heading too when the notes write it in lower case
    ("Chunking", "Cross-validation"), but not a name ("Adam") or an acronym ("BM25")."""
    if heading.endswith("?"):
        return heading
    first, _, rest = heading.partition(" ")
    if rest and first[1:].islower() and rest == rest.lower():  # "Gradient descent" reads as a phrase
        heading = first.lower() + " " + rest
    elif not rest and first[1:].islower() and re.search(rf"(?<![\w-]){re.escape(first.lower())}(?![\w-])", " ".join(sentences)):
        heading = first.lower()
    if first.lower() in QUESTION_WORDS:
        return f"Explain {first.lower()} {rest}, as you would to an interviewer."
    return f"Explain {heading} in your own words, as you would to an interviewer."


def notes_questions(kb: KnowledgeBase, embedder: Embedder | None = None) -> NotesQuestions:
    """One question per section with at least ``MIN_SENTENCES`` usable sentences, and the rest named."""
    embedder = embedder or shared_embedder()
    everything = _sections(kb)
    sections = [s for s in everything if len(s.sentences) >= MIN_SENTENCES]
    skipped = [SkippedSection(s.source, s.heading, len(s.sentences)) for s in everything if len(s.sentences) < MIN_SENTENCES]
    document_frequency: Counter[str] = Counter()
    for section in sections:
        document_frequency.update({w for sentence in section.sentences for w in words(sentence)})
    idf = {w: math.log((1 + len(sections)) / (1 + df)) + 1 for w, df in document_frequency.items()}
    questions = []
    for section in sections:
        term_counts = Counter(w for sentence in section.sentences for w in words(sentence))
        weight = {w: (1 + math.log(c)) * idf.get(w, 1.0) for w, c in term_counts.items()}
        heading_words = {w for w in words(section.heading)} | {w.rstrip("s") for w in words(section.heading)}
        heading_words |= {w + "s" for w in heading_words}
        vectors = embedder.encode(section.sentences)
        centroid = vectors.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        centrality = vectors @ centroid
        count = min(MAX_POINTS, len(section.sentences), max(3, len(section.sentences) // 2))
        chosen = sorted(np.argsort(-centrality)[:count].tolist())
        most_central = set(np.argsort(-centrality)[:2].tolist())
        points = []
        for n, index in enumerate(chosen, start=1):
            sentence = section.sentences[index]
            keywords = _keywords(sentence, weight, heading_words)
            follow_up, hint = _prompts(sentence, keywords, weight, heading_words, section.heading)
            points.append(
                RubricPoint(
                    id=f"k{n}",
                    text=sentence,
                    weight=2.0 if index in most_central and count > 2 else 1.0,
                    keywords=[_cue(k) for k in keywords],
                    follow_up=follow_up,
                    hint=hint,
                    cite=f"{section.source} > {section.heading}",
                )
            )
        text = _question_text(section.heading.strip(), section.sentences)
        digest = hashlib.sha1(f"{section.source}\n{section.heading_path}".encode()).hexdigest()[:10]
        questions.append(
            Question(
                id=f"gen-{digest}",
                text=text,
                difficulty=2,
                kind="concept",
                tags=["generated", section.source],
                points=points,
                model_answer=" ".join(section.sentences[i] for i in chosen),
                topic=NOTES_TOPIC,
                generated=True,
            )
        )
    return NotesQuestions(questions, skipped)


def generate_questions(kb: KnowledgeBase, embedder: Embedder | None = None) -> list[Question]:
    """The questions alone (see ``notes_questions`` for the sections left out)."""
    return notes_questions(kb, embedder).questions
