"""Every row of the performance table (issue 27) in one run, each as a ratio to its floor or bound.

Measured here, in this process (interleaved, medians):
  offline grade     rubric mode and reference-answer mode, answers of 30 / 120 / 600 words, against
                    one ``encode`` of the answer's sentences (the one-pass floor); the rubric is
                    prepared first, as the interview does while the candidate reads the question
  ingest            chunks per second of ``KnowledgeBase.ingest`` against encoding the same chunks
Measured by the other bench scripts, run as they are (their own output is kept in the log):
  slack fleet       bench/slack_load.py: wall time against the model bound (5 answers x 1 s)
  LLM turn CPU      bench/llm_overhead.py: handle() p50 against a bare litellm round trip
  search            bench/search_cost.py: first search of a process against the query encode
  cold start        bench/startup_and_grading.py: launch -> first question, against importing
                    sentence_transformers (what any process using the model pays)
  torch threads     bench/torch_threads.py: 8 texts with 1 thread against 2, idle and beside a busy process

Usage: python bench/performance.py [--quick] [--no-slack]
  --quick     fewer repeats (a few minutes); --no-slack leaves out the minute-long Slack fleet
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


@dataclass
class Row:
    what: str
    figure: str
    ratio: float | None
    target: str
    limit: float | None  # the ratio must be at or under it (None: informative)

    @property
    def verdict(self) -> str:
        if self.ratio is None or self.limit is None:
            return "-"
        return "met" if self.ratio <= self.limit else "NOT met"


# --- measured here -----------------------------------------------------------------------------


def _answers(words_wanted: int, bank, count: int) -> list[tuple[object, str]]:
    """(question, answer of about ``words_wanted`` words) pairs: a question's strong example,
    cut or extended with its topic's other strong examples, as a long answer wanders."""
    from interviewer.text import split_sentences

    by_topic: dict[str, list[str]] = {}
    for q in bank.questions.values():
        by_topic.setdefault(q.topic, []).extend(e.answer for e in q.examples if e.label == "strong")
    chosen = []
    for q in sorted(bank.questions.values(), key=lambda q: q.id):
        strong = [e.answer for e in q.examples if e.label == "strong"]
        if not q.points or not strong:
            continue
        sentences = split_sentences(" ".join(strong + by_topic[q.topic]))
        picked: list[str] = []
        for sentence in sentences:
            if sum(len(s.split()) for s in picked) >= words_wanted:
                break
            picked.append(sentence)
        if sum(len(s.split()) for s in picked) >= 0.8 * words_wanted:
            chosen.append((q, " ".join(picked)))
        if len(chosen) == count:
            break
    return chosen


def grading_rows(repeats: int) -> list[Row]:
    from harness.grading_bench import bank_rows, reference_question

    from interviewer.grading.offline.engine import OfflineEngine, rubric_texts
    from interviewer.rubrics import RubricBank
    from interviewer.text import split_sentences

    bank = RubricBank.load()
    engine = OfflineEngine()
    embedder = engine.embedder
    embedder.encode(["warm up"])
    references = {r.question_id: r for r in bank_rows(bank)}
    rows = []
    for mode in ("rubric", "reference"):
        ratios = []
        for length in (30, 120, 600):
            pairs = _answers(length, bank, 8)
            graded, floor = [], []
            for _ in range(repeats):
                for question, answer in pairs:
                    if mode == "reference":
                        question = reference_question(replace(references[question.id], answer=answer))
                    embedder.encode_cached(rubric_texts(question))  # prepared, as while the candidate reads
                    started = time.perf_counter()
                    embedder.encode(split_sentences(answer))
                    floor.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    engine.assess_sync(question, answer)
                    graded.append(time.perf_counter() - started)
            ratios.append((length, statistics.median(graded) / statistics.median(floor), statistics.median(graded)))
        limit = 1.1 if mode == "rubric" else 1.2
        figure = " / ".join(f"{r:.1f}x" for _, r, _ in ratios) + " (" + " / ".join(f"{g * 1000:.0f} ms" for *_, g in ratios) + ")"
        worst = max(r for length, r, _ in ratios if length >= 120)
        rows.append(Row(f"offline grade, {mode} mode, 30/120/600 words", figure, worst,
                        f"<= {limit}x one encode at 120 and 600 words", limit))
    return rows


def ingest_row() -> Row:
    from interviewer.embedder import shared_embedder
    from interviewer.knowledge.chroma import make_client
    from interviewer.knowledge.chunking import chunk_document
    from interviewer.knowledge.documents import read_document
    from interviewer.knowledge.index import KnowledgeBase
    from interviewer.rubrics import packaged_material_dir

    files = sorted(packaged_material_dir().glob("*.md"))[:6]
    embedder = shared_embedder()
    texts = [c.text for f in files for c in chunk_document(read_document(f, f.name))]
    embedder.encode(["warm up"])
    started = time.perf_counter()
    embedder.encode(texts)
    raw = len(texts) / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        kb = KnowledgeBase(make_client(Path(folder)), "bench")
        report = kb.ingest(files)
    return Row("ingest", f"{report.chunks_per_second:.1f} chunks/s against {raw:.1f} for raw encoding ({report.chunks} chunks)",
               raw / report.chunks_per_second, ">= 0.9x raw encoding (time ratio <= 1.11)", 1 / 0.9)


# --- measured by the other scripts -------------------------------------------------------------


