"""Checking that a model's evidence is really in the candidate's answer.

A grade is only as good as its evidence. A quote that the answer does not contain (a paraphrase,
an invented sentence, or verdicts injected by the candidate) earns nothing: the verdict drops to
"missed" and the transcript says why. Matching is on normalised text, so punctuation, case,
curly quotes and line breaks do not matter, and "..." may join two passages quoted in order.
"""

from __future__ import annotations

import base64
import binascii
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


# Text that speaks to the grader instead of answering: never evidence for a point. English
# patterns run on a "skeleton" of the text (accents, invisible and bidi characters dropped,
# look-alike Cyrillic/Greek letters read as Latin), so disguised letters do not hide an order.
# Weak signals: ordinary answers about prompts and evaluation can say these too ("ignore the
# noise", "raters score every answer"), so they condemn one sentence, never its paragraph.
_MAYBE_AT_GRADER = re.compile(
    "|".join(
        [
            r"\b(ignore|disregard|forget|override)\s+((all|any|the|your|previous|prior|above|earlier)\s+)*"
            r"(instructions?|rubric|prompt|rules|guidelines)\b",
            r"\b(mark|grade|score|rate|set|label)\s+(this|my|the|all|every|each)\s+(answer|response|points?|verdicts?|rubric)\b",
            r"\b(ignore|override|reveal|print)\s+(the|your)\s+system\s+prompt\b",
        ]
    ),
    re.IGNORECASE,
)
# Strong signals: nobody writes these to answer a technical question.
_DIRECTED_AT_GRADER = re.compile(
    "|".join(
        [
            r"\b(this|my)\s+(answer|response)\s+(deserves|earns|merits|should (get|receive|score))\b",
            r"\b(give|award|assign)\s+(me|this|it)\b.{0,25}(\d+\s*/\s*10|full marks|perfect|maximum|top (score|marks))",
            r"\b(all|every)\s+(rubric\s+)?points?\s+(are\s+|is\s+|as\s+)?(covered|correct)\b",
            r"\"(verdict|point_id|evidence|score|points)\"\s*:",
            r"</?\s*(system|assistant|user|candidate_answer|rubric|instructions?)\s*>",
            r"\b(you are now|as the grader|dear grader|note to (the )?grader|new instructions:|developer mode)",
            r"\b(mark|grade|score|rate|set|label)\s+(all|every|each)\s+(the\s+)?(points?|verdicts?)\b",
            # added with the hostile-input campaign (interviewer/reliability/hostile.py)
            r"\b(full|maximum|perfect|top)\s+(credit|marks|score)\b",
            r"\b(score|grade|rating)\s*[:=]\s*\d+(\.\d+)?\s*/\s*\d+",
            r"\b(verdicts?|status)\s*[:=]\s*(all\s+)?(points?\s+)?(covered|partial|met|passed|correct)\b",
            r"\|\s*(covered|partial|missed)\s*\|",
            r"\b(all|every|each)\s+(of\s+the\s+)?(rubric\s+)?points?\b.{0,40}\b(covered|met|satisfied)\b",
            r"\brubric\b.{0,40}\b(revised|updated|supersedes|replaces|v\d)\b|\b(revised|updated|new)\s+rubric\b",
            r"\b(you are|you're)\s+(now\s+)?(a|an|my)?\s*\w*\s*(grader|examiner|marker|grade ?bot)\b",
            r"\bpretend\s+(you are|you're|to be)\b|\blet'?s play a game\b",
            r"\b(grader|examiner|marker)\s*[:,]",
            r"(?:^|\n)\W*(system|developer|assistant|admin)(\s+message)?\s*[\]:]",
            r"(?:^|\n)\s*(grade these points|follow-up allowed)\s*:",
            r"\bdeveloper\s+message\b|\bdecode\s+(this|the following)\b",
            r"\b(answer|response)s?\b.{0,30}\bcomplete and correct\b",
            r"</?\s*(answer|input|prompt|developer)\s*>",
            r"<!--|\bstyle\s*=\s*[\"'][^\"']*(color\s*:\s*(#fff\b|#ffffff|white)|font-size\s*:\s*[01]px|display\s*:\s*none)",
            r"\"(analysis|utterance|follow_up_point|misconceptions)\"\s*:",
        ]
    ),
    re.IGNORECASE,
)
# The same orders in other languages (run on the text with accents dropped, letters as written).
_DIRECTED_ELSEWHERE = re.compile(
    "|".join(
        [
            r"\bignore[zr]?\b.{0,40}\binstructions?\b|\b(notez|marquez)\b.{0,40}\bpoints?\b",  # French
            r"\bignora[r]?\b.{0,40}\b(instrucciones|istruzioni)\b|\bmarca\b.{0,40}\bpuntos?\b",  # Spanish, Italian
            r"\bignorier\w*\b.{0,40}\banweisungen\b|\bbewerte\w*\b.{0,40}\bpunkt",  # German
            r"\bignore\b.{0,40}\binstrucoes\b",  # Portuguese
            r"忽略.{0,12}(指令|指示|说明)|(评分点|得分点).{0,12}(覆盖|满分)|满分|無視.{0,12}指示",  # Chinese, Japanese
            r"игнорир\w*|(предыдущ\w*|прежн\w*)\s+(инструкц|указан)\w*|отмет\w*.{0,40}пункт",  # Russian
        ]
    ),
    re.IGNORECASE,
)
_LOOKALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04cf\u0501\u051b\u051d"
    "\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03bf\u03b1\u03b9",
    "aeopcyxijsldqw" "ABEHIKMNOPTXoai",
)
_HIDING = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"
                                 "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), None)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _plain(text: str) -> str:
    """Accents, combining marks and invisible or direction-changing characters removed."""
    text = unicodedata.normalize("NFKC", text).translate(_HIDING)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", text)


