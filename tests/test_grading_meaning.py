"""The offline grader reads meaning, not only words: the opposite of a point earns nothing.

Graded on real bank questions with the real model: the model answer negated sentence by
sentence, the points framed as myths, the rubric's keywords strung into a sentence and the
question restated must score low, the model answer itself high; a contradicted point is
reported with the quote and what is true instead; a follow-up answer that contradicts a point
lowers it, and the interviewer's words before a follow-up never praise a weak answer.
"""

from __future__ import annotations

import pytest

from interviewer.domain import Assessment, MisconceptionHit, PointVerdict, Question, Verdict
from interviewer.grading.scoring import merge_follow_up, score_verdicts
from interviewer.interview.session import Interviewer
from interviewer.text import split_sentences

QUESTIONS = ("emb-static-vs-contextual", "bv-definition", "rag-hybrid-search", "reg-l1-l2")


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:]


@pytest.fixture(scope="module")
def questions(bank) -> list[Question]:
    return [bank.get(qid) for qid in QUESTIONS]


def test_the_model_answer_scores_high_and_its_negation_low(questions, offline_engine) -> None:
    for question in questions:
        assert offline_engine.assess_sync(question, question.model_answer).score >= 8.0, question.id
        negated = " ".join(f"It is false that {_lower_first(s)}" for s in split_sentences(question.model_answer or ""))
        assert offline_engine.assess_sync(question, negated).score <= 3.0, question.id


def test_points_framed_as_myths_score_low_and_are_reported(questions, offline_engine) -> None:
    for question in questions:
        myths = " ".join(f"It is a common myth that {_lower_first(p.text)}" for p in question.points)
        graded = offline_engine.assess_sync(question, myths)
        assert graded.score <= 3.0, question.id
        reported = [hit for hit in graded.misconceptions if hit.point_id]
        assert reported, question.id
        assert all(hit.correction.startswith("In fact: ") for hit in reported)
        assert all(hit.kind in ("framing", "negation") for hit in reported)


def test_one_negated_sentence_takes_that_points_credit_only(bank, offline_engine) -> None:
    question = bank.get("emb-static-vs-contextual")
    texts = [p.text for p in question.points]
    texts[0] = texts[0].replace("assign each word type", "do not assign each word type")
    graded = offline_engine.assess_sync(question, " ".join(texts))
    verdicts = {v.point_id: v.verdict for v in graded.verdicts}
    assert verdicts[question.points[0].id] != Verdict.covered  # another sentence may still hint at it
    assert all(verdicts[p.id] == Verdict.covered for p in question.points[1:])
    assert any(hit.point_id == question.points[0].id for hit in graded.misconceptions)


def test_keywords_strung_together_and_the_question_restated_state_nothing(questions, offline_engine) -> None:
    for question in questions:
        keywords = [cue.split("|")[0] for point in question.points for cue in point.keywords]
        salad = "The " + ", and the ".join(keywords) + " is the answer."
        assert offline_engine.assess_sync(question, salad).score <= 3.0, question.id
        assert offline_engine.assess_sync(question, question.text).score <= 3.0, question.id
        listed = ", ".join(keywords[:-1]) + f" and {keywords[-1]} are what matters here."  # commas vanish in tokens
        assert offline_engine.assess_sync(question, listed).score <= 3.0, question.id


def test_a_salad_of_cue_compounds_states_nothing(bank, offline_engine) -> None:
    """Cue words written as compounds ("rule-based", "click-through") leave their second half
    outside the cue; that half is still part of the cue's word, not something stated (these
    scored 10.0 and 3.3)."""
    answers = {
        "aif-definition-history": "It is about the human intelligence and the tasks and the rule-based and the expert systems "
        "with the brittle. Maintain, machine learning, deep learning and transformer-based are what matters here.",
        "sd-semantic-search": "The chunk, and the overlap, and the metadata, and the embeddings, and the same model is the "
        "answer. It is about the cosine and the faiss and the top-k and the bm25 with the hybrid. Rerank, recall, labelled "
        "and click-through are what matters here.",
    }
    for qid, salad in answers.items():
        assert offline_engine.assess_sync(bank.get(qid), salad).score <= 3.0, qid


def test_a_copy_of_the_model_answer_with_a_reversed_direction_contradicts_its_point(bank, offline_engine) -> None:
    """The model answer's sentences are read as more phrasings of the points they restate."""
    from interviewer.grading.offline.engine import model_answer_claims

    question = bank.get("ca-logreg")
    filed = model_answer_claims(question, offline_engine.embedder.encode_cached)
    assert "log-loss" in filed and set(filed) <= {p.id for p in question.points}
    sentence = next(s for s in split_sentences(question.model_answer) if "minimising log loss" in s)
    wrong = sentence.replace("minimising log loss", "maximising log loss")  # too far from the point's own wording to read alone
    graded = offline_engine.assess_sync(question, wrong)
    assert any(hit.point_id == "log-loss" and hit.kind == "direction" for hit in graded.misconceptions), graded.misconceptions
    assert offline_engine.assess_sync(question, sentence).misconceptions == []


