"""The grading agreement benchmark: how well does a grader agree with human grades?

A benchmark set is a list of ``Row``s (question, reference answer, candidate answer, human score),
read from a CSV (``read_rows``), converted from SemEval-2013 Task 7 (``semeval_rows``) or taken
from the rubric bank's graded examples (``bank_rows``). ``grade_rows`` grades every row with an
engine in "grade against a reference answer" mode and ``agreement`` measures the grades against
the human scores.

Scores of the grader are 0-10; human scores are on the data's own scale (0/1 for SemEval 2-way,
0-10 for the bank). Figures that need the two on one scale use a map from raw scores to the
data's scale fitted *leave one question out* (LOQO): each question's rows are mapped by a map
fitted on all the other questions' rows, so no figure is fitted on the rows it scores. The
same holds for the accept threshold behind accuracy and macro-F1 on 0/1 labels. (A caveat for
reading the figures: LOQO maps differ slightly from question to question, so a grader with few
distinct scores has its ties broken by question, against that question's base rate; rank figures
after a map, Spearman above all, then understate it. The "raw" figures have no such effect.)

Beside Pearson r, macro-F1 and ROC AUC the report gives a 90% interval over resamples of the
questions (``agreement_stats.question_interval``): answers to one question are not independent,
so the number of questions, not of rows, sets how far a figure can be trusted.

Every set also has a stable held-out subset of questions (``split_of`` by question id, 30%) so
that a grader fitted later on the other questions can report on questions it never saw.

Only numpy is used for the statistics (ranks, isotonic regression, kappa, AUC), on purpose: the
package does not depend on scipy directly.

One module although long: reading the data sets, grading and the agreement report share the
Row and Graded records and the held-out split; the statistics themselves are in agreement_stats.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import math
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interviewer.domain import Question

from harness.agreement_stats import (
    RAW_MAX,
    loqo_isotonic,
    loqo_linear,
    loqo_threshold,
    macro_f1,
    pearson,
    question_interval,
    qwk,
    rmse,
    roc_auc,
    spearman,
    within_question_pearson,
)
from harness.grading_eval import split_of

COLUMNS = ("question_id", "question", "reference_answer", "answer", "score")
LLM_CONCURRENCY = 8
AHEAD_ROWS = 48  # rows whose answers the offline grader embeds together before grading them
TARGET_PEARSON = 0.60  # on 0-5 / 0-10 graded sets
TARGET_MACRO_F1 = 0.70  # on 2-way labels of questions the grader never saw
# Where the SemEval-2013 training zip lies inside the ../shared folder beside a checkout.
SEMEVAL_IN_SHARED = Path("data", "semeval-2013", "semeval-2013-3way-training.zip")
SEMEVAL_LABELS = {
    "2way": {"correct": 1.0, "incorrect": 0.0},
    # 3-way, as an ordinal scale: "incorrect" there is the merged partially-correct / irrelevant /
    # non-domain bucket, which sits between a correct answer and one contradicting the reference.
    "3way": {"correct": 2.0, "incorrect": 1.0, "contradictory": 0.0},
}
_CSV_FIELD_LIMIT = 16 * 1024 * 1024
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class BenchDataError(ValueError):
    """A benchmark file that cannot be used; the message names the file and the line."""


# --- rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One human-graded answer. ``extra`` keeps the other columns (label, corpus, answer id ...)."""

    question_id: str
    question: str
    reference_answer: str
    answer: str
    score: float
    extra: tuple[tuple[str, str], ...] = ()
    line: int | None = None

    @property
    def split(self) -> str:
        """'holdout' (30% of questions, stable by question id) or 'fit'."""
        return split_of(self.question_id)

    def get(self, name: str, default: str = "") -> str:
        return dict(self.extra).get(name, default)


