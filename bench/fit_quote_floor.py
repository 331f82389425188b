"""Fit the LLM engine's quote check: how related to its point a quote must be to earn credit.

A model's quote is measured as the offline grader measures an answer's unit against a point
(``interviewer/grading/llm/quote_check.py``: prose * (sim_weight * cosine + lex_weight * cue coverage),
with the packaged ``GraderParams``). Genuine evidence: for every bank question's strong and
partial examples, the sentence of the answer that best matches each point the human grader
marked covered or partial. Three numbers are fitted on it (every bank question):

- ``floor``: below it a quote earns nothing. The 5th percentile of the genuine *partial*
  evidence (the weakest genuine credit), rounded down: no covered evidence and 95% of the partial
  evidence pass. (The 5th percentile of the covered evidence, printed with the 2nd and 10th,
  would reject most genuine partial evidence: partial answers only touch on the point.)
- ``partial_below``: a quote marked covered that relates to its point less than this counts as
  partial. The 2nd percentile of the covered evidence, rounded down; the bench prints how much
  more often genuine partial evidence lies below it than covered evidence does.
- ``margin``: a quote under ``partial_below`` that relates to another point of the question by
  more than this much better than to its own is evidence for that other point, not this one.
  Chosen on a grid to maximise (unrelated quotes rejected) - (genuine evidence rejected).

It then reports what the check rejects:
- one-word quotes: the best single word of the genuine sentence, quoted alone (the word-count
  rule rejects every one of them anyway; this is what the relatedness rules alone would do);
- unrelated quotes: a sentence of the same answer that is the evidence for another credited
  point, quoted for this one; and any sentence of an answer quoted for a point the human grader
  marked missed (fluent-but-wrong answers apart: they talk about the point, wrongly, which is the
  contradiction check's business);
- and what it costs: genuine evidence rejected, by split, and for the sentence the few-shot
  examples teach the model to quote; and, when interviewer/grading/contradiction.py is installed, how
  many genuine evidence sentences its check flags and how many "It is a myth that <sentence>"
  rewrites it catches.

Writes interviewer/data/quote_check.json (the thresholds and how they were fitted).
Usage: python bench/fit_quote_floor.py [--dry-run] [--show N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interviewer.domain import Verdict
from interviewer.embedder import shared_embedder
from interviewer.grading.llm.prompts import _evidence_sentence
from interviewer.grading.llm.quote_check import QuoteCheckParams, QuoteMeter, contradiction
from interviewer.grading.offline.engine import GraderParams
from interviewer.rubrics import RubricBank
from interviewer.text import STOP_WORDS, prose_factor, split_sentences, words

from harness.grading_eval import split_of

OUT = Path(__file__).resolve().parents[1] / "interviewer" / "data" / "quote_check.json"
CREDITED = (Verdict.covered, Verdict.partial)
MARGINS = [round(0.05 * k, 2) for k in range(0, 11)]


@dataclass
class Row:
    kind: str  # covered | partial | few_shot | one_word | other_point | missed_point | fluent_missed | reuse
    value: float  # against the point it is quoted for
    other: float  # best value against any other point of the question
    split: str
    where: str
    prose: float = 1.0  # the quoted text's prose factor (a keyword list is far below 1)
    conflict: bool = False  # the contradiction check says it contradicts the point
    myth_caught: bool = False  # "It is a myth that <it>" is caught by the contradiction check


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def down(x: float) -> float:
    return math.floor(x * 100) / 100


def rejected(rows: list[Row], params: QuoteCheckParams) -> float:
    """Share of ``rows`` the relatedness rules reject (what quote_check.check_quotes does)."""
    if not rows:
        return float("nan")
    return sum(params.rejects(r.value, r.other) for r in rows) / len(rows)


def measure(bank: RubricBank) -> list[Row]:
    embedder = shared_embedder()
    grader = GraderParams.packaged()
    rows: list[Row] = []
    for question in sorted(bank.questions.values(), key=lambda q: q.id):
        if len(question.points) < 1:
            continue
        split = split_of(question.id)
        meter = QuoteMeter(embedder, question, grader)
        points = question.points

        def measured(texts: list[str]) -> np.ndarray:
            meter.encode(texts)
            return np.array([[meter.value(t, p) for p in points] for t in texts])

        def other(matrix_row: np.ndarray, j: int) -> float:
            rest = [v for k, v in enumerate(matrix_row) if k != j]
            return float(max(rest)) if rest else 0.0

        for example in question.examples:
            sentences = split_sentences(example.answer)
            if not sentences:
                continue
            V = measured(sentences)
            best = V.argmax(axis=0)
            where = f"{question.id}/{example.label}"
            for j, point in enumerate(points):
                verdict = example.verdicts.get(point.id, Verdict.missed)
                if verdict == Verdict.missed:
                    kind = "fluent_missed" if example.label == "fluent_wrong" else "missed_point"
                    rows.extend(Row(kind, float(V[s, j]), other(V[s], j), split, f"{where}/{point.id}") for s in range(len(sentences)))
                    continue
                if example.label not in ("strong", "partial"):
                    continue
                b = int(best[j])
                contrasts = getattr(question, "contrasts", ())
                myth = "It is a myth that " + sentences[b][:1].lower() + sentences[b][1:]
                rows.append(Row(verdict.value, float(V[b, j]), other(V[b], j), split, f"{where}/{point.id}: {sentences[b]}",
                                prose_factor(words(sentences[b]), meter.cues),
                                contradiction(sentences[b], point, contrasts) is not None,
                                contradiction(myth, point, contrasts) is not None))
                taught = _evidence_sentence([(s, words(s)) for s in sentences], point)
                if taught is not None:
                    t = sentences.index(taught)
                    rows.append(Row("few_shot", float(V[t, j]), other(V[t], j), split, f"{where}/{point.id}"))
                candidates = list(dict.fromkeys(w for w in sentences[b].split()
                                                if (ws := words(w)) and ws[0] not in STOP_WORDS and len(ws[0]) > 1))
                if candidates:
                    W = measured(candidates)
                    k = int(W[:, j].argmax())
                    rows.append(Row("one_word", float(W[k, j]), other(W[k], j), split, f"{where}/{point.id}: {candidates[k]}"))
                for o, other_point in enumerate(points):
                    if o == j or example.verdicts.get(other_point.id, Verdict.missed) not in CREDITED:
                        continue
                    s = int(best[o])
                    kind = "reuse" if s == b else "other_point"
                    rows.append(Row(kind, float(V[s, j]), other(V[s], j), split, f"{where}/{point.id} <- {other_point.id}"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the params file")
    parser.add_argument("--show", type=int, default=0, help="print the N lowest genuine cases")
    args = parser.parse_args()
    bank = RubricBank.load()
    shared_embedder().wait()
    started = time.perf_counter()
    rows = measure(bank)
    seconds = time.perf_counter() - started

    def of(*kinds: str, split: str | None = None) -> list[Row]:
        return [r for r in rows if r.kind in kinds and (split is None or r.split == split)]

    covered = [r.value for r in of("covered")]
    partial = [r.value for r in of("partial")]
    print(f"measured {len(rows)} quotes in {seconds:.1f} s "
          f"({len(covered)} covered and {len(partial)} partial points of strong and partial examples)")
    print("genuine evidence values (the best sentence of the answer for the point):")
    ordinal = {2: "2nd", 5: "5th", 10: "10th"}
    print("  covered: " + ", ".join(f"{ordinal[q]} pct {percentile(covered, q):.3f}" for q in (2, 5, 10)) + f", median {percentile(covered, 50):.3f}")
    print("  partial: " + ", ".join(f"{ordinal[q]} pct {percentile(partial, q):.3f}" for q in (2, 5, 10)) + f", median {percentile(partial, 50):.3f}")
    floor = down(percentile(partial, 5))
    line = down(percentile(covered, 2))
    c5 = percentile(covered, 5)
    print(f"  with the 5th pct of covered ({c5:.3f}) as the floor, {np.mean(np.array(partial) < c5):.1%} of genuine partial "
          "evidence would earn nothing: too strict")
    print(f"floor = 5th pct of partial, rounded down: {floor:.2f}")
    below_c, below_p = np.mean(np.array(covered) < line), np.mean(np.array(partial) < line)
    posterior = below_p * len(partial) / (below_p * len(partial) + below_c * len(covered))
    print(f"partial_below = 2nd pct of covered, rounded down: {line:.2f} (below it: {below_c:.1%} of covered and "
          f"{below_p:.1%} of partial evidence; genuine evidence there is partial {posterior:.0%} of the time)")

    genuine, unrelated = of("covered", "partial"), of("other_point")
    print("margin grid (unrelated rejected - genuine rejected):")
    best_margin, best_gain = MARGINS[-1], -1.0
    for margin in MARGINS:
        params = QuoteCheckParams(floor=floor, partial_below=line, margin=margin)
        gain = rejected(unrelated, params) - rejected(genuine, params)
        print(f"  {margin:.2f}: genuine {rejected(genuine, params):.1%}, unrelated {rejected(unrelated, params):.1%}, gain {gain:.3f}")
        if gain > best_gain + 1e-9:
            best_margin, best_gain = margin, gain
    params = QuoteCheckParams(floor=floor, partial_below=line, margin=best_margin)
    print(f"margin = {best_margin:.2f}")

    print(f"with floor {floor:.2f}, partial_below {line:.2f}, margin {best_margin:.2f}:")
    passing: dict[str, float] = {}
    for kind in ("covered", "partial", "few_shot"):
        for split in ("fit", "holdout", None):
            passing[f"{kind}/{split or 'all'}"] = round(1 - rejected(of(kind, split=split), params), 4)
        halved = (f", {np.mean([r.value < line for r in of(kind) if r.value >= floor]):.1%} of those passing kept only as partial"
                  if kind == "covered" else "")
        print(f"  genuine {kind:8s} evidence keeping credit: {passing[f'{kind}/all']:.1%} of {len(of(kind))} "
              f"(fit {passing[f'{kind}/fit']:.1%}, holdout {passing[f'{kind}/holdout']:.1%}){halved}")
    floor_only = QuoteCheckParams(floor=floor, partial_below=line, margin=99.0)
    report: dict[str, dict] = {}
    for kind, label in (("one_word", "one-word quotes (the best word of the genuine sentence)"),
                        ("other_point", "sentences about another point of the answer"),
                        ("missed_point", "sentences quoted for a point the answer misses (strong/partial/weak answers)"),
                        ("fluent_missed", "same, fluent-but-wrong answers")):
        values = of(kind)
        report[kind] = {"n": len(values), "rejected": round(rejected(values, params), 4),
                        "rejected_by_floor_alone": round(rejected(values, floor_only), 4),
                        "median_value": round(percentile([r.value for r in values], 50), 4)}
        print(f"  rejected: {rejected(values, params):.1%} of {len(values)} {label} "
              f"(the floor alone {rejected(values, floor_only):.1%}; median value {report[kind]['median_value']:.3f})")
    listy = [r for r in genuine if r.prose < params.min_prose]
    slipping = [r for r in of("missed_point") if not params.rejects(r.value, r.other)]
    halved_gullible = sum(r.value < params.partial_below for r in slipping)
    print(f"  of the {len(slipping)} sentences quoted for a point the answer misses that pass, {halved_gullible} "
          f"({halved_gullible / max(len(slipping), 1):.0%}) earn only partial when marked covered (below partial_below); "
          f"the price: {np.mean([r.value < line for r in of('covered')]):.1%} of genuine covered evidence halved")
    print(f"  contradiction check (interviewer/grading/contradiction.py): flags {sum(r.conflict for r in genuine)} of "
          f"{len(genuine)} genuine evidence sentences; catches 'It is a myth that <the sentence>' for "
          f"{sum(r.myth_caught for r in genuine)} of them")
    print(f"  genuine evidence taken for a keyword list (prose factor < {params.min_prose:g}): {len(listy)} of {len(genuine)}")
    print("  one-word quotes with the word-count rule: 100.0% rejected (a quote needs >= 4 words, or a whole "
          "sentence or clause of >= 3)")
    reuse = of("reuse")
    print(f"  one sentence genuinely the best evidence for two credited points: {len(reuse)} cases; "
          f"the second point keeps its credit in {1 - rejected(reuse, floor_only):.1%} (floor)")
    if args.show:
        for row in sorted(genuine, key=lambda r: r.value)[: args.show]:
            print(f"  low {row.kind}: {row.value:.3f} (other {row.other:.3f}) {row.where}")

    record = {
        "fitted_by": "bench/fit_quote_floor.py",
        "method": (
            "value = prose * (sim_weight * cosine + lex_weight * cue_coverage) with the packaged GraderParams, of the "
            "example answer's sentence that best matches each point a human marked covered or partial, over the strong "
            "and partial examples of every bank question. floor = 5th percentile of the partial values; partial_below = "
            "2nd percentile of the covered values (both rounded down to 0.01); margin = the grid value maximising "
            "(sentences about another point rejected) - (genuine evidence rejected)"
        ),
        "params": params.to_dict(),
        "report": {
            "covered": {"n": len(covered), **{f"p{q}": round(percentile(covered, q), 4) for q in (2, 5, 10, 50)}},
            "partial": {"n": len(partial), **{f"p{q}": round(percentile(partial, q), 4) for q in (2, 5, 10, 50)}},
            "genuine_keeping_credit": passing,
            "rejected": report,
            "reuse_cases": len(reuse),
            "contradiction_flags_genuine": sum(r.conflict for r in genuine),
            "contradiction_catches_myth": sum(r.myth_caught for r in genuine),
        },
    }
    if args.dry_run:
        print(json.dumps(record["params"]))
    else:
        OUT.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