def _decoded(text: str) -> list[str]:
    """Readable text hidden as base64 inside ``text``."""
    found = []
    for blob in _BASE64.findall(text):
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        if decoded.isprintable() and re.search(r"[a-zA-Z]{3,}\s+[a-zA-Z]{3,}", decoded):
            found.append(decoded)
    return found


def _forms(text: str) -> tuple[str, list[str]]:
    """The text as written (accents dropped) and the disguised forms it may hide an order in."""
    plain = _plain(text)
    latin = plain.translate(_LOOKALIKES)
    hidden = [latin, *_decoded(plain)]
    if any(ch in text for ch in "\u202e\u202b\u2067"):  # stored reversed to display right-to-left
        hidden.append(latin[::-1])
    return plain, hidden


def _signal(text: str) -> int:
    """0: an answer; 1: may be talking to the grader (weak); 2: certainly is (strong).

    An order found only once look-alike letters, hidden characters or base64 are undone is
    strong whatever it says: nobody disguises an answer.
    """
    plain, hidden = _forms(text)
    if _DIRECTED_AT_GRADER.search(plain) or _DIRECTED_ELSEWHERE.search(plain):
        return 2
    if any(_DIRECTED_AT_GRADER.search(f) or _MAYBE_AT_GRADER.search(f) for f in hidden if f != plain):
        return 2
    return 1 if _MAYBE_AT_GRADER.search(plain) else 0


def _pieces(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?])\s+|\n+", text) if p.strip()]


def grader_directed(answer: str) -> list[str]:
    """Normalised sentences (or lines) of the answer that address the grader."""
    return [normalise(p) for p in _pieces(answer) if _signal(p)]


_DATA_LINE = re.compile(r"^\s*([-*|{}\[\]<>#`\"]|[\w -]{1,30}:)")


def _looks_like_data(paragraph: str) -> bool:
    """Markup, JSON, a table or key: value lines rather than prose."""
    lines = [line for line in paragraph.splitlines() if line.strip()]
    return "```" in paragraph or sum(bool(_DATA_LINE.match(line)) for line in lines) * 2 >= len(lines) > 1 or (
        paragraph.lstrip()[:1] in ("{", "<", "[")
    )


def hostile_passages(answer: str) -> list[str]:
    """Normalised parts of the answer that must never be evidence.

    An injection that is most of its paragraph, or a paragraph of markup or data (a fake rubric's
    rows, a JSON verdict, fake chat turns) with a strong signal, goes whole: its other lines are
    part of it. Otherwise only the sentences that give themselves away go, so a real answer
    with a line of self-praise tacked on keeps the credit of its real content.
    """
    hostile: list[str] = []
    for paragraph in _PARAGRAPH.split(answer):
        signals = {p: _signal(p) for p in _pieces(paragraph)}
        strong = 2 in signals.values() or (paragraph.strip() and _signal(paragraph) == 2)
        flagged = sum(1 for signal in signals.values() if signal)
        if strong and (flagged * 2 >= len(signals) or _looks_like_data(paragraph)):
            hostile.append(normalise(paragraph))
        else:
            hostile.extend(normalise(p) for p, signal in signals.items() if signal)
    return hostile


def _quotes_injection(quote: str, hostile: list[str]) -> bool:
    pieces = [normalise(p) for p in _ELLIPSIS.split(quote) if p.strip()]
    return any(piece in passage or passage in piece for piece in pieces for passage in hostile)


def check_verdicts(verdicts: list[PointVerdict], answer: str) -> tuple[list[PointVerdict], list[str]]:
    """Downgrade every credited verdict whose quote is not in ``answer``; notes say which."""
    normalised_answer = normalise(answer)
    hostile = hostile_passages(answer)
    checked: list[PointVerdict] = []
    notes: list[str] = []
    for verdict in verdicts:
        if verdict.verdict == Verdict.missed:
            checked.append(verdict.model_copy(update={"evidence": None}))
            continue
        found = quote_in(verdict.evidence, normalised_answer)
        if found and not _quotes_injection(verdict.evidence or "", hostile):
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