def read_rows(path: str | Path) -> list[Row]:
    """Rows of a UTF-8 CSV with the columns ``question_id,question,reference_answer,answer,score``.

    Other columns are kept in ``Row.extra``. Raises BenchDataError naming the line of a missing
    column, an empty question id or reference answer, a score that is not a non-negative number,
    or a question id whose question or reference answer differs from its first row's.
    """
    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    rows: list[Row] = []
    first_seen: dict[str, tuple[int, str, str]] = {}
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise BenchDataError(f"{path}: no such file") from None
    except OSError as exc:
        raise BenchDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    line = 1
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise BenchDataError(f"{path}: the file is empty (expected a header: {','.join(COLUMNS)})")
            header = [h.strip() for h in header]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise BenchDataError(
                    f"{path}:1: missing column(s) {', '.join(missing)} (the header has: {', '.join(header) or 'nothing'})"
                )
            index = {name: header.index(name) for name in COLUMNS}
            others = [(i, name) for i, name in enumerate(header) if name not in COLUMNS and name]
            line = reader.line_num + 1
            for record in reader:
                start, line = line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue  # a blank line
                if len(record) <= max(index.values()):
                    raise BenchDataError(f"{path}:{start}: {len(record)} field(s), the header has {len(header)}")
                rows.append(_row(path, start, record, index, others, first_seen))
        except UnicodeDecodeError as exc:
            raise BenchDataError(f"{path}: near line {line}: not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            raise BenchDataError(f"{path}:{line}: not valid CSV ({exc})") from None
    return rows


def _row(
    path: Path, line: int, record: list[str], index: dict[str, int], others: list[tuple[int, str]],
    first_seen: dict[str, tuple[int, str, str]],
) -> Row:
    values = {name: record[i] for name, i in index.items()}
    question_id = values["question_id"].strip()
    if not question_id:
        raise BenchDataError(f"{path}:{line}: empty question_id")
    reference = values["reference_answer"].strip()
    if not reference:
        raise BenchDataError(f"{path}:{line}: empty reference_answer for question {question_id!r}")
    raw_score = values["score"].strip()
    try:
        score = float(raw_score)
    except ValueError:
        raise BenchDataError(f"{path}:{line}: score {raw_score!r} is not a number") from None
    if not math.isfinite(score) or score < 0:
        raise BenchDataError(f"{path}:{line}: score {raw_score!r} must be a number >= 0")
    question = values["question"].strip()
    seen = first_seen.setdefault(question_id, (line, question, reference))
    if (seen[1], seen[2]) != (question, reference):
        what = "question" if seen[1] != question else "reference_answer"
        raise BenchDataError(f"{path}:{line}: question {question_id!r} has a different {what} than on line {seen[0]}")
    extra = tuple((name, record[i]) for i, name in others if i < len(record))
    return Row(question_id, question, reference, values["answer"].strip(), score, extra, line)


def write_rows(rows: Iterable[Row], path: str | Path) -> int:
    """Write rows as a UTF-8 CSV (the five columns, then every extra column, then split)."""
    rows = list(rows)
    extras = list(dict.fromkeys(name for row in rows for name, _ in row.extra if name not in COLUMNS and name != "split"))
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, *extras, "split"])
        for row in rows:
            values = dict(row.extra)
            writer.writerow([row.question_id, row.question, row.reference_answer, row.answer, _number(row.score),
                             *(values.get(name, "") for name in extras), row.split])
    return len(rows)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def bank_rows(bank) -> list[Row]:
    """The rubric bank's graded examples as benchmark rows (human score 0-10).

    The reference answer of each row is its question's ``model_answer``, and ``grade_rows``
    grades these rows in "reference answer" mode (points from the model answer's sentences), not
    with the question's hand-written rubric: the same bench then runs on the bank and on
    SemEval. Questions without a model answer are skipped. ``extra`` holds the example's label.
    """
    rows = []
    for question in sorted(bank.questions.values(), key=lambda q: q.id):
        if not question.model_answer:
            continue
        reference = " ".join(question.model_answer.split())
        for example in question.examples:
            rows.append(Row(question.id, question.text, reference, example.answer, float(example.score),
                            (("label", example.label), ("topic", question.topic))))
    return rows


