"""The LLM engine's evidence cannot be gamed: scripted gullible models against the quote check.

Each test scripts a model (litellm's ``mock_response``, or the ``StubLLMServer``) that grades the
way a gullible or compromised model would: one word quoted for every point, one sentence quoted
for every point, a sentence about something else, a myth quoted as the point, escape sequences in
its words, "Perfect, 10/10!" over a weak answer. An honest model quoting whole sentences keeps its
credit (the checks must not over-reject).
"""

from __future__ import annotations

import json
import os

import pytest

from interviewer.domain import PointVerdict, Verdict
from interviewer.grading.base import AssessContext
from interviewer.grading.evidence import check_verdicts
from interviewer.grading.llm.client import ModelConfig
from interviewer.grading.llm.engine import LLMEngine
from interviewer.grading.llm.quote_check import QuoteCheckParams, check_quotes
from interviewer.grading.llm.utterance_check import score_claim, stated_scores
from interviewer.safe_text import StreamSanitiser, sanitise
from interviewer.testing import ScriptedEngine, StubLLMServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

QUESTION_ID = "emb-static-vs-contextual"
STATIC = 'Static embeddings like word2vec or GloVe give every word one vector, learned once, so "bank" has the same vector in every sentence.'
CONTEXTUAL = ("Contextual embeddings come from a model such as BERT, which looks at the surrounding words and produces a "
              "different vector for each occurrence.")
POLYSEMY = "That matters for words with several meanings: river bank versus the bank that gives you a loan."
COST = "The trade-off is cost, since a static vector is a table lookup while BERT needs a forward pass for each sentence."
STRONG = " ".join([STATIC, CONTEXTUAL, POLYSEMY, COST])
WEAK = "Embeddings turn words into numbers so that a neural network can use them. Both kinds are vectors."
OWN_SENTENCE = {
    "static-one-vector": STATIC,
    "contextual-depends-on-sentence": CONTEXTUAL,
    "polysemy-example": POLYSEMY,
    "cost-tradeoff": COST,
}
CONTROLS = "\x1b\x07\x9b\x9d\u202e\u2066"


@pytest.fixture
def question(bank):
    return bank.get(QUESTION_ID)


@pytest.fixture(scope="module")
def embedder():
    from interviewer.embedder import shared_embedder

    shared = shared_embedder()
    shared.wait()
    return shared


def grading(verdicts: dict[str, tuple[str, str | None]], utterance: str = "What does each kind cost at inference time?",
            follow_up_point: str | None = None, reasoning: str = "r") -> str:
    points = [{"point_id": pid, "reasoning": reasoning, "evidence": ev, "verdict": v} for pid, (v, ev) in verdicts.items()]
    return json.dumps({"analysis": "a", "points": points, "misconceptions": [], "follow_up_point": follow_up_point,
                       "utterance": utterance})


def mocked(reply: str) -> LLMEngine:
    """An engine whose model answers ``reply`` (litellm's mock_response: no network)."""
    return LLMEngine(ModelConfig(model="openai/gpt-4o-mini", api_key="sk-test", extra={"mock_response": reply}),
                     fallback=ScriptedEngine(name="offline", model="fallback"))


def verdicts_of(assessment) -> dict[str, Verdict]:
    return {v.point_id: v.verdict for v in assessment.verdicts}


# an honest model keeps its credit ------------------------------------------------------------


async def test_an_honest_model_quoting_whole_sentences_keeps_its_credit(question, embedder) -> None:
    reply = grading({pid: ("covered", sentence) for pid, sentence in OWN_SENTENCE.items()},
                    utterance="Excellent, that's a complete answer: 10/10.")
    assessment = await mocked(reply).assess(question, STRONG)
    assert set(verdicts_of(assessment).values()) == {Verdict.covered}
    assert assessment.score == 10.0
    assert assessment.notes == []
    assert assessment.utterance == "Excellent, that's a complete answer: 10/10."   # praise that agrees with our score stays


