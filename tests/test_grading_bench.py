"""The grading agreement benchmark: metrics against hand-computed values, the CSV reader's errors,
the SemEval converter on a tiny synthetic zip, and the ``bench`` commands (offline and LLM stub)."""

from __future__ import annotations

import csv
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from interviewer.cli.common import UserError
from interviewer.grading.offline.engine import graded_question
from interviewer.testing import StubLLMServer, grading_rule

from grading import bench_app
from harness import agreement_stats as stats
from harness import grading_bench as gb
from harness.grading_bench import BenchDataError, Graded, Row
from harness.grading_eval import split_of

# --- metrics -----------------------------------------------------------------------------------


def test_correlations_of_perfect_and_reversed_agreement() -> None:
    x = [0.0, 2.0, 5.0, 9.0, 10.0]
    assert stats.pearson(x, [2 * v + 1 for v in x]) == pytest.approx(1.0)
    assert stats.pearson(x, [-v for v in x]) == pytest.approx(-1.0)
    assert stats.spearman(x, [v**3 for v in x]) == pytest.approx(1.0)  # monotone, not linear
    assert stats.spearman(x, [-(v**3) for v in x]) == pytest.approx(-1.0)
    assert math.isnan(stats.pearson(x, [3.0] * 5)) and math.isnan(stats.spearman([1.0], [1.0]))
    # hand-computed: x = 1,2,3 and y = 1,3,2 -> r = 0.5
    assert stats.pearson([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)


def test_ranks_share_ties_and_rmse() -> None:
    assert stats.ranks([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert stats.ranks([3, 1, 2]).tolist() == [3.0, 1.0, 2.0]
    assert stats.rmse([0, 0], [3, 4]) == pytest.approx(math.sqrt(12.5))
    assert stats.rmse([1, 2], [1, 2]) == 0.0


def test_quadratic_weighted_kappa_known_values() -> None:
    assert stats.qwk([0, 1, 2], [0, 1, 2], 0, 2) == pytest.approx(1.0)
    # observed disagreement 0.25, chance 1.25 (worked out by hand) -> 1 - 0.25 / 1.25
    assert stats.qwk([0, 1, 2], [0, 2, 2], 0, 2) == pytest.approx(0.8)
    assert stats.qwk([0, 1, 2], [2, 1, 0], 0, 2) == pytest.approx(-1.0)
    assert stats.qwk([0.4, 1.6], [0, 2], 0, 2) == pytest.approx(1.0)  # rounded before comparing
    assert math.isnan(stats.qwk([1, 1], [1, 1], 0, 2))  # one category only: kappa undefined


def test_auc_and_macro_f1_known_values() -> None:
    assert stats.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert stats.roc_auc([1, 2, 3], [0, 1, 1]) == 1.0 and stats.roc_auc([3, 2, 1], [0, 1, 1]) == 0.0
    assert stats.roc_auc([5, 5, 5, 5], [0, 1, 0, 1]) == pytest.approx(0.5)
    assert math.isnan(stats.roc_auc([1, 2], [1, 1]))
    # class 1: tp 1, fp 1, fn 0 -> F1 2/3; class 0: tp 2, fp 0, fn 1 -> F1 4/5
    assert stats.macro_f1([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert stats.macro_f1([1, 0, 1], [1, 0, 1]) == 1.0


def test_isotonic_fit_pools_violators() -> None:
    knots, fitted = stats.isotonic_fit([1, 2, 3, 4], [1, 3, 2, 4])
    assert knots.tolist() == [1, 2, 3, 4] and fitted.tolist() == pytest.approx([1, 2.5, 2.5, 4])
    knots, fitted = stats.isotonic_fit([0, 0, 1], [0, 1, 0.2])  # tied x are averaged first
    assert fitted.tolist() == pytest.approx([0.4, 0.4])
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 20, 300).astype(float), rng.normal(size=300)
    knots, fitted = stats.isotonic_fit(x, y)
    assert np.all(np.diff(fitted) >= -1e-12)
    try:
        from scipy.optimize import isotonic_regression
    except ImportError:
        return
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    expected = isotonic_regression(np.bincount(inverse, weights=y) / counts, weights=counts).x
    assert fitted == pytest.approx(expected)


def _two_questions() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Question a: human = raw/10 exactly; question b: the opposite."""
    raw = np.array([0.0, 5.0, 10.0, 0.0, 5.0, 10.0])
    human = np.array([0.0, 0.5, 1.0, 1.0, 0.5, 0.0])
    return raw, human, ["a", "a", "a", "b", "b", "b"]


def test_loqo_maps_never_see_the_question_they_score() -> None:
    raw, human, groups = _two_questions()
    linear = stats.loqo_linear(raw, human, groups, 0.0, 1.0)
    # An in-sample line would fit question a perfectly; its map comes from b alone, so it is reversed.
    assert linear[:3].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert stats.pearson(linear[:3], human[:3]) == pytest.approx(-1.0)
    isotonic = stats.loqo_isotonic(raw, human, groups, 0.0, 1.0)
    assert isotonic[:3].tolist() == pytest.approx([0.5, 0.5, 0.5])  # b's best monotone fit is flat
    # A question's mapped scores do not depend on its own labels at all.
    changed = human.copy()
    changed[:3] = [0.9, 0.1, 0.3]
    assert stats.loqo_linear(raw, changed, groups, 0.0, 1.0)[:3].tolist() == pytest.approx(linear[:3].tolist())
    assert stats.loqo_isotonic(raw, changed, groups, 0.0, 1.0)[:3].tolist() == pytest.approx(isotonic[:3].tolist())


def test_loqo_maps_clip_to_the_scale_and_fall_back_without_other_questions() -> None:
    raw = np.array([0.0, 10.0, 0.0, 10.0, 20.0])
    mapped = stats.loqo_linear(raw, [0, 1, 0, 1, 1], ["a", "a", "b", "b", "b"], 0.0, 1.0)
    assert mapped.max() <= 1.0 and mapped.min() >= 0.0
    alone = stats.loqo_linear([0.0, 5.0, 10.0], [0, 2, 5], ["q", "q", "q"], 0.0, 5.0)
    assert alone.tolist() == pytest.approx([0.0, 2.5, 5.0])  # nothing to fit on: raw rescaled


def test_loqo_threshold_is_chosen_on_the_other_questions() -> None:
    raw = [2.0, 8.0, 3.0, 7.0, 4.0, 6.0]
    labels = [0, 1, 0, 1, 0, 1]
    groups = ["q1", "q1", "q2", "q2", "q3", "q3"]
    predicted, thresholds = stats.loqo_threshold(raw, labels, groups)
    # On q2 + q3 only a cut between 4 and 6 separates the classes: the midpoint 5.
    assert thresholds[0] == thresholds[1] == 5.0
    assert predicted.tolist() == [0, 1, 0, 1, 0, 1]
    flipped = [1, 0, 0, 1, 0, 1]  # q1's own labels do not move q1's threshold
    assert stats.loqo_threshold(raw, flipped, groups)[1][:2].tolist() == [5.0, 5.0]


def test_within_question_pearson_skips_small_or_flat_questions_and_counts_a_flat_grader_as_zero() -> None:
    raw = [1, 2, 3, 1, 2, 3, 1, 2, 5, 5, 5, 5, 5, 5]
    human = [1, 2, 3, 3, 2, 1, 0, 1, 2, 2, 2, 0, 1, 2]
    groups = ["up"] * 3 + ["down"] * 3 + ["small"] * 2 + ["flat-human"] * 3 + ["flat-grader"] * 3
    mean, used, constant = stats.within_question_pearson(raw, human, groups)
    assert (mean, used, constant) == (pytest.approx(0.0), 3, 1)


def _graded(question_id: str, human: float, *scores: float) -> Graded:
    return Graded(Row(question_id, "Q?", "Reference.", "Answer.", human), list(scores), ["test"] * len(scores))


def test_agreement_on_binary_labels_and_the_spread_of_repeats() -> None:
    graded = [_graded(f"q{n}", label, raw, raw) for n in range(4) for label, raw in ((0.0, 2.0), (1.0, 9.0), (1.0, 8.0))]
    report = gb.agreement(graded)
    assert report.binary and report.scale_max == 1.0 and report.questions == 4 and report.rows == 12
    assert report.macro_f1 == 1.0 and report.accuracy == 1.0 and report.roc_auc == 1.0
    assert report.map("raw").pearson == pytest.approx(stats.pearson([g.score for g in graded], [g.row.score for g in graded]))
    assert report.spread is not None and report.spread.mean == 0.0 and report.spread.share_with_spread == 0.0
    noisy = [_graded("a", 1.0, 5, 5), _graded("a", 0.0, 4, 6), _graded("b", 1.0, 7, 10), _graded("b", 0.0, 1, 1)]
    spread = gb.agreement(noisy).spread
    assert spread is not None and (spread.repeats, spread.mean, spread.max, spread.share_with_spread) == (2, 1.25, 3.0, 0.5)
    graded_0_10 = [_graded("a", 7.5, 8.0), _graded("a", 2.0, 1.0), _graded("b", 10.0, 9.0), _graded("b", 0.0, 0.5)]
    report = gb.agreement(graded_0_10)
    assert not report.binary and report.scale_max == 10.0 and report.macro_f1 is None
    lines = {line[0]: line for line in gb.report_lines({"all": report})}
    assert lines["Pearson r (linear LOQO)"][-1].startswith(">= 0.60")
    with pytest.raises(ValueError, match="above the scale"):
        gb.agreement(graded_0_10, scale_max=5.0)


def test_question_interval_resamples_questions_not_rows() -> None:
    rng = np.random.default_rng(7)
    groups = np.repeat([f"q{n}" for n in range(20)], 10)
    labels = rng.integers(0, 2, groups.size).astype(float)
    predicted = np.where(rng.random(groups.size) < 0.75, labels, 1 - labels)  # right three times in four

    def f1_of(rows: np.ndarray) -> float:
        return stats.macro_f1(predicted[rows], labels[rows])

    low, high = stats.question_interval(f1_of, groups)
    assert low < f1_of(np.arange(groups.size)) < high and high - low < 0.2
    assert stats.question_interval(f1_of, groups) == (low, high)  # seeded
    assert stats.question_interval(lambda rows: 0.5, groups) == (0.5, 0.5)
    four = np.repeat(["a", "b", "c", "d"], 50)  # too few questions for an interval to mean anything
    assert stats.question_interval(f1_of, four) is None
    # one question carries all the errors: resampling whole questions sees that, rows would not
    lumpy = labels.copy()
    lumpy[groups == "q3"] = 1 - labels[groups == "q3"]
    lumpy[groups == "q4"] = 1 - labels[groups == "q4"]
    wide = stats.question_interval(lambda rows: stats.macro_f1(lumpy[rows], labels[rows]), groups)
    assert wide[0] < 0.85 and wide[1] == 1.0


def test_reports_give_intervals_and_say_when_a_target_is_inside_one() -> None:
    rng = np.random.default_rng(3)
    graded = []
    for q in range(12):
        for _ in range(8):
            label = float(rng.integers(0, 2))
            graded.append(_graded(f"q{q}", label, float(np.clip(5 + (3 if label else -3) + rng.normal(0, 3), 0, 10))))
    report = gb.agreement(graded)
    for interval, value in ((report.macro_f1_interval, report.macro_f1), (report.roc_auc_interval, report.roc_auc),
                            (report.pearson_interval, report.pearson)):
        assert interval is not None and interval[0] <= value <= interval[1] and interval[0] < interval[1]
    lines = gb.report_lines({"all": report})
    assert [line[0] for line in lines].count(gb.INTERVAL_LABEL) == 3
    low, high = report.macro_f1_interval
    (check,) = gb.target_checks("set", report, unseen=True)
    expected = "clears" if low >= gb.TARGET_MACRO_F1 else "under" if high < gb.TARGET_MACRO_F1 else "inside"
    assert f"90% interval over questions {low:.3f}-{high:.3f}" in check and expected in check
    assert "inside" in gb.interval_note((0.68, 0.73), 0.70) and "clears" in gb.interval_note((0.71, 0.73), 0.70)
    assert "under" in gb.interval_note((0.60, 0.69), 0.70) and gb.interval_note(None, 0.70) == ""
    few = gb.agreement(graded[:24])  # three questions: no interval, and no claim about one
    assert few.macro_f1_interval is None and "interval" not in gb.target_checks("set", few, unseen=True)[0]


def test_holdout_split_matches_grading_eval() -> None:
    rows = [Row(f"corpus/q{n}", "Q", "R.", "A.", 1.0) for n in range(40)]
    held = gb.holdout(rows)
    assert held and len(held) < len(rows)
    assert all(split_of(r.question_id) == "holdout" for r in held)
    assert {r.question_id for r in gb.limit_questions(rows, 5)} == {r.question_id for r in gb.limit_questions(rows, 5)}
    assert len({r.question_id for r in gb.limit_questions(rows, 5)}) == 5


# --- rows: CSV, bank, SemEval ----------------------------------------------------------------------

HEADER = "question_id,question,reference_answer,answer,score"


def _csv(tmp_path: Path, text: str, name: str = "rows.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_rows_keeps_extra_columns_and_multiline_answers(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufeffnote," + HEADER + "\n"
                "x,q1,What is 2+2?,It is four.,\"Four,\nclearly.\",1\n"
                "y,q1,What is 2+2?,It is four.,Five.,0\n\n")
    rows = gb.read_rows(path)
    assert [r.answer for r in rows] == ["Four,\nclearly.", "Five."]
    assert [r.line for r in rows] == [2, 4] and rows[0].get("note") == "x" and rows[1].score == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("question_id,question,answer,score\nq,Q,A,1\n", r"rows\.csv:1: missing column\(s\) reference_answer"),
        (HEADER + "\nq,Q,R.,A,1\nq,Q,R.,\"two\nlines\",1\nq,Q,R.,A,abc\n", r"rows\.csv:5: score 'abc' is not a number"),
        (HEADER + "\nq,Q,R.,A,-1\n", r"rows\.csv:2: score '-1' must be a number >= 0"),
        (HEADER + "\nq,Q,R.,A,nan\n", r"rows\.csv:2: score 'nan' must be a number >= 0"),
        (HEADER + "\nq,Q,,A,1\n", r"rows\.csv:2: empty reference_answer"),
        (HEADER + "\n,Q,R.,A,1\n", r"rows\.csv:2: empty question_id"),
        (HEADER + "\nq,Q,R.,A,1\nq,Q,Other.,A,1\n", r"rows\.csv:3: question 'q' has a different reference_answer than on line 2"),
        (HEADER + "\nq,Q,R.\n", r"rows\.csv:2: 3 field\(s\)"),
        ("", r"rows\.csv: the file is empty"),
    ],
)
def test_read_rows_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BenchDataError, match=message):
        gb.read_rows(_csv(tmp_path, text))


def test_read_rows_rejects_missing_files_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(BenchDataError, match="no such file"):
        gb.read_rows(tmp_path / "absent.csv")
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "\nq,Q,R.,caf\xe9,1\n").encode("latin-1"))
    with pytest.raises(BenchDataError, match="not UTF-8"):
        gb.read_rows(path)


def test_written_rows_read_back(tmp_path: Path) -> None:
    rows = [Row("beetle/Q1", "Why?", "Because.", "Since, \"well\"", 1.0, (("corpus", "beetle"),)),
            Row("beetle/Q1", "Why?", "Because.", "No idea", 0.5)]
    assert gb.write_rows(rows, tmp_path / "out.csv") == 2
    back = gb.read_rows(tmp_path / "out.csv")
    assert [(r.question_id, r.answer, r.score, r.get("corpus"), r.get("split")) for r in back] == [
        ("beetle/Q1", "Since, \"well\"", 1.0, "beetle", split_of("beetle/Q1")),
        ("beetle/Q1", "No idea", 0.5, "", split_of("beetle/Q1")),
    ]


def test_bank_rows_use_the_model_answer_as_reference(bank) -> None:
    rows = gb.bank_rows(bank)
    assert len(rows) == sum(len(q.examples) for q in bank.questions.values() if q.model_answer)
    row = next(r for r in rows if r.question_id == "rag-what-and-why")
    assert row.reference_answer == " ".join(bank.get("rag-what-and-why").model_answer.split())
    assert {r.get("label") for r in rows} == {"strong", "partial", "weak", "fluent_wrong"}
    assert all(0 <= r.score <= 10 for r in rows)


def test_reference_questions_get_valid_distinct_ids_and_points() -> None:
    first = gb.reference_question(Row("beetle/BULB_X", "", "Terminal 1 is connected. The gap is closed.", "a", 1))
    second = gb.reference_question(Row("beetle/bulb_x", "Q", "R.", "a", 1))
    assert first.id != second.id and first.id.startswith("beetle-bulb_x-")
    assert first.points == [] and first.text == "(question text not given)"
    assert [p.text for p in graded_question(first).points] == ["Terminal 1 is connected.", "The gap is closed."]
    assert gb.reference_question(Row("rag-what-and-why", "Q", "R.", "a", 1)).id == "rag-what-and-why"


QUESTION_XML = """<?xml version="1.0"?>
<question qtype="Q_EXPLAIN" id="{qid}" module="M" stype="EVALUATE">
  <questionText>{text}</questionText>
  <referenceAnswers>
{references}
  </referenceAnswers>
  <studentAnswers>
{answers}
  </studentAnswers>
</question>
"""


def _question(qid: str, text: str, references: list[tuple[str | None, str]], answers: list[tuple[str, str]]) -> str:
    refs = "\n".join(
        f'    <referenceAnswer{f" category={chr(34)}{c}{chr(34)}" if c else ""} id="{qid}-r{n}">{t}</referenceAnswer>'
        for n, (c, t) in enumerate(references)
    )
    studs = "\n".join(f'    <studentAnswer id="{qid}.{n}" accuracy="{a}">{t}</studentAnswer>' for n, (a, t) in enumerate(answers))
    return QUESTION_XML.format(qid=qid, text=text, references=refs, answers=studs)


@pytest.fixture
def semeval_zip(tmp_path: Path) -> Path:
    path = tmp_path / "semeval.zip"
    beetle_refs = [("GOOD", "The switch is open"), ("BEST", "The switch is open, so the circuit is not closed"), ("MINIMAL", "open")]
    beetle = [("correct", "the switch is open"), ("incorrect", "the bulb is broken"), ("correct", "  no closed\n path ")]
    scients = [("correct", "It stays lit."), ("incorrect", "It goes out.")]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("training/", "")
        for ways, labels in (("2way", ("correct", "incorrect")), ("3way", ("correct", "contradictory"))):
            archive.writestr(f"training/{ways}/beetle/SWITCH_Q.xml",
                             _question("SWITCH_Q", "Why does the bulb not light?", beetle_refs,
                                       [(a if a == "correct" else labels[1], t) for a, t in beetle]))
            archive.writestr(f"training/{ways}/sciEntsBank/ME-65a.xml",
                             _question("ME_65a", "What happens to the other bulbs?", [(None, "They stay lit."), (None, "Second.")],
                                       [(a if a == "correct" else labels[1], t) for a, t in scients]))
        archive.writestr("training/2way/sciEntsBank/README.txt", "not a question")
    return path


def test_semeval_converter_on_a_synthetic_zip(semeval_zip: Path) -> None:
    rows = gb.semeval_rows(semeval_zip)
    assert gb.corpus_counts(rows) == {"beetle": (1, 3), "sciEntsBank": (1, 2)}
    beetle = [r for r in rows if r.question_id == "beetle/SWITCH_Q"]
    assert {r.reference_answer for r in beetle} == {"The switch is open, so the circuit is not closed"}  # BEST, not first
    assert [(r.answer, r.score) for r in beetle] == [("the switch is open", 1.0), ("the bulb is broken", 0.0), ("no closed path", 1.0)]
    assert beetle[1].get("accuracy") == "incorrect" and beetle[0].get("corpus") == "beetle"
    sci = [r for r in rows if r.question_id == "sciEntsBank/ME_65a"]
    assert sci[0].reference_answer == "They stay lit." and sci[0].question == "What happens to the other bulbs?"
    three = gb.semeval_rows(semeval_zip, ways="3way")
    assert [r.score for r in three if r.question_id == "sciEntsBank/ME_65a"] == [2.0, 0.0]  # contradictory -> 0


def test_semeval_converter_errors(tmp_path: Path, semeval_zip: Path) -> None:
    with pytest.raises(BenchDataError, match="no such file"):
        gb.semeval_rows(tmp_path / "absent.zip")
    (tmp_path / "bad.zip").write_text("not a zip")
    with pytest.raises(BenchDataError, match="not a readable zip"):
        gb.semeval_rows(tmp_path / "bad.zip")
    with pytest.raises(BenchDataError, match="ways must be"):
        gb.semeval_rows(semeval_zip, ways="5way")
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("training/2way/beetle/Q.xml", _question("Q", "Q?", [("BEST", "R")], [("partially_correct", "x")]))
    with pytest.raises(BenchDataError, match="accuracy 'partially_correct'"):
        gb.semeval_rows(odd)
    with pytest.raises(BenchDataError, match=r"no training/3way/<corpus>/\*\.xml"):
        gb.semeval_rows(odd, ways="3way")


# --- grading and the commands ---------------------------------------------------------------------

SMALL_ROWS = [
    ("circuit/q1", "Why is the bulb off?", "The switch is open so no current flows.", "The switch is open so no current flows.", 1),
    ("circuit/q1", "Why is the bulb off?", "The switch is open so no current flows.", "Because the switch is open.", 1),
    ("circuit/q1", "Why is the bulb off?", "The switch is open so no current flows.", "I like turtles.", 0),
    ("circuit/q2", "What does a battery do?", "A battery provides voltage that drives current.", "It provides the voltage that drives the current.", 1),
    ("circuit/q2", "What does a battery do?", "A battery provides voltage that drives current.", "It is made of metal.", 0),
    ("circuit/q2", "What does a battery do?", "A battery provides voltage that drives current.", "Batteries store energy and give voltage.", 1),
    ("circuit/q4", "Why do the bulbs stay lit?", "The bulbs are in parallel, each on its own path.", "They are in parallel, on separate paths.", 1),
    ("circuit/q4", "Why do the bulbs stay lit?", "The bulbs are in parallel, each on its own path.", "Nothing happens to anything.", 0),
    ("circuit/q4", "Why do the bulbs stay lit?", "The bulbs are in parallel, each on its own path.", "All bulbs go dark.", 0),
]


@pytest.fixture
def rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*gb.COLUMNS, "label"])
        writer.writerows([*row, "x"] for row in SMALL_ROWS)
    return path


def invoke(*args: str):
    return CliRunner().invoke(bench_app, list(args), env={"COLUMNS": "200"})


def test_offline_grader_is_deterministic(offline_engine, bank) -> None:
    question = bank.get("rag-what-and-why")
    answer = next(e.answer for e in question.examples if e.label == "partial")
    first, second = offline_engine.assess_sync(question, answer), offline_engine.assess_sync(question, answer)
    assert [v.model_dump() for v in first.verdicts] == [v.model_dump() for v in second.verdicts]
    assert first.misconceptions == second.misconceptions and first.score == second.score
    rows = [r for r in gb.bank_rows(bank) if r.question_id == "rag-what-and-why"]
    graded = gb.grade_rows(rows, offline_engine, repeat=2)
    assert len(graded) == 4 and all(g.spread == 0.0 and g.engines == ["offline", "offline"] for g in graded)
    assert gb.agreement(graded).spread.share_with_spread == 0.0


def test_bench_grading_command_offline(rows_csv: Path, offline_engine) -> None:
    result = invoke("grading", str(rows_csv))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Grading 9 rows of 3 questions with offline" in out
    assert figures(out, "questions")[:2] == ["3", "1"]
    assert figures(out, "rows")[:2] == ["9", "3"]  # circuit/q4 is the held-out question
    for figure in ("Pearson r (linear LOQO)", "QWK (isotonic LOQO)", "macro-F1 (LOQO threshold)", "ROC AUC", "all rows"):
        assert figure in out
    assert ">= 0.70 (unseen questions)" in out and "rows/s" in out and "Traceback" not in out
    limited = invoke("grading", str(rows_csv), "--limit", "3", "--scale-max", "1")
    assert limited.exit_code == 0 and "Grading 3 rows of 1 questions" in limited.output


def test_bench_grading_command_errors_are_user_errors(tmp_path: Path, rows_csv: Path) -> None:
    for args, message in [
        (("grading", str(tmp_path / "absent.csv")), "absent.csv: no such file"),
        (("grading", str(rows_csv), "--engine", "gpt"), "--engine must be offline or llm"),
        (("grading", str(rows_csv), "--engine", "llm"), "--engine llm needs a model"),
        (("grading", str(_csv(tmp_path, HEADER + "\nq,Q,R.,A,7\n", "seven.csv")), "--scale-max", "5"), "above --scale-max 5"),
        (("semeval-csv", str(tmp_path / "out.csv"), "--zip", str(tmp_path / "none.zip")), "SemEval-2013 zip not found"),
    ]:
        result = invoke(*args)
        assert isinstance(result.exception, UserError), (args, result.output)
        assert message in str(result.exception)


def test_bench_converter_commands(tmp_path: Path, semeval_zip: Path) -> None:
    result = invoke("semeval-csv", str(tmp_path / "sem.csv"), "--zip", str(semeval_zip))
    assert result.exit_code == 0, result.output
    assert "beetle: 1 questions, 3 rows" in result.output and "sciEntsBank: 1 questions, 2 rows" in result.output
    assert [r.score for r in gb.read_rows(tmp_path / "sem.csv")] == [1.0, 0.0, 1.0, 1.0, 0.0]
    result = invoke("bank-csv", str(tmp_path / "bank.csv"))
    assert result.exit_code == 0, result.output
    assert len(gb.read_rows(tmp_path / "bank.csv")) >= 500


def mentions_the_cause(point_id: str, answer: str) -> str:
    """A deterministic stub grader: covered when the answer names a cause."""
    return "covered" if any(w in answer.lower() for w in ("open", "voltage", "parallel")) else "missed"


def test_bench_grading_with_the_llm_engine_repeats_and_reports_no_spread(rows_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with StubLLMServer(rule=grading_rule(mentions_the_cause)) as stub:
        monkeypatch.setenv("INTERVIEWER_MODEL", "openai/stub")
        monkeypatch.setenv("INTERVIEWER_API_BASE", stub.url)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        result = invoke("grading", str(rows_csv), "--engine", "llm", "--repeat", "2")
        assert result.exit_code == 0, result.output
        assert stub.calls == 18
    out = result.output
    assert figures(out, "repeats") == ["2", "2"]  # all rows, held-out questions
    assert figures(out, "score spread, mean (raw 0-10)") == ["0.00", "0.00"] and figures(out, "score spread, max (raw 0-10)") == ["0.00", "0.00"]
    assert figures(out, "rows with any spread") == ["0.000", "0.000"]
    assert figures(out, "ROC AUC")[0] == "1.000"  # the stub's rule agrees with the labels
    assert "offline fallback" not in out and "llm (openai/stub at http://127.0.0.1:" in out


def figures(output: str, metric: str) -> list[str]:
    """The value cells of the table row labelled ``metric`` (the target column left out)."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)][1:-1]
        if cells and cells[0] == metric:
            return cells[1:-1]
    raise AssertionError(f"no table row {metric!r} in:\n{output}")