def semeval_rows(zip_path: str | Path, *, ways: str = "2way") -> list[Row]:
    """Rows from the SemEval-2013 Task 7 training zip (``training/<ways>/<corpus>/<question>.xml``).

    Scores: 2way: correct = 1, incorrect = 0. 3way (an ordinal reading of the labels): correct = 2,
    incorrect (partially correct, irrelevant or off-topic) = 1, contradictory = 0.
    Each row's question_id is ``<corpus>/<question id>``; its reference answer is the question's
    ``referenceAnswer`` of category BEST, else its first one. ``extra``: corpus, answer_id, accuracy.
    """
    if ways not in SEMEVAL_LABELS:
        raise BenchDataError(f"ways must be one of {', '.join(SEMEVAL_LABELS)}, not {ways!r}")
    labels = SEMEVAL_LABELS[ways]
    zip_path = Path(zip_path)
    pattern = re.compile(rf"(?:^|/)training/{ways}/([^/]+)/[^/]+\.xml$")
    try:
        archive = zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise BenchDataError(f"{zip_path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BenchDataError(f"{zip_path}: not a readable zip file ({exc})") from None
    rows: list[Row] = []
    with archive:
        names = sorted(n for n in archive.namelist() if pattern.search(n))
        if not names:
            raise BenchDataError(f"{zip_path}: no training/{ways}/<corpus>/*.xml files in the zip")
        for name in names:
            corpus = pattern.search(name).group(1)  # type: ignore[union-attr]
            rows.extend(_semeval_question(zip_path, name, corpus, archive.read(name), labels))
    return rows


def _semeval_question(zip_path: Path, name: str, corpus: str, data: bytes, labels: dict[str, float]) -> list[Row]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BenchDataError(f"{zip_path}:{name}: not valid XML ({exc})") from None
    question_id = (root.get("id") or "").strip() or Path(name).stem
    question = " ".join((root.findtext("questionText") or "").split())
    references = root.findall("referenceAnswers/referenceAnswer")
    best = [r for r in references if (r.get("category") or "").upper() == "BEST"]
    chosen = (best or references or [None])[0]
    reference = " ".join((chosen.text or "").split()) if chosen is not None else ""
    if not reference:
        raise BenchDataError(f"{zip_path}:{name}: question {question_id} has no reference answer")
    rows = []
    for student in root.findall("studentAnswers/studentAnswer"):
        accuracy = (student.get("accuracy") or "").strip()
        if accuracy not in labels:
            raise BenchDataError(
                f"{zip_path}:{name}: answer {student.get('id')} has accuracy {accuracy!r}, expected one of {', '.join(labels)}"
            )
        rows.append(Row(f"{corpus}/{question_id}", question, reference, " ".join((student.text or "").split()),
                        labels[accuracy], (("corpus", corpus), ("answer_id", student.get("id") or ""), ("accuracy", accuracy))))
    return rows


def corpus_counts(rows: Iterable[Row]) -> dict[str, tuple[int, int]]:
    """(questions, rows) per corpus (the part of question_id before '/', else 'all')."""
    questions: dict[str, set[str]] = defaultdict(set)
    counts: Counter[str] = Counter()
    for row in rows:
        corpus = row.question_id.split("/", 1)[0] if "/" in row.question_id else "all"
        questions[corpus].add(row.question_id)
        counts[corpus] += 1
    return {c: (len(questions[c]), counts[c]) for c in sorted(counts)}


def holdout(items: Iterable, split: str = "holdout") -> list:
    """The rows (or Graded) whose question falls in ``split`` ('holdout' or 'fit')."""
    return [item for item in items if _row_of(item).split == split]


def limit_questions(rows: Sequence[Row], n: int) -> list[Row]:
    """The rows of ``n`` questions picked by a stable hash of their ids (both splits appear)."""
    ids = sorted({r.question_id for r in rows}, key=lambda q: hashlib.sha256(f"pick:{q}".encode()).hexdigest())
    keep = set(ids[:n])
    return [r for r in rows if r.question_id in keep]


def _row_of(item) -> Row:
    return item.row if isinstance(item, Graded) else item


# --- grading -----------------------------------------------------------------------------


@dataclass
class Graded:
    """A row with the grader's raw 0-10 score of every repeat (``score`` is the first one)."""

    row: Row
    scores: list[float]
    engines: list[str] = field(default_factory=list)  # who graded each repeat ('offline' after a fallback)
    fallbacks: int = 0

    @property
    def score(self) -> float:
        return self.scores[0]

    @property
    def spread(self) -> float:
        return max(self.scores) - min(self.scores)


def question_id_slug(question_id: str) -> str:
    """A valid Question id for any row question id (kept as is when it already is one)."""
    if _SLUG.match(question_id) and len(question_id) <= 80:
        return question_id
    base = re.sub(r"[^a-z0-9_-]+", "-", question_id.lower()).strip("-_")[:60].strip("-_") or "q"
    digest = hashlib.sha1(question_id.encode()).hexdigest()[:8]
    return f"{base}-{digest}" if base[0].isalnum() else f"q-{digest}"


def reference_question(row: Row) -> Question:
    """The row's question in "grade against a reference answer" mode (no rubric points)."""
    return Question(
        id=question_id_slug(row.question_id),
        text=row.question or "(question text not given)",
        difficulty=2,
        reference_answer=row.reference_answer,
        tags=["benchmark"],
    )


def grade_rows(rows: Sequence[Row], engine, **options: Any) -> list[Graded]:
    """``grade_rows_async`` run to completion (not for use inside a running event loop)."""
    return asyncio.run(grade_rows_async(rows, engine, **options))


async def grade_rows_async(
    rows: Sequence[Row],
    engine,
    *,
    repeat: int = 1,
    progress: Callable[[int, int], None] | None = None,
    concurrency: int | None = None,
    questions: Mapping[str, Question] | None = None,
) -> list[Graded]:
    """Grade every row ``repeat`` times with ``engine.assess``; keeps every repeat's score.

    One reference-answer Question is built per question_id (or taken from ``questions``, to
    grade with a rubric instead; for the LLM engine strip the bank's ``examples`` from such
    questions first, or the example being graded is in its own few-shot prompt). Rows run
    ``concurrency`` at a time: 8 for the LLM engine, one after another otherwise (the offline
    grader is bound by one embedding model anyway). ``progress(done, total)`` is called after
    each assessment.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    if concurrency is None:
        concurrency = LLM_CONCURRENCY if getattr(engine, "name", "") == "llm" else 1
    cache: dict[str, Question] = dict(questions or {})
    for row in rows:
        if row.question_id not in cache:
            cache[row.question_id] = reference_question(row)
    results = [Graded(row, [math.nan] * repeat, [""] * repeat) for row in rows]
    jobs = [(i, k) for i in range(len(rows)) for k in range(repeat)]
    total, done = len(jobs), 0
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    ahead = getattr(engine, "texts_ahead", None)
    embedded_until = 0

    async def embed_ahead(i: int) -> None:
        """The offline grader: the next rows' answers embedded in shared batches (Embedder.embed_ahead)."""
        nonlocal embedded_until
        if ahead is None or i < embedded_until:
            return
        embedded_until = i + AHEAD_ROWS
        texts: list[str] = []
        token_texts: list[str] = []
        for row in rows[i:embedded_until]:
            more, more_tokens = ahead(cache[row.question_id], row.answer)
            texts += more
            token_texts += more_tokens
        await asyncio.to_thread(engine.embedder.embed_ahead, texts, token_texts)

    async def worker() -> None:
        nonlocal done
        while True:
            try:
                i, k = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await embed_ahead(i)
            row = rows[i]
            assessment = await engine.assess(cache[row.question_id], row.answer)
            results[i].scores[k] = float(assessment.score)
            results[i].engines[k] = assessment.engine
            results[i].fallbacks += assessment.fallback is not None
            done += 1
            if progress is not None:
                progress(done, total)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, total or 1)))))
    return results


