"""Adversarial benchmark of the offline grader: fluent answers that say the wrong thing.

For every bank question it grades generated attack answers (``bench/attacks.py``: the model
answer negated sentence by sentence, one point negated, points framed as myths, the contrasted
things swapped, the sentences that state a direction, each flipped, the rubric's keywords strung into prose,
the question restated, another topic's model answer), the hand-written answers of
``bench/data/fluent_wrong.yaml`` and ``bench/data/paraphrases.yaml``, and three guards that a
fix must not break: the model answers, every point alias graded alone (as a paraphrase the rubric
does not list), and the human "covered" verdicts of the strong examples.

Usage: .venv/bin/python bench/adversarial.py [--questions N] [--topic T] [--show-failures K]
The full bank takes several minutes on two cores; progress goes to stderr. Nothing is cached on
disk. ``run(questions, classes=None)`` is the entry point for tests.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import attacks  # noqa: E402  (bench/attacks.py, next to this file)

from interviewer.domain import Question  # noqa: E402
from harness.grading_eval import split_of  # noqa: E402

ATTACK_CLASSES = (
    "whole_negation",
    "myth_framing",
    "role_swap",
    "direction_flip",
    "keyword_prose",
    "restated",
    "off_topic",
)
"""Generated answers that state nothing true about the question: each should score <= 3/10."""

CLASSES = (
    "model",
    "points_text",
    *ATTACK_CLASSES[:1],
    "single_negation",
    *ATTACK_CLASSES[1:],
    "fluent_wrong",
    "paraphrase",
    "alias_credit",
    "strong_examples",
)

LOW, HIGH, PARAPHRASE_OK = 3.0, 8.0, 7.0  # score bounds, out of 10
ATTACK_TARGET, MODEL_TARGET, NEGATED_TARGET, FLUENT_TARGET, CREDIT_TARGET = 0.95, 0.95, 0.90, 0.90, 0.90


@dataclass
class Case:
    """One answer to grade and what is expected of its grade."""

    cls: str
    question: Question
    answer: str
    note: str | None = None
    point: str | None = None  # single_negation: the negated point; alias_credit: the alias's point
    points: list[str] = field(default_factory=list)  # paraphrase: covers; strong_examples: human "covered"


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a share."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def _without_alias(question: Question, point_id: str, alias: str) -> Question:
    """The question with one alias removed from one point (rubric models are frozen: rebuild)."""
    points = [
        p.model_copy(update={"aliases": [a for a in p.aliases if a != alias]}) if p.id == point_id else p
        for p in question.points
    ]
    return question.model_copy(update={"points": points})


def build_cases(
    questions: Sequence[Question],
    classes: Iterable[str] | None = None,
    pool: Sequence[Question] = (),
    hand: dict | None = None,
) -> list[Case]:
    """Every case of the wanted classes for the questions (off_topic draws from ``pool``)."""
    wanted = set(classes or CLASSES)
    if "single_negation" in wanted:
        wanted.add("points_text")  # the control: which points the un-negated text covers
    cases: list[Case] = []
    for q in questions:
        if "model" in wanted and q.model_answer:
            cases.append(Case("model", q, q.model_answer, "model answer"))
        if "points_text" in wanted and q.points:
            cases.append(Case("points_text", q, attacks.points_answer(q), "all points' texts"))
        for cls in ("whole_negation", "single_negation", *ATTACK_CLASSES[1:]):
            if cls not in wanted:
                continue
            generated = attacks.off_topic(q, pool) if cls == "off_topic" else attacks.ATTACKS[cls](q)
            for answer, note in generated:
                point = note if cls == "single_negation" else None
                cases.append(Case(cls, q, answer, note, point=point))
        if "alias_credit" in wanted:
            for p in q.points:
                for alias in p.aliases:
                    cases.append(Case("alias_credit", _without_alias(q, p.id, alias), alias, f"alias of {p.id}", point=p.id))
        if "strong_examples" in wanted and split_of(q.id) == "holdout":
            for example in q.examples:
                if example.label != "strong":
                    continue
                covered = [pid for pid, v in example.verdicts.items() if v.value == "covered"]
                cases.append(Case("strong_examples", q, example.answer, "strong example", points=covered))
    if hand is not None:
        by_id = {q.id: q for q in questions}
        if "fluent_wrong" in wanted:
            for row in hand.get("fluent_wrong", []):
                q = by_id.get(str(row["question"]))
                if q is not None:
                    cases.append(Case("fluent_wrong", q, str(row["answer"]), f"{row.get('kind', '?')}: {row.get('wrong', '')}"))
        if "paraphrase" in wanted:
            for row in hand.get("paraphrases", []):
                q = by_id.get(str(row["question"]))
                if q is not None:
                    known = [c for c in row.get("covers", []) if any(p.id == c for p in q.points)]
                    cases.append(Case("paraphrase", q, str(row["answer"]), str(row.get("kind", "?")), points=known))
    return cases


def _grade(engine, cases: list[Case], progress: bool) -> list[dict]:
    records = []
    started = last = time.perf_counter()
    for n, case in enumerate(cases, start=1):
        assessment = engine.assess_sync(case.question, case.answer)
        records.append(
            {
                "class": case.cls,
                "question": case.question.id,
                "topic": case.question.topic,
                "split": split_of(case.question.id),
                "answer": case.answer,
                "note": case.note,
                "point": case.point,
                "points": case.points,
                "score": float(assessment.score),
                "verdicts": {v.point_id: v.verdict.value for v in assessment.verdicts},
                "misconceptions": [
                    (m.misconception_id, getattr(m, "kind", None), getattr(m, "point_id", None)) for m in assessment.misconceptions
                ],
            }
        )
        now = time.perf_counter()
        if progress and (now - last > 10 or n == len(cases)):
            last = now
            rate = n / (now - started)
            print(f"  graded {n}/{len(cases)} ({case.cls}) {now - started:.0f} s, ~{(len(cases) - n) / rate:.0f} s left",
                  file=sys.stderr, flush=True)
    return records


def _passed(record: dict) -> bool:
    """Whether one graded answer meets its class's expectation (what --show-failures lists)."""
    cls, score, verdicts = record["class"], record["score"], record["verdicts"]
    if cls in ATTACK_CLASSES or cls == "fluent_wrong":
        return score <= LOW
    if cls in ("model", "points_text"):
        return score >= HIGH
    if cls == "single_negation":
        return verdicts.get(record["point"]) == "missed"
    if cls == "alias_credit":
        return verdicts.get(record["point"]) == "covered"
    if cls == "strong_examples":
        return all(verdicts.get(p) == "covered" for p in record["points"])
    if cls == "paraphrase":
        return score >= PARAPHRASE_OK and all(verdicts.get(p) == "covered" for p in record["points"])
    return True


