"""Questions from a candidate's own notes, with no LLM.

Each section of the ingested notes (a heading and its text) becomes one question, "Explain
<heading>", whose rubric points are the section's most central sentences: those closest in
meaning to the section as a whole. Keywords are the sentence's rarest content words across the
notes. These questions are marked ``generated`` everywhere they are shown.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from interviewer.domain import Question, RubricPoint
from interviewer.embedder import Embedder, shared_embedder
from interviewer.knowledge.index import KnowledgeBase, _body
from interviewer.text import STOP_WORDS, split_sentences, words

MIN_SENTENCES = 3
MAX_POINTS = 5
NOTES_TOPIC = "notes"


@dataclass
class _Section:
    source: str
    heading: str
    heading_path: str
    sentences: list[str]


def _plain(text: str) -> str:
    """Markdown to prose: drop heading lines, emphasis marks, code fences and link targets."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#") and not line.startswith("```")]
    text = "\n".join(lines)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return re.sub(r"[*_`]{1,3}", "", text)


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
                n = len(sentence.split())
                if 6 <= n <= 60 and sentence not in seen and sentence[-1:] in ".!?)\"'":
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


def _question_text(heading: str) -> str:
    if heading.endswith("?"):
        return heading
    first, _, rest = heading.partition(" ")
    if rest and first[1:].islower() and rest == rest.lower():  # "Gradient descent" reads as a phrase
        heading = first.lower() + " " + rest
    if first.lower() in {"what", "why", "how", "when", "where", "which", "who"}:
        return f"Explain {first.lower()} {rest}, as you would to an interviewer."
    return f"Explain {heading} in your own words, as you would to an interviewer."


def generate_questions(kb: KnowledgeBase, embedder: Embedder | None = None) -> list[Question]:
    """One generated question per section with at least three usable sentences."""
    embedder = embedder or shared_embedder()
    sections = [s for s in _sections(kb) if len(s.sentences) >= MIN_SENTENCES]
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
        count = min(MAX_POINTS, max(MIN_SENTENCES, len(section.sentences) // 2))
        chosen = sorted(np.argsort(-centrality)[:count].tolist())
        most_central = set(np.argsort(-centrality)[:2].tolist())
        points = []
        for n, index in enumerate(chosen, start=1):
            sentence = section.sentences[index]
            keywords = _keywords(sentence, weight, heading_words)
            topic_words = " and ".join(keywords[:2]) or "this part of your notes"
            points.append(
                RubricPoint(
                    id=f"k{n}",
                    text=sentence,
                    weight=2.0 if index in most_central else 1.0,
                    keywords=[_cue(k) for k in keywords],
                    follow_up=f"Your notes also cover {topic_words}. What can you tell me about that?",
                    hint=f"Think about {keywords[0] if keywords else 'the main definition in this section'}.",
                    cite=f"{section.source} > {section.heading}",
                )
            )
        text = _question_text(section.heading.strip())
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
    return questions