def cosine_baseline(rows: Sequence[Row], embedder=None) -> list[Graded]:
    """A plain baseline: 10 x the cosine between the answer's and the reference's MiniLM vectors
    (clipped to 0-10), each text embedded whole."""
    from interviewer.embedder import shared_embedder

    embedder = embedder or shared_embedder()
    texts = list(dict.fromkeys([r.reference_answer for r in rows] + [r.answer or " " for r in rows]))
    vectors = embedder.encode(texts) if texts else np.zeros((0, 384), dtype=np.float32)
    where = {t: n for n, t in enumerate(texts)}
    graded = []
    for row in rows:
        cosine = float(vectors[where[row.reference_answer]] @ vectors[where[row.answer or " "]])
        graded.append(Graded(row, [round(RAW_MAX * min(1.0, max(0.0, cosine)), 3)], ["cosine"]))
    return graded


# --- the report ------------------------------------------------------------------------------


@dataclass
class MapScores:
    """Agreement of one mapping of the raw scores onto the data's scale."""

    name: str
    pearson: float
    spearman: float
    rmse: float
    qwk: float


@dataclass
class Spread:
    """How much repeated gradings of the same row differ (max - min of its raw 0-10 scores)."""

    repeats: int
    mean: float
    max: float
    share_with_spread: float