def _row(label: str, what: str, hits: int, n: int, scores: Sequence[float] | None, target: float | None) -> dict:
    low, high = wilson(hits, n)
    return {
        "label": label,
        "what": what,
        "n": n,
        "hits": hits,
        "share": hits / n if n else None,
        "ci": (low, high),
        "mean": sum(scores) / len(scores) if scores else None,
        "target": target,
        "met": None if target is None or not n else hits / n >= target,
    }


def _by_kind(records: list[dict]) -> list[tuple[str, list[dict]]]:
    """Hand-written answers grouped by their ``kind`` (the note starts with it)."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(str(r["note"]).split(":")[0], []).append(r)
    return sorted(groups.items()) if len(groups) > 1 else []


def summarise(records: list[dict], wanted: Iterable[str] = ()) -> list[dict]:
    """The table: one row per measured share, with its interval, mean score and target. An attack
    class in ``wanted`` with no answers (role_swap before any question has contrasts) gets an
    empty row, so its absence shows."""
    by_class: dict[str, list[dict]] = {cls: [] for cls in wanted if cls in ATTACK_CLASSES}
    for r in records:
        by_class.setdefault(r["class"], []).append(r)
    control = {r["question"]: r for r in by_class.get("points_text", [])}
    rows = []

    def scores(rs: list[dict]) -> list[float]:
        return [r["score"] for r in rs]

    if rs := by_class.get("model"):
        rows.append(_row("model answers", ">= 8/10", sum(r["score"] >= HIGH for r in rs), len(rs), scores(rs), MODEL_TARGET))
    if rs := by_class.get("points_text"):
        rows.append(_row("points' texts (control)", ">= 8/10", sum(r["score"] >= HIGH for r in rs), len(rs), scores(rs), None))
    for cls in ATTACK_CLASSES[:1]:
        if (rs := by_class.get(cls)) is not None:
            rows.append(_row(cls, "<= 3/10", sum(r["score"] <= LOW for r in rs), len(rs), scores(rs), ATTACK_TARGET))
    if rs := by_class.get("single_negation"):
        rows.append(_row("single_negation", "negated point missed",
                         sum(r["verdicts"].get(r["point"]) == "missed" for r in rs), len(rs), scores(rs), NEGATED_TARGET))
        kept = 0
        for r in rs:
            base = control.get(r["question"], {}).get("verdicts", {})
            others = [p for p, v in base.items() if v == "covered" and p != r["point"]]
            kept += all(r["verdicts"].get(p) == "covered" for p in others)
        rows.append(_row("single_negation", "others stayed covered", kept, len(rs), None, None))
    for cls in ATTACK_CLASSES[1:]:
        if (rs := by_class.get(cls)) is not None:
            rows.append(_row(cls, "<= 3/10", sum(r["score"] <= LOW for r in rs), len(rs), scores(rs), ATTACK_TARGET))
    if rs := by_class.get("fluent_wrong"):
        rows.append(_row("hand: fluent_wrong", "<= 3/10", sum(r["score"] <= LOW for r in rs), len(rs), scores(rs), FLUENT_TARGET))
        for kind, group in _by_kind(rs):
            rows.append(_row(f"  kind {kind}", "<= 3/10", sum(r["score"] <= LOW for r in group), len(group), scores(group), None))
    if rs := by_class.get("paraphrase"):
        groups = [("hand: paraphrases", rs)] + [(f"  kind {kind}", group) for kind, group in _by_kind(rs)]
        for label, group in groups:
            rows.append(_row(label, ">= 7/10", sum(r["score"] >= PARAPHRASE_OK for r in group), len(group), scores(group), None))
            pairs = [(r, p) for r in group for p in r["points"]]
            rows.append(_row(label, "'covers' points covered",
                             sum(r["verdicts"].get(p) == "covered" for r, p in pairs), len(pairs), None, None))
    if rs := by_class.get("alias_credit"):
        for split, subset in (("held-out", [r for r in rs if r["split"] == "holdout"]), ("all", rs)):
            rows.append(_row(f"alias alone ({split})", "its point covered",
                             sum(r["verdicts"].get(r["point"]) == "covered" for r in subset), len(subset), scores(subset), CREDIT_TARGET))
    if rs := by_class.get("strong_examples"):
        held = rs  # built for held-out questions only
        pairs = [(r, p) for r in held for p in r["points"]]
        rows.append(_row("strong examples (held-out)", "human 'covered' kept",
                         sum(r["verdicts"].get(p) == "covered" for r, p in pairs), len(pairs), scores(held), CREDIT_TARGET))
    return rows


def run(
    questions: Sequence[Question],
    classes: Iterable[str] | None = None,
    *,
    engine=None,
    pool: Sequence[Question] | None = None,
    hand: dict | None = None,
    hand_path: str | Path | None = None,
    progress: bool = False,
) -> dict:
    """Generate and grade the cases of ``classes`` (all by default) for ``questions``.

    ``pool`` is where off-topic answers come from (the whole bank by default); hand-written
    answers are read from ``hand_path`` (bench/data) unless ``hand`` is given. Returns
    ``{"records": [...], "rows": [...], "failures": {class: [records]}, "messages": [...],
    "seconds": float, "questions": int}``; each record has the class, question id, split, answer,
    note, expected point(s), score, verdicts by point and misconceptions.
    """
    wanted = list(classes or CLASSES)
    unknown = set(wanted) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown classes {sorted(unknown)}; known: {', '.join(CLASSES)}")
    if engine is None:
        from interviewer.grading.offline.engine import OfflineEngine

        engine = OfflineEngine()
        engine.embedder.wait()
    if pool is None:
        from interviewer.rubrics import RubricBank

        pool = list(RubricBank.load().questions.values())
    messages: list[str] = []
    if hand is None and {"fluent_wrong", "paraphrase"} & set(wanted):
        hand = attacks.hand_written(hand_path or attacks.DATA_DIR)
    if hand is not None:
        messages.extend(hand.get("messages", []))
        known = {q.id for q in pool} | {q.id for q in questions}
        for name in ("fluent_wrong", "paraphrases"):
            unknown_ids = sorted({str(r["question"]) for r in hand.get(name, [])} - known)
            if unknown_ids:
                messages.append(f"{name}: answers to unknown question ids skipped: {', '.join(unknown_ids[:5])}")
    started = time.perf_counter()
    cases = build_cases(questions, wanted, pool or (), hand)
    if progress:
        print(f"{len(cases)} answers to grade for {len(questions)} questions", file=sys.stderr, flush=True)
    records = _grade(engine, cases, progress)
    seconds = time.perf_counter() - started
    failures: dict[str, list[dict]] = {}
    for r in records:
        if not _passed(r):
            failures.setdefault(r["class"], []).append(r)
    return {
        "records": records,
        "rows": summarise(records, wanted),
        "failures": failures,
        "messages": messages,
        "seconds": seconds,
        "questions": len(questions),
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def format_table(rows: list[dict]) -> str:
    head = f"{'class':<28} {'measure':<25} {'n':>5}  {'share':>6}  {'95% CI':<13} {'mean':>5}  target"
    lines = [head, "-" * len(head)]
    for r in rows:
        ci = f"{100 * r['ci'][0]:.1f}-{100 * r['ci'][1]:.1f}" if r["n"] else "-"
        if not r["n"]:
            lines.append(f"{r['label']:<28} {r['what']:<25} {0:>5}  {'-':>6}  {'-':<13} {'-':>5}  no answers generated")
            continue
        mean = "-" if r["mean"] is None else f"{r['mean']:.1f}"
        if r["target"] is None:
            target = "(info)"
        else:
            target = f">= {100 * r['target']:.0f}%  " + ("met" if r["met"] else "NOT met")
        lines.append(f"{r['label']:<28} {r['what']:<25} {r['n']:>5}  {_pct(r['share']):>6}  {ci:<13} {mean:>5}  {target}")
    return "\n".join(lines)


def format_failures(result: dict, k: int) -> str:
    out = []
    for cls in CLASSES:
        failed = result["failures"].get(cls, [])
        if not failed or k <= 0:
            continue
        out.append(f"\n== {cls}: {len(failed)} failing, first {min(k, len(failed))}")
        for r in failed[:k]:
            verdicts = ", ".join(f"{p}={v}" for p, v in r["verdicts"].items())
            expect = f" expected point: {r['point']}" if r["point"] else ""
            expect += f" expected covered: {', '.join(r['points'])}" if r["points"] else ""
            out.append(f"- {r['question']} [{r['note']}] score {r['score']:.1f}{expect}")
            out.append(f"  verdicts: {verdicts}")
            if r["misconceptions"]:
                out.append("  misconceptions: " + ", ".join(f"{m[0]}" + (f" ({m[1]} {m[2]})" if m[1] else "") for m in r["misconceptions"]))
            answer = " ".join(r["answer"].split())
            out.append(f"  answer: {answer[:600]}{' ...' if len(answer) > 600 else ''}")
    return "\n".join(out)


def select(questions: list[Question], n: int | None) -> list[Question]:
    """``n`` questions spread evenly over the id-sorted list (so every topic has its share)."""
    questions = sorted(questions, key=lambda q: q.id)
    if n is None or n >= len(questions):
        return questions
    step = len(questions) / n
    return [questions[int(i * step)] for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=None, help="grade only N questions, spread over the bank")
    parser.add_argument("--topic", default=None, help="only this topic's questions")
    parser.add_argument("--show-failures", type=int, default=0, metavar="K", help="print K failing answers per class")
    parser.add_argument("--classes", default=None, help=f"comma-separated subset of: {', '.join(CLASSES)}")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from interviewer.rubrics import RubricBank

    bank = RubricBank.load()
    questions = list(bank.questions.values())
    if args.topic:
        topic = bank.resolve_topic(args.topic)
        questions = [q for q in questions if q.topic == topic]
    questions = select(questions, args.questions)
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    result = run(questions, classes, pool=list(bank.questions.values()), progress=True)
    held = sum(split_of(q.id) == "holdout" for q in questions)
    print(f"Adversarial benchmark of the offline grader: {len(questions)} questions ({held} held out), "
          f"{len(result['records'])} answers graded in {result['seconds']:.0f} s")
    for message in result["messages"]:
        print(f"note: {message}")
    print(format_table(result["rows"]))
    if args.show_failures:
        print(format_failures(result, args.show_failures))
    print(f"\nwall time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