def test_honest_few_shot_gradings_of_the_bank_keep_their_credit(bank, embedder) -> None:
    """The grading the few-shot examples teach (human verdicts, each quoting the answer's best
    sentence for its point) for the strong and partial examples of every sixth bank question."""
    from interviewer.grading.llm.prompts import example_grading
    from interviewer.grading.scoring import score_verdicts

    questions = sorted((q for q in bank.questions.values() if q.points), key=lambda q: q.id)[::6]
    credited = kept = 0
    drops = []
    for question in questions:
        for example in (e for e in question.examples if e.label in ("strong", "partial")):
            graded = json.loads(example_grading(question, example, question.points))["points"]
            verdicts = [PointVerdict(point_id=p["point_id"], verdict=Verdict(p["verdict"]), evidence=p["evidence"]) for p in graded]
            verdicts, notes = check_verdicts(verdicts, example.answer)
            assert notes == []
            checked, _ = check_quotes(question, verdicts, example.answer, embedder=embedder)
            for before, after in zip(verdicts, checked):
                if before.verdict != Verdict.missed:
                    credited += 1
                    kept += after.verdict != Verdict.missed
            drops.append(score_verdicts(question, verdicts, []) - score_verdicts(question, checked, []))
    assert credited > 100
    assert kept / credited >= 0.93, f"{credited - kept} of {credited} honest credits lost"
    assert sum(drops) / len(drops) <= 0.6


# gullible models ---------------------------------------------------------------------------


async def test_one_word_quotes_for_every_point_earn_nothing(question, embedder) -> None:
    reply = grading({pid: ("covered", "Static") for pid in OWN_SENTENCE})
    assessment = await mocked(reply).assess(question, STRONG)
    assert set(verdicts_of(assessment).values()) == {Verdict.missed}
    assert assessment.score == 0.0
    assert all(v.evidence is None for v in assessment.verdicts)
    flagged = [n for n in assessment.notes if n.startswith("evidence check")]
    assert len(flagged) == 4 and all("quoted a single word ('Static')" in n and n.endswith("counted as missed") for n in flagged)


async def test_a_short_fragment_or_a_keyword_list_is_no_evidence(question, embedder) -> None:
    answer = STRONG + " Word2vec, GloVe, fastText, static, fixed, one vector, BERT, ELMo, context."
    reply = grading({
        "static-one-vector": ("covered", "same vector"),
        "contextual-depends-on-sentence": ("covered", "BERT, ELMo, context"),
        "polysemy-example": ("covered", "Word2vec, GloVe, fastText, static, fixed, one vector"),
    })
    assessment = await mocked(reply).assess(question, answer)
    assert assessment.score == 0.0
    notes = " ".join(assessment.notes)
    assert "quoted only 2 words" in notes and "quoted only 3 words" in notes and "a bare list of keywords" in notes


async def test_a_whole_short_sentence_is_a_statement_a_fragment_is_not(question, embedder) -> None:
    answer = "Word2vec is static. BERT is contextual and looks at the sentence around the word."
    reply = grading({"static-one-vector": ("covered", "Word2vec is static."),
                     "contextual-depends-on-sentence": ("covered", "BERT is contextual")})
    assessment = await mocked(reply).assess(question, answer)
    verdicts = verdicts_of(assessment)
    assert verdicts["static-one-vector"] == Verdict.covered, assessment.notes
    assert verdicts["contextual-depends-on-sentence"] == Verdict.missed
    assert any("'contextual-depends-on-sentence'" in n and "quoted only 3 words" in n for n in assessment.notes)


async def test_the_same_sentence_for_every_point_counts_only_where_it_is_related(question, embedder) -> None:
    reply = grading({pid: ("covered", STATIC) for pid in OWN_SENTENCE})
    assessment = await mocked(reply).assess(question, STRONG)
    verdicts = verdicts_of(assessment)
    assert verdicts["static-one-vector"] == Verdict.covered
    assert verdicts["contextual-depends-on-sentence"] == Verdict.missed
    assert verdicts["cost-tradeoff"] == Verdict.missed
    # '"bank" has the same vector in every sentence' is about the polysemy point too: it may keep it
    assert assessment.score <= 10 * (3 + 2) / 9 + 0.05
    for point_id in ("contextual-depends-on-sentence", "cost-tradeoff"):
        assert any(f"'{point_id}'" in n and "counted as missed" in n for n in assessment.notes)


async def test_a_quote_from_a_sentence_about_another_point_is_missed(question, embedder) -> None:
    reply = grading({"static-one-vector": ("covered", STATIC), "cost-tradeoff": ("covered", POLYSEMY),
                     "polysemy-example": ("covered", CONTEXTUAL)})
    assessment = await mocked(reply).assess(question, STRONG)
    verdicts = verdicts_of(assessment)
    assert verdicts == {"static-one-vector": Verdict.covered, "contextual-depends-on-sentence": Verdict.missed,
                        "polysemy-example": Verdict.missed, "cost-tradeoff": Verdict.missed}
    assert assessment.score == pytest.approx(10 * 3 / 9, abs=0.05)
    assert sum(n.startswith("evidence check") for n in assessment.notes) == 2