@dataclass
class Agreement:
    rows: int
    questions: int
    scale_max: float
    binary: bool
    maps: list[MapScores]
    within_pearson: float
    within_questions: int
    within_constant: int
    accuracy: float | None = None
    macro_f1: float | None = None
    roc_auc: float | None = None
    threshold: float | None = None  # median raw threshold chosen across questions
    positive_share: float | None = None
    spread: Spread | None = None
    fallbacks: int = 0
    # 90% intervals over resamples of the questions (``question_interval``); None when too few
    pearson_interval: tuple[float, float] | None = None  # of the linear LOQO Pearson r
    macro_f1_interval: tuple[float, float] | None = None
    roc_auc_interval: tuple[float, float] | None = None

    def map(self, name: str) -> MapScores:
        return next(m for m in self.maps if m.name == name)

    @property
    def pearson(self) -> float:
        """The headline r: after the LOQO linear map."""
        return self.map("linear").pearson


def infer_scale(scores: Iterable[float]) -> float:
    """The data's top score: the smallest of 1, 2, 3, 4, 5, 10, 100 at or above the largest score."""
    top = max(scores, default=1.0)
    for candidate in (1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 100.0):
        if top <= candidate:
            return candidate
    return float(math.ceil(top))


def spread_of(graded: Sequence[Graded]) -> Spread | None:
    repeats = min((len(g.scores) for g in graded), default=1)
    if repeats < 2:
        return None
    spreads = np.array([g.spread for g in graded])
    return Spread(repeats, float(spreads.mean()), float(spreads.max()), float((spreads > 1e-9).mean()))


def agreement(graded: Sequence[Graded], *, scale_max: float | None = None) -> Agreement:
    """Every agreement figure of graded rows against their human scores (see the module doc)."""
    if not graded:
        raise ValueError("no graded rows to measure")
    raw = np.array([g.score for g in graded])
    human = np.array([g.row.score for g in graded])
    groups = [g.row.question_id for g in graded]
    scale = float(scale_max) if scale_max is not None else infer_scale(human.tolist())
    if human.max() > scale + 1e-9:
        raise ValueError(f"a human score ({human.max():g}) is above the scale's top ({scale:g})")
    top = round(scale)
    binary = scale == 1.0 and bool(np.isin(human, (0.0, 1.0)).all())
    maps = []
    linear = loqo_linear(raw, human, groups, 0.0, scale)
    for name, mapped in (
        ("raw", raw * scale / RAW_MAX),
        ("linear", linear),
        ("isotonic", loqo_isotonic(raw, human, groups, 0.0, scale)),
    ):
        maps.append(MapScores(name, pearson(mapped, human), spearman(mapped, human), rmse(mapped, human),
                              qwk(mapped, human, 0, top)))
    within, used, constant = within_question_pearson(raw, human, groups)
    report = Agreement(len(graded), len(set(groups)), scale, binary, maps, within, used, constant,
                       spread=spread_of(graded), fallbacks=sum(g.fallbacks for g in graded),
                       pearson_interval=question_interval(lambda rows: pearson(linear[rows], human[rows]), groups))
    if binary:
        predicted, thresholds = loqo_threshold(raw, human, groups)
        report.accuracy = float((predicted == human).mean())
        report.macro_f1 = macro_f1(predicted, human)
        report.roc_auc = roc_auc(raw, human)
        report.macro_f1_interval = question_interval(lambda rows: macro_f1(predicted[rows], human[rows]), groups)
        report.roc_auc_interval = question_interval(lambda rows: roc_auc(raw[rows], human[rows]), groups)
        report.threshold = float(np.median(thresholds))
        report.positive_share = float(human.mean())
    return report


MAP_LABELS = {"raw": "raw x scale/10", "linear": "linear LOQO", "isotonic": "isotonic LOQO"}


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _fmt_interval(interval: tuple[float, float] | None) -> str:
    return "-" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}"


INTERVAL_LABEL = "  90% interval, resampling questions"