def run_script(name: str, *args: str, log: list[str]) -> str:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=1800)
    text = out.stdout + out.stderr
    log.append(f"$ python bench/{name} {' '.join(args)}   ({time.perf_counter() - started:.0f} s)\n{text.strip()}\n")
    return text


def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def slack_row(log: list[str]) -> Row:
    text = run_script("slack_load.py", log=log)
    wall, bound = _number(r"wall ([\d.]+) s", text), _number(r"\(limit ([\d.]+) s", text)
    lag = _number(r"event loop lag.*?p95 ([\d.]+) ms", text)
    ratio = wall / bound if wall and bound else None
    return Row("Slack fleet, 50 sessions x 5 answers, 1 s model", f"{wall} s against {bound} s; loop lag p95 {lag} ms",
               ratio, "<= 1.3x the model bound", 1.3)


def llm_turn_row(turns: int, log: list[str]) -> Row:
    text = run_script("llm_overhead.py", "--turns", str(turns), log=log)
    p50, p95 = _number(r"handle\(\) per turn: p50 ([\d.]+)", text), _number(r"handle\(\) per turn: p50 [\d.]+ ms\s+p95 ([\d.]+)", text)
    bare = _number(r"bare ModelClient\.complete\(\) round trip.*?median ([\d.]+) ms", text.replace("\n", " "))
    return Row("CPU per LLM turn (instant stub model)", f"handle() p50 {p50} / p95 {p95} ms; bare litellm round trip {bare} ms",
               p50 / bare if p50 and bare else None, "the loop does only I/O (informative)", None)


def search_row(processes: int, log: list[str]) -> Row:
    text = run_script("search_cost.py", "--processes", str(processes), log=log)
    warm = _number(r"process, warm\s*: median [\d.]+ ms = ([\d.]+)x", text)
    ms = _number(r"process, warm\s*: median ([\d.]+) ms", text)
    cold = _number(r"process, saved\s*: median ([\d.]+) ms", text)
    return Row("interviewer search, new process, ~3,000 chunks",
               f"{ms} ms, Chroma and the saved BM25 index opened while the model loads ({cold} ms without)", warm,
               "<= 1.2x the query encode", 1.2)


def startup_row(runs: int, log: list[str]) -> Row:
    text = run_script("startup_and_grading.py", "--runs", str(runs), "--answers", "10", log=log)
    first = _number(r"first question \(\d+ runs\): median ([\d.]+) s", text)
    imports = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", "import time; t = time.perf_counter(); import sentence_transformers; "
                              "print(time.perf_counter() - t)"], capture_output=True, text=True, timeout=300)
        imports.append(float(out.stdout.strip().splitlines()[-1]))
    imported = statistics.median(imports)
    return Row("cold start to the first question", f"{first} s; import sentence_transformers {imported:.2f} s",
               first / imported if first else None, "<= 1.0 s (ratio informative)", None)


def threads_row(repeats: int, log: list[str]) -> Row:
    text = run_script("torch_threads.py", "--repeats", str(repeats), log=log)
    table = {(int(t), load): float(eight) for t, load, _, eight, _ in
             re.findall(r"^\s*(\d+)\s+(idle|\d+ busy)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", text, re.MULTILINE)}
    idle = [load for (_, load) in table if load.startswith("idle")]
    busy = [load for (_, load) in table if not load.startswith("idle")]
    parts, ratio = [], None
    for loads in (idle, busy):
        if loads and (1, loads[0]) in table and (2, loads[0]) in table:
            one, two = table[(1, loads[0])], table[(2, loads[0])]
            parts.append(f"{loads[0]}: 1 thread {one:.0f} ms, 2 threads {two:.0f} ms")
            ratio = one / two
    return Row("torch threads, 8 texts", "; ".join(parts) or "not measured", ratio,
               "measured default: serve 1 thread (ratio 1 vs 2 threads, beside a busy process)", None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--no-slack", action="store_true", help="leave out the Slack fleet (about a minute)")
    parser.add_argument("--log", type=Path, default=Path(tempfile.gettempdir()) / "interviewer-bench.log",
                        help="where the scripts' own output goes")
    args = parser.parse_args()
    log: list[str] = []
    rows: list[Row] = []
    steps = [
        ("offline grading", lambda: rows.extend(grading_rows(2 if args.quick else 5))),
        ("ingest", lambda: rows.append(ingest_row())),
        ("LLM turn", lambda: rows.append(llm_turn_row(30 if args.quick else 100, log))),
        ("search", lambda: rows.append(search_row(2 if args.quick else 3, log))),
        ("cold start", lambda: rows.append(startup_row(5 if args.quick else 15, log))),
        ("torch threads", lambda: rows.append(threads_row(10 if args.quick else 40, log))),
    ]
    if not args.no_slack:
        steps.insert(0, ("Slack fleet", lambda: rows.append(slack_row(log))))
    for name, step in steps:
        print(f"measuring: {name} ...", flush=True)
        try:
            step()
        except Exception as exc:  # one broken measurement must not hide the others
            rows.append(Row(name, f"failed: {type(exc).__name__}: {exc}", None, "-", None))
    args.log.write_text("\n".join(log), encoding="utf-8")
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Performance against floors and bounds (issue 27)", show_lines=True)
    for column in ("what", "figure", "ratio", "target", "verdict"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.what, row.figure, f"{row.ratio:.2f}x" if row.ratio is not None else "-", row.target, row.verdict)
    Console(width=140).print(table)
    print(f"the scripts' own output: {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