async def test_a_fragment_of_a_sentence_about_another_point_is_missed(question, embedder) -> None:
    """Merely partial, and a fragment: its sentence is about the contextual point, not the cost."""
    reply = grading({"contextual-depends-on-sentence": ("covered", CONTEXTUAL),
                     "cost-tradeoff": ("partial", "a model such as BERT, which looks at the surrounding words")})
    assessment = await mocked(reply).assess(question, STRONG)
    verdicts = verdicts_of(assessment)
    assert verdicts["contextual-depends-on-sentence"] == Verdict.covered
    assert verdicts["cost-tradeoff"] == Verdict.missed
    assert any("'cost-tradeoff'" in n and "is about 'contextual-depends-on-sentence'" in n for n in assessment.notes)


async def test_one_passage_for_two_points_keeps_the_point_it_is_about(question, embedder) -> None:
    """A piece of the static sentence re-used for the polysemy point: the sentence touches that
    point ("bank" has one vector), but the piece quoted for it does not."""
    reply = grading({"static-one-vector": ("covered", STATIC),
                     "polysemy-example": ("covered", "give every word one vector, learned once")})
    assessment = await mocked(reply).assess(question, STRONG)
    verdicts = verdicts_of(assessment)
    assert verdicts["static-one-vector"] == Verdict.covered
    assert verdicts["polysemy-example"] == Verdict.missed
    assert any("'polysemy-example'" in n and "the same passage is its evidence for 'static-one-vector'" in n
               for n in assessment.notes)
    # the piece of the same sentence that is about the example keeps it
    reply = grading({"static-one-vector": ("covered", STATIC),
                     "polysemy-example": ("partial", 'so "bank" has the same vector in every sentence')})
    assessment = await mocked(reply).assess(question, STRONG)
    assert verdicts_of(assessment)["polysemy-example"] == Verdict.partial, assessment.notes


async def test_the_whole_answer_quoted_for_every_point_counts_as_its_best_sentence(question, embedder) -> None:
    """Quoting everything for everything earns each point what its own sentence would, no more
    (and not what two sentences measured as one text would: they gather the cue words of both)."""
    reply = grading({pid: ("covered", STRONG) for pid in OWN_SENTENCE})
    assessment = await mocked(reply).assess(question, STRONG)
    assert set(verdicts_of(assessment).values()) == {Verdict.covered}, assessment.notes
    answer = f"{STATIC} I have not used BERT much. Embeddings are vectors of numbers."
    reply = grading({pid: ("covered", answer) for pid in OWN_SENTENCE})
    assessment = await mocked(reply).assess(question, answer)
    verdicts = verdicts_of(assessment)
    assert verdicts["static-one-vector"] == Verdict.covered
    assert verdicts["cost-tradeoff"] == Verdict.missed
    # "I have not used BERT much." names the point's model: by the offline measure it relates to
    # the point weakly (between the floor and partial_below), so "covered" counts as partial
    assert verdicts["contextual-depends-on-sentence"] != Verdict.covered
    assert assessment.score <= 10 * (3 + 2 + 1.5) / 9 + 0.05


async def test_a_myth_framed_statement_of_the_point_is_missed(question, embedder) -> None:
    myth = ("It is a myth that static embeddings such as word2vec or GloVe assign each word type a single fixed vector, "
            "whatever sentence it appears in.")
    answer = f"{myth} {CONTEXTUAL}"
    reply = grading({"static-one-vector": ("covered", myth), "contextual-depends-on-sentence": ("covered", CONTEXTUAL)})
    assessment = await mocked(reply).assess(question, answer)
    verdicts = verdicts_of(assessment)
    assert verdicts["static-one-vector"] == Verdict.missed
    assert verdicts["contextual-depends-on-sentence"] == Verdict.covered
    assert any("'static-one-vector'" in n and "contradicts the point" in n for n in assessment.notes)


# what the model writes for the candidate to read ---------------------------------------------


