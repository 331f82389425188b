"""Checking that our written material does not copy the seed documents' sentences."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from interviewer.rubrics import packaged_material_dir, packaged_rubrics_dir
from interviewer.text import split_sentences, words

MAX_RUN = 12


@dataclass
class OverlapReport:
    checked: int = 0
    seed_sentences: int = 0
    max_run: int = 0
    long_runs: int = 0
    max_ratio: float = 0.0
    worst: list[tuple[int, float, str, str]] = field(default_factory=list)


def _our_sentences() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(packaged_material_dir().glob("*.md")):
        body = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
        found += [(s, path.name) for s in split_sentences(body)]
    for path in sorted(packaged_rubrics_dir().glob("*.yaml")):
        stack: list[object] = [yaml.safe_load(path.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str) and len(node.split()) >= 6:
                found += [(s, path.name) for s in split_sentences(node)]
    return found


def overlap_report(seeds_dir: Path) -> OverlapReport:
    seed_sentences = [
        s for path in sorted(seeds_dir.glob("*.txt")) for s in split_sentences(path.read_text(encoding="utf-8"))
    ]
    seed_ngrams = [set() for _ in range(MAX_RUN + 1)]
    by_word: dict[str, list[int]] = {}
    seed_tokens = [words(s) for s in seed_sentences]
    for index, tokens in enumerate(seed_tokens):
        for n in range(1, MAX_RUN + 1):
            seed_ngrams[n].update(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        for w in set(tokens):
            by_word.setdefault(w, []).append(index)
    report = OverlapReport(seed_sentences=len(seed_sentences))
    rows = []
    for sentence, source in _our_sentences():
        tokens = words(sentence)
        report.checked += 1
        run = 0
        for n in range(1, min(MAX_RUN, len(tokens)) + 1):
            if any(tuple(tokens[i : i + n]) in seed_ngrams[n] for i in range(len(tokens) - n + 1)):
                run = n
            else:
                break
        candidates: dict[int, int] = {}
        for w in set(tokens):
            if len(w) > 3:
                for index in by_word.get(w, []):
                    candidates[index] = candidates.get(index, 0) + 1
        best = sorted(candidates, key=lambda i: -candidates[i])[:5]
        ratio = max(
            (difflib.SequenceMatcher(None, sentence.lower(), seed_sentences[i].lower()).ratio() for i in best),
            default=0.0,
        )
        rows.append((run, ratio, sentence, source))
    report.max_run = max((r[0] for r in rows), default=0)
    report.long_runs = sum(r[0] >= 8 for r in rows)
    report.max_ratio = max((r[1] for r in rows), default=0.0)
    report.worst = sorted(rows, key=lambda r: (-r[0], -r[1]))
    return report