def test_an_answer_with_the_two_contrasted_things_traded_scores_low(bank, offline_engine) -> None:
    """Read by meaning too: "Variance is systematic error from a model too simple ..." reads as
    the bias point once the two names trade places, so it is a swap, not variance's credit."""
    import re

    question = bank.get("bv-definition")
    other = {"bias": "variance", "variance": "bias", "Bias": "Variance", "Variance": "Bias"}
    swapped = re.sub(r"\b(?:[Bb]ias|[Vv]ariance)\b", lambda m: other[m.group()], question.model_answer)
    graded = offline_engine.assess_sync(question, swapped)
    assert graded.score <= 3.0, (graded.score, graded.verdicts)
    assert any(hit.kind == "swap" for hit in graded.misconceptions), graded.misconceptions
    assert offline_engine.assess_sync(question, question.model_answer).score >= 8.0


def test_definitions_given_to_the_wrong_thing_earn_neither_point(bank, offline_engine) -> None:
    """"Precision is the share of real positives the model finds" is recall's definition: close
    to the precision point by its name, yet evidence for neither definition."""
    question = bank.get("meval-precision-recall")
    right = (
        "Precision is the share of the cases the model flagged as positive that really are positive, TP over TP plus FP. "
        "Recall is the share of the real positives that the model manages to find, TP over TP plus FN."
    )
    wrong = right.replace("Precision", "@").replace("Recall", "Precision").replace("@", "Recall")
    graded = offline_engine.assess_sync(question, wrong)
    verdicts = {v.point_id: v.verdict for v in graded.verdicts}
    assert graded.score <= 3.0, (graded.score, verdicts)
    assert verdicts["precision-definition"] != Verdict.covered and verdicts["recall-definition"] != Verdict.covered
    assert any(hit.kind == "swap" for hit in graded.misconceptions), graded.misconceptions
    correct = {v.point_id: v.verdict for v in offline_engine.assess_sync(question, right).verdicts}
    assert correct["precision-definition"] == correct["recall-definition"] == Verdict.covered


def _assessment(question: Question, verdicts: dict[str, Verdict], hits: list[MisconceptionHit] | None = None) -> Assessment:
    pvs = [PointVerdict(point_id=pid, verdict=v) for pid, v in verdicts.items()]
    return Assessment(question_id=question.id, verdicts=pvs, misconceptions=hits or [],
                      score=score_verdicts(question, pvs, hits or []))


def test_a_follow_up_that_contradicts_a_point_lowers_it(bank) -> None:
    question = bank.get("emb-static-vs-contextual")
    first, second = question.points[0].id, question.points[1].id
    before = _assessment(question, {first: Verdict.covered, second: Verdict.missed})
    hit = MisconceptionHit(misconception_id=f"contradicts-{first}", evidence="Word2vec changes the vector.",
                           correction="In fact: ...", point_id=first, kind="negation")
    after = _assessment(question, {second: Verdict.covered}, [hit])
    merged = merge_follow_up(question, before, after)
    assert merged.verdict_for(first) == Verdict.missed
    assert merged.verdict_for(second) == Verdict.covered
    assert merged.score < before.score + 10 * question.points[1].weight / sum(p.weight for p in question.points)


def test_acknowledgements_match_the_grade(bank) -> None:
    question = bank.get("emb-static-vs-contextual")
    ids = [p.id for p in question.points]
    weak = _assessment(question, {ids[0]: Verdict.covered, **{i: Verdict.missed for i in ids[1:]}})
    assert weak.score < 5
    assert "Good" not in Interviewer._acknowledgement(weak)
    strong = _assessment(question, {i: Verdict.covered for i in ids[:3]} | {ids[3]: Verdict.missed})
    assert Interviewer._acknowledgement(strong).startswith("Good")
    # "I do not know" after a good answer adds nothing: no praise for it
    assert "Good" not in Interviewer._acknowledgement(strong, previous=strong)
    wrong = strong.model_copy(update={"misconceptions": [MisconceptionHit(misconception_id="x", evidence="e", correction="c")]})
    assert Interviewer._acknowledgement(wrong, previous=weak).startswith("Not quite")


# A copy of a model-answer sentence with one word reversed, and the sentence as written: the
# copy is false as a whole, so it earns nothing for any point (it scored 3.3-3.9 before).
FLIPPED_COPIES = [
    ("lp-choose-paradigm", "so the labelled set keeps growing", "so the labelled set keeps shrinking"),
    ("lm-perplexity", "and lower is better", "and lower is worse"),
    ("mm-clip-training", "supply more negatives", "supply less negatives"),
]