async def test_escape_sequences_never_reach_the_assessment(question, embedder) -> None:
    reply = json.dumps({
        "analysis": "\x1b[2J",
        "points": [
            {"point_id": "static-one-vector", "reasoning": "\x1b[31mred\x1b[0m reasoning \x1b]0;pwned\x07", "verdict": "covered",
             "evidence": STATIC},
            {"point_id": "\x1b[2Jno-such-point\u202e", "reasoning": "", "verdict": "covered", "evidence": "x"},
        ],
        "misconceptions": [],
        "follow_up_point": "contextual-depends-on-sentence",
        "utterance": "\x1b[2J\x1b[31mWhere\x1b[0m does the vector \x9b31m come from \x1b]8;;http://evil\x1b\\in BERT\u202e?\x07",
    })
    assessment = await mocked(reply).assess(question, STATIC)
    texts = [assessment.utterance or "", *assessment.notes, *(v.reasoning or "" for v in assessment.verdicts),
             *(v.evidence or "" for v in assessment.verdicts)]
    assert not [t for t in texts if any(c in t for c in CONTROLS)]
    assert assessment.utterance == "Where does the vector come from in BERT?"
    assert any("unknown points" in n and "no-such-point" in n for n in assessment.notes)
    assert assessment.verdict_for("static-one-vector") == Verdict.covered


async def test_streamed_words_are_made_safe_as_they_arrive(question, embedder) -> None:
    utterance = "\x1b[2J\x1b]0;pwned\x07Where does \x1b[1;31mthe vector\x1b[0m come from in BERT, and why does it change?"
    reply = grading({"static-one-vector": ("covered", STATIC)}, utterance=utterance,
                    follow_up_point="contextual-depends-on-sentence")
    with StubLLMServer() as stub:
        stub.push(reply)
        engine = LLMEngine(ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-test-not-a-real-key",
                                       timeout=5.0, retries=0, stream=True), fallback=ScriptedEngine(name="offline"))
        deltas: list[str] = []
        assessment = await engine.assess(question, STRONG, context=AssessContext(follow_up_allowed=True, on_utterance=deltas.append))
    assert len(deltas) > 1
    assert not any(c in "".join(deltas) for c in CONTROLS)
    assert "".join(deltas) == assessment.utterance == "Where does the vector come from in BERT, and why does it change?"


async def test_coaching_and_generated_questions_are_made_safe() -> None:
    from interviewer.grading.base import Passage

    def rule(request: dict) -> str:
        text = str(request["messages"][-1]["content"])
        if text.startswith("Results, question by question"):
            return "\x1b[2JRevise \x1b[31mdropout\x1b[0m.\r\nThen \u202eattention\u202c.\x07"
        return json.dumps({"question": "\x1b]0;pwned\x07What does dropout do?\x1b[2J", "difficulty": 2, "model_answer": "It \x1b[1mdrops\x1b[0m units.",
                           "points": [{"id": "drop\x1b[31m", "text": "Units are \x1b[31mdropped\x1b[0m at random.", "weight": 2,
                                       "keywords": ["\x1b[1mdrop"], "follow_up": "Why\x07?", "hint": "\u202eThink."}]})

    with StubLLMServer(rule=rule) as stub:
        engine = LLMEngine(ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-test-not-a-real-key",
                                       timeout=5.0, retries=0, stream=False), fallback=ScriptedEngine(name="offline"))
        note, _ = await engine.coach("Results, question by question: ...")
        generated = await engine.ask("Dropout", [Passage("notes.md > Dropout", "Dropout switches off units.")], topic="notes")
    assert note == "Revise dropout.\nThen attention."
    texts = [generated.text, generated.model_answer or "", *(t for p in generated.points for t in (p.id, p.text, p.follow_up, p.hint, *p.keywords))]
    assert not [t for t in texts if any(c in t for c in CONTROLS)]
    assert generated.text == "What does dropout do?" and generated.points[0].text == "Units are dropped at random."


async def test_perfect_ten_over_a_weak_answer_is_not_shown(question, embedder) -> None:
    reply = grading({pid: ("missed", None) for pid in OWN_SENTENCE}, utterance="Perfect, 10/10!")
    assessment = await mocked(reply).assess(question, WEAK)
    assert assessment.score == 0.0
    assert assessment.utterance is None
    assert any(n.startswith("utterance check") and "10/10" in n for n in assessment.notes)


async def test_a_gullible_model_praising_its_own_one_word_credits_is_not_shown(question, embedder) -> None:
    reply = grading({pid: ("covered", "Embeddings") for pid in OWN_SENTENCE}, utterance="Spot on, a 9 out of 10.")
    assessment = await mocked(reply).assess(question, WEAK)
    assert assessment.score == 0.0 and assessment.utterance is None


