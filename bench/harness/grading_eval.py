"""Measuring the grader against the bank's human-graded examples (used by tests and bench)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from interviewer.domain import GradedExample, Question, Verdict
from interviewer.rubrics import RubricBank

ORDER = ("strong", "partial", "weak")


def split_of(question_id: str) -> str:
    """A stable 70/30 split by question id: thresholds are fitted on 'fit' only."""
    digest = int(hashlib.sha256(question_id.encode()).hexdigest()[:8], 16)
    return "holdout" if digest % 10 < 3 else "fit"


@dataclass
class BankReport:
    questions: int = 0
    examples: int = 0
    ordered: int = 0
    with_fluent: int = 0
    fluent_below_partial: int = 0
    points_compared: int = 0
    points_agreeing: int = 0
    abs_errors: list[float] = field(default_factory=list)
    by_label: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)

    @property
    def ordering_share(self) -> float:
        return self.ordered / self.questions if self.questions else 0.0

    @property
    def fluent_share(self) -> float:
        return self.fluent_below_partial / self.with_fluent if self.with_fluent else 1.0

    @property
    def verdict_agreement(self) -> float:
        return self.points_agreeing / self.points_compared if self.points_compared else 0.0

    @property
    def mae(self) -> float:
        return sum(self.abs_errors) / len(self.abs_errors) if self.abs_errors else 0.0


def evaluate_bank(bank: RubricBank, engine, split: str = "all") -> BankReport:
    """Grade every example of the bank (or one split of it) with ``engine.assess_sync``."""
    report = BankReport()
    for question in sorted(bank.questions.values(), key=lambda q: q.id):
        if split != "all" and split_of(question.id) != split:
            continue
        graded = []
        for example in question.examples:
            assessment = engine.assess_sync(question, example.answer)
            graded.append((example, {v.point_id: v.verdict for v in assessment.verdicts}, assessment.score))
        tally(report, question, graded)
    return report


def tally(report: BankReport, question: Question, graded: list[tuple[GradedExample, dict[str, Verdict], float]]) -> None:
    """Add one question's graded examples (example, verdicts by point, score) to the report."""
    scores: dict[str, float] = {}
    for example, verdicts, score in graded:
        scores.setdefault(example.label, score)
        report.examples += 1
        report.abs_errors.append(abs(score - example.score))
        report.by_label[example.label].append(score)
        for point_id, verdict in example.verdicts.items():
            report.points_compared += 1
            report.points_agreeing += verdicts.get(point_id, Verdict.missed) == verdict
    if all(label in scores for label in ORDER):
        report.questions += 1
        if scores["strong"] > scores["partial"] > scores["weak"]:
            report.ordered += 1
        else:
            report.failures.append(f"{question.id}: " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()))
    if "fluent_wrong" in scores and "partial" in scores:
        report.with_fluent += 1
        if scores["fluent_wrong"] < scores["partial"]:
            report.fluent_below_partial += 1
        else:
            report.failures.append(f"{question.id}: fluent_wrong {scores['fluent_wrong']:.1f} >= partial {scores['partial']:.1f}")