@pytest.mark.parametrize(("qid", "true", "false"), FLIPPED_COPIES)
def test_a_copied_sentence_with_one_word_reversed_earns_nothing(bank, offline_engine, qid: str, true: str, false: str) -> None:
    question = bank.get(qid)
    sentence = next(s for s in split_sentences(question.model_answer or "") if true in s)
    as_written = offline_engine.assess_sync(question, sentence)
    assert any(v.verdict != Verdict.missed for v in as_written.verdicts), sentence
    flipped = offline_engine.assess_sync(question, sentence.replace(true, false))
    assert all(v.verdict == Verdict.missed for v in flipped.verdicts), flipped.verdicts
    assert flipped.score <= 3.0


def test_a_reversed_copy_is_reported_though_another_sentence_states_the_point(bank, offline_engine) -> None:
    """A near copy of a true sentence with the things traded is a false statement whatever the
    rest of the answer says: it is reported with the point it gets wrong (it was not, when a
    correct sentence about the same point stood elsewhere in the answer)."""
    question = bank.get("emb-sentence-embeddings")
    sentences = split_sentences(question.model_answer or "")
    k = next(i for i, s in enumerate(sentences) if "as a bi-encoder" in s)
    sentences[k] = sentences[k].replace("as a bi-encoder", "as a cross-encoder")
    point = next(p for p in question.points if p.id == "bi-encoder")
    graded = offline_engine.assess_sync(question, " ".join([*sentences, point.text]))
    hits = [h for h in graded.misconceptions if sentences[k] in h.evidence]
    assert hits and hits[0].point_id == "bi-encoder" and hits[0].kind == "swap", graded.misconceptions
    verdict = next(v for v in graded.verdicts if v.point_id == "bi-encoder")
    assert verdict.evidence is None or sentences[k] not in verdict.evidence


def test_a_reversed_copy_of_a_model_answer_sentence_about_no_point_is_reported(bank, offline_engine) -> None:
    """The model answer's opening sentence is about no rubric point; copied with the contrasted
    things traded it is still false, reported with that sentence as the correction."""
    question = bank.get("mm-vlm-architecture")
    first = split_sentences(question.model_answer or "")[0]
    assert "LLaVA" in first
    swapped = first.replace("LLaVA", "Flamingo")
    graded = offline_engine.assess_sync(question, swapped + " " + " ".join(split_sentences(question.model_answer or "")[1:]))
    hit = next(h for h in graded.misconceptions if h.evidence == swapped)
    assert hit.point_id is None and hit.kind == "swap" and first in hit.correction
    assert offline_engine.assess_sync(question, question.model_answer or "").misconceptions == []


def test_two_sentences_each_naming_the_wrong_thing_do_not_add_up_to_the_point(bank, offline_engine) -> None:
    """"Ridge ... snaps weak weights to exactly zero. The lasso ... shrinks everything": the pair
    carries the lasso point's name and its words between them, but the sentence with the words
    names ridge, so it is no evidence for the lasso point, alone or paired."""
    question = bank.get("reg-l1-l2")
    wrong = (
        "Ridge, the L2 penalty, is the one you use for automatic feature selection, because it snaps the weak "
        "weights to exactly zero."
    )
    answer = wrong + " The lasso's absolute-value penalty is the gentle one: it shrinks every weight in proportion to its size."
    graded = offline_engine.assess_sync(question, answer)
    verdict = next(v for v in graded.verdicts if v.point_id == "l1-sparse")
    assert verdict.evidence is None or wrong not in verdict.evidence, verdict


def test_a_paraphrase_in_other_words_is_covered_by_its_meaning(bank, offline_engine) -> None:
    """An alias taken out of the rubric and given as the answer shares too few of the point's
    words for similarity and cues to reach "covered"; the learned detector reads it as stating
    the point, so it is covered. Its negation earns nothing."""
    from interviewer.grading.offline.engine import GraderParams, OfflineEngine

    question = bank.get("dl-vanishing-exploding")
    alias = "Clip the gradient norm to a maximum value so a single bad step cannot blow up the weights."
    held_out = question.model_copy(
        update={
            "points": [
                p.model_copy(update={"aliases": [a for a in p.aliases if a != alias]}) if p.id == "fixes-exploding" else p
                for p in question.points
            ]
        }
    )
    assert all(alias not in p.aliases for p in held_out.points)

    def verdict(engine, answer: str) -> Verdict:
        return next(v.verdict for v in engine.assess_sync(held_out, answer).verdicts if v.point_id == "fixes-exploding")

    assert verdict(offline_engine, alias) == Verdict.covered
    by_words_only = OfflineEngine(embedder=offline_engine.embedder, params=GraderParams.packaged(states_min=1.01))
    assert verdict(by_words_only, alias) == Verdict.partial
    assert verdict(offline_engine, "Never clip the gradient norm: it does nothing to stop a bad step blowing up the weights.") != Verdict.covered