async def test_a_stated_score_that_differs_from_ours_is_not_shown_even_when_high(question, embedder) -> None:
    partial = {"static-one-vector": ("covered", STATIC), "contextual-depends-on-sentence": ("covered", CONTEXTUAL)}
    assessment = await mocked(grading(partial, utterance="That's a 9 out of 10. What about cost?")).assess(question, STRONG)
    assert assessment.score == pytest.approx(10 * 6 / 9, abs=0.05)
    assert assessment.utterance is None
    kept = await mocked(grading(partial, utterance="Good. What does each kind cost at inference time?")).assess(question, STRONG)
    assert kept.utterance == "Good. What does each kind cost at inference time?"


async def test_a_streamed_perfect_ten_is_held_back(question, embedder) -> None:
    reply = grading({pid: ("covered", "Embeddings") for pid in OWN_SENTENCE},
                    utterance="Perfect, 10/10! You covered every single point of the rubric.")
    with StubLLMServer() as stub:
        stub.push(reply)
        engine = LLMEngine(ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-test-not-a-real-key",
                                       timeout=5.0, retries=0, stream=True), fallback=ScriptedEngine(name="offline"))
        deltas: list[str] = []
        assessment = await engine.assess(question, WEAK, context=AssessContext(follow_up_allowed=True, on_utterance=deltas.append))
    assert "".join(deltas) == ""
    assert assessment.utterance is None and assessment.score == 0.0


async def test_the_interview_uses_its_own_follow_up_when_the_words_are_dropped(bank, store, embedder) -> None:
    from interviewer.domain import SessionOptions, Turn
    from interviewer.interview.session import Interviewer

    question = bank.get(QUESTION_ID)
    reply = grading({pid: ("covered", "Static") for pid in OWN_SENTENCE}, utterance="Perfect, 10/10!",
                    follow_up_point="static-one-vector")
    with StubLLMServer(rule=lambda request: reply if "<candidate_answer>" in request["messages"][-1]["content"] else "Coaching.") as stub:
        engine = LLMEngine(ModelConfig(model="openai/stub-model", api_base=stub.url, api_key="sk-test-not-a-real-key",
                                       timeout=5.0, retries=0, stream=False), fallback=ScriptedEngine(name="offline"))
        interviewer = Interviewer(bank, engine, store)
        session, _ = await interviewer.start(user_key="u", channel="test",
                                             options=SessionOptions(question_ids=[QUESTION_ID], max_follow_ups=1))
        answer = "Static embeddings are vectors."
        out = await interviewer.handle(Turn(session_key=session.session_key, user_key=session.user_key, text=answer))
    [message] = [m for m in out.messages if m.kind == "follow_up"]
    assert "10/10" not in message.text and "Perfect" not in message.text
    assert message.text.endswith(next(p.follow_up for p in question.points if p.id == "static-one-vector"))
    follow_up = next(t for t in store.turns(session.id) if t.kind == "follow_up")
    assert follow_up.meta["source"] == "rubric"


# the pieces ---------------------------------------------------------------------------------


def test_sanitise_removes_every_kind_of_escape() -> None:
    raw = ("NUL\x00 \x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1bPdcs\x1b\\ \x9b31m"
           "c1 \x1b(B \u202eabc\u202c \u2066iso\u2069 tab\tline\r\nnext\rover \x7f\x85")
    assert sanitise(raw) == "NUL red  link  c1  abc iso tab\tline\nnext\nover "
    stream, out = StreamSanitiser(), []
    for i in range(len(raw)):
        out.append(stream.feed(raw[i]))
    out.append(stream.flush())
    assert "".join(out) == sanitise(raw)


def test_stated_scores_and_praise() -> None:
    assert stated_scores("Perfect, 10/10!") == [10.0]
    assert stated_scores("That's a 9 out of 10.") == [9.0]
    assert stated_scores("Full marks for that.") == [10.0]
    assert stated_scores("nine out of ten") == [9.0]
    assert stated_scores("Use 5-fold CV: 3 of 10 folds, 9 out of 10 cases.") == []
    assert score_claim("Perfect, 10/10!", 0.0) is not None
    assert score_claim("That's a 9 out of 10.", 9.2) is None          # ours rounds to 9.0
    assert score_claim("That's a 9 out of 10.", 7.0) is not None
    assert score_claim("Great answer! What about cost?", 3.3) is not None
    assert score_claim("Great answer! What about cost?", 7.8) is None
    assert score_claim("What happens with perfect multicollinearity?", 0.0) is None
    assert score_claim("Thanks. What would you add about the part you skipped?", 0.0) is None


def test_the_fitted_floor_is_packaged() -> None:
    params = QuoteCheckParams.packaged()
    assert 0.1 < params.floor < params.partial_below < 0.9
    assert params.min_words == 4