def report_lines(columns: Mapping[str, Agreement]) -> list[list[str]]:
    """Table rows ``[metric, value per column..., target]`` for printing several reports side by side."""
    reports = list(columns.values())
    graded_set = any(not r.binary for r in reports)
    binary_set = any(r.binary for r in reports)
    lines: list[list[str]] = [
        ["rows", *(str(r.rows) for r in reports), ""],
        ["questions", *(str(r.questions) for r in reports), ""],
        ["human scale", *(("0/1" if r.binary else f"0-{r.scale_max:g}") for r in reports), ""],
    ]
    for name in ("raw", "linear", "isotonic"):
        label = MAP_LABELS[name]
        target = f">= {TARGET_PEARSON:.2f} (0-5/0-10 sets)" if graded_set and name == "linear" else ""
        lines.append([f"Pearson r ({label})", *(_fmt(r.map(name).pearson) for r in reports), target])
        if name == "linear":
            lines.append([INTERVAL_LABEL, *(_fmt_interval(r.pearson_interval) for r in reports), ""])
        lines.append([f"Spearman rho ({label})", *(_fmt(r.map(name).spearman) for r in reports), ""])
        lines.append([f"RMSE ({label})", *(_fmt(r.map(name).rmse) for r in reports), ""])
        lines.append([f"QWK ({label})", *(_fmt(r.map(name).qwk) for r in reports), ""])
    lines.append(["mean within-question r", *(_fmt(r.within_pearson) for r in reports), ""])
    lines.append(["  questions (grader flat on)", *(f"{r.within_questions} ({r.within_constant})" for r in reports), ""])
    if binary_set:
        lines.append(["share labelled 1", *(_fmt(r.positive_share) for r in reports), ""])
        lines.append(["accuracy (LOQO threshold)", *(_fmt(r.accuracy) for r in reports), ""])
        lines.append(["macro-F1 (LOQO threshold)", *(_fmt(r.macro_f1) for r in reports),
                      f">= {TARGET_MACRO_F1:.2f} (unseen questions)"])
        lines.append([INTERVAL_LABEL, *(_fmt_interval(r.macro_f1_interval) for r in reports), ""])
        lines.append(["ROC AUC", *(_fmt(r.roc_auc) for r in reports), ""])
        lines.append([INTERVAL_LABEL, *(_fmt_interval(r.roc_auc_interval) for r in reports), ""])
        lines.append(["median threshold (raw 0-10)", *(_fmt(r.threshold, 2) for r in reports), ""])
    if any(r.spread for r in reports):
        lines.append(["repeats", *(str(r.spread.repeats) if r.spread else "1" for r in reports), ""])
        lines.append(["score spread, mean (raw 0-10)", *(_fmt(r.spread.mean if r.spread else None, 2) for r in reports), ""])
        lines.append(["score spread, max (raw 0-10)", *(_fmt(r.spread.max if r.spread else None, 2) for r in reports), ""])
        lines.append(["rows with any spread", *(_fmt(r.spread.share_with_spread if r.spread else None) for r in reports), ""])
    if any(r.fallbacks for r in reports):
        lines.append(["gradings by the offline fallback", *(str(r.fallbacks) for r in reports), ""])
    return lines


def target_checks(name: str, report: Agreement, *, unseen: bool) -> list[str]:
    """Plain sentences comparing a report with the product's targets."""
    checks = []
    if report.binary:
        if unseen and report.macro_f1 is not None:
            verdict = "met" if report.macro_f1 >= TARGET_MACRO_F1 else "NOT met"
            checks.append(f"{name}: macro-F1 {_fmt(report.macro_f1)} vs target >= {TARGET_MACRO_F1:.2f}: {verdict}"
                          + interval_note(report.macro_f1_interval, TARGET_MACRO_F1))
    elif report.scale_max >= 5:
        verdict = "met" if report.pearson >= TARGET_PEARSON else "NOT met"
        checks.append(f"{name}: Pearson r (linear LOQO) {_fmt(report.pearson)} vs target >= {TARGET_PEARSON:.2f}: {verdict}"
                      + interval_note(report.pearson_interval, TARGET_PEARSON))
    return checks


def interval_note(interval: tuple[float, float] | None, target: float) -> str:
    """Whether the verdict would survive another draw of questions: the target inside the 90%
    interval means the figure neither clearly meets nor clearly misses it."""
    if interval is None:
        return ""
    low, high = interval
    where = ("all of it clears the target" if low >= target else "all of it is under the target" if high < target
             else "the target lies inside it")
    return f" (90% interval over questions {low:.3f}-{high:.3f}: {where})"
