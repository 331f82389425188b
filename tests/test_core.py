"""The session state machine, driven through the core with a scripted engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from interviewer.domain import SessionOptions, Turn
from interviewer.interview.feedback import summary_text
from interviewer.interview.replies import help_text
from interviewer.interview.session import InterviewError, Interviewer
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, keyword_rule

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def tiny_bank() -> RubricBank:
    return RubricBank.load([FIXTURES / "tiny.yaml"])


def make(tiny_bank: RubricBank, store: Store, **engine_kw) -> tuple[Interviewer, ScriptedEngine]:
    engine = ScriptedEngine(**engine_kw)
    return Interviewer(tiny_bank, engine, store), engine


async def say(interviewer: Interviewer, session, text: str):
    return await interviewer.handle(Turn(session_key=session.session_key, user_key=session.user_key, text=text))


async def test_follow_ups_target_highest_weight_gaps_and_can_raise_verdicts(tiny_bank, store) -> None:
    interviewer, engine = make(
        tiny_bank, store,
        script=[
            {"epsilon-zeta": "covered"},            # first answer: only the lightest point
            {"alpha-beta": "covered"},              # follow-up 1 (about alpha-beta) fixes it
            {"gamma-delta": "partial"},             # follow-up 2 (about gamma-delta) half fixes it
        ],
    )
    session, first = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one"]))
    assert [m.kind for m in first.messages] == ["welcome", "question"]

    reply = await say(interviewer, session, "epsilon drives zeta")
    assert [m.kind for m in reply.messages] == ["follow_up"]
    assert reply.messages[0].data["point_id"] == "alpha-beta"          # weight 3 first
    assert "What is alpha made of?" in reply.messages[0].text

    reply = await say(interviewer, session, "alpha is beta")
    assert reply.messages[0].data["point_id"] == "gamma-delta"         # then weight 2
    assert engine.calls[1][2] == ("alpha-beta", "gamma-delta")         # graded on the open points only

    reply = await say(interviewer, session, "gamma is sort of delta")
    kinds = [m.kind for m in reply.messages]
    assert kinds == ["feedback", "summary"]                            # at most 2 follow-ups
    card = reply.messages[0].data
    verdicts = {p["id"]: p["verdict"] for p in card["points"]}
    assert verdicts == {"alpha-beta": "covered", "gamma-delta": "partial", "epsilon-zeta": "covered"}
    assert card["score"] == pytest.approx(10 * (3 + 1 + 1) / 6, abs=0.05)
    assert reply.finished


async def test_no_follow_up_when_everything_is_covered(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one", "tiny-two"]))
    reply = await say(interviewer, session, "alpha beta gamma delta epsilon zeta")
    assert [m.kind for m in reply.messages] == ["feedback", "question"]
    assert reply.messages[0].data["score"] == 10.0
    assert reply.messages[1].data["question_id"] == "tiny-two"


async def test_max_follow_ups_zero_moves_straight_on(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    options = SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=0)
    session, _ = await interviewer.start(user_key="u", channel="test", options=options)
    reply = await say(interviewer, session, "nothing useful")
    assert [m.kind for m in reply.messages] == ["feedback", "question"]
    assert reply.messages[0].data["score"] == 0.0


async def test_empty_answer_is_asked_again_and_not_graded(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, rule=keyword_rule)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one"]))
    for empty in ["", "   ", "\n\n", "..."]:
        reply = await say(interviewer, session, empty)
        assert [m.kind for m in reply.messages] == ["notice"]
        assert "didn't catch an answer" in reply.messages[0].text
    assert engine.calls == []
    assert [t.kind for t in store.turns(session.id)] == ["question"]


async def test_hint_skip_repeat_help_and_end(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, rule=keyword_rule)
    options = SessionOptions(question_ids=["tiny-one", "tiny-two", "tiny-four"])
    session, _ = await interviewer.start(user_key="u", channel="test", options=options)

    hint = await say(interviewer, session, "hint")
    assert hint.messages[0].kind == "hint" and "Think of beta." in hint.messages[0].text
    second = await say(interviewer, session, "/hint")
    assert "Delta." in second.messages[0].text                      # next most important point
    again = await say(interviewer, session, "repeat")
    assert again.messages[0].kind == "question" and again.messages[0].text == "What is alpha?"
    helped = await say(interviewer, session, "help")
    assert helped.messages[0].kind == "help" and "skip" in helped.messages[0].text

    skipped = await say(interviewer, session, "skip")
    assert [m.kind for m in skipped.messages] == ["feedback", "question"]
    assert skipped.messages[0].data["skipped"] is True
    assert skipped.messages[0].data["score"] == 0.0
    assert skipped.messages[0].data["hints"] == 2
    assert "Alpha is beta; gamma relates to delta" in skipped.messages[0].text   # model answer shown

    ended = await say(interviewer, session, "end")
    assert [m.kind for m in ended.messages] == ["summary"]
    summary = ended.messages[0].data
    assert [row["question_id"] for row in summary["questions"]] == ["tiny-one", "tiny-two"]
    assert summary["questions"][1]["score"] is None                 # asked, never answered
    assert ended.finished
    assert store.get_session(session.id).status == "finished"
    assert engine.calls == []                                        # nothing was graded
    late = await say(interviewer, session, "one more answer")
    assert "no interview running" in late.messages[0].text


async def test_skip_during_follow_up_keeps_the_grade_so_far(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, script=[{"alpha-beta": "covered"}])
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one"]))
    reply = await say(interviewer, session, "alpha is beta")
    assert reply.messages[0].kind == "follow_up"
    reply = await say(interviewer, session, "skip")
    card = reply.messages[0].data
    assert card["skipped"] is False and card["score"] == 5.0
    assert "after a follow-up, your answer keeps its grade" in help_text()  # help says what skip did


async def test_summary_lists_per_topic_averages_and_weakest_points(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    options = SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=0)
    session, _ = await interviewer.start(user_key="u", channel="test", options=options)
    await say(interviewer, session, "alpha beta")
    reply = await say(interviewer, session, "omega end omega last omega greek")
    summary = reply.messages[-1].data
    assert reply.messages[-1].kind == "summary"
    assert summary["topics"] == {"tiny": pytest.approx((5.0 + 10.0) / 2, abs=0.05)}
    assert summary["weakest"][0]["text"] == "Gamma relates to delta."
    # topics by their titles, as the question headers name them, not by their file names
    assert summary["topic_titles"] == {"tiny": "Tiny topic"} and summary["questions"][0]["topic_title"] == "Tiny topic"
    assert "By topic: Tiny topic 7.5" in summary_text(summary) and "[Tiny topic, level" in summary_text(summary)


async def test_repeat_and_resume_during_a_follow_up_show_the_question_it_follows(tiny_bank, store) -> None:
    """`repeat` or `resume` in a follow-up showed only "Which letter is omega?", not the question."""
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-two"]))
    asked = await say(interviewer, session, "omega is the end")
    assert asked.messages[-1].kind == "follow_up"
    for shown in (await say(interviewer, session, "repeat"), await interviewer.resume(store.get_session(session.id))):
        prompts = [(m.kind, m.text) for m in shown.messages if m.kind in ("question", "follow_up")]
        assert prompts == [("question", "What is omega?"), ("follow_up", asked.messages[-1].text)]
        assert shown.prompt_seq == asked.prompt_seq                         # answers still go to the follow-up


async def test_questions_are_not_repeated_across_sessions_while_unseen_remain(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    asked: list[str] = []
    for _ in range(4):
        session, first = await interviewer.start(user_key="same-user", channel="test", options=SessionOptions(questions=1))
        asked.append(first.messages[-1].data["question_id"])
        await say(interviewer, session, "end")
    assert sorted(asked) == ["tiny-four", "tiny-one", "tiny-three", "tiny-two"]
    session, first = await interviewer.start(user_key="same-user", channel="test", options=SessionOptions(questions=1))
    assert first.messages[-1].data["question_id"] == asked[0]        # all seen: the oldest comes back
    other, first_other = await interviewer.start(user_key="someone-else", channel="test", options=SessionOptions(questions=4))
    assert first_other.messages[-1].data["question_id"] in asked      # other users have their own history


async def test_difficulty_adapts_to_scores(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    options = SessionOptions(topics=["tiny"], questions=3, max_follow_ups=0)
    session, first = await interviewer.start(user_key="adaptive", channel="test", options=options)
    assert first.messages[-1].data["difficulty"] == 2               # start in the middle
    reply = await say(interviewer, session, "omega end omega last omega greek")   # strong
    assert reply.messages[-1].data["difficulty"] == 3               # harder next
    reply = await say(interviewer, session, "no idea")               # weak
    assert reply.messages[-1].data["difficulty"] == 1               # easier after a weak answer


async def test_difficulty_filter_and_unknown_topic(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    session, first = await interviewer.start(user_key="u", channel="test", options=SessionOptions(difficulty=1, questions=5))
    assert first.messages[-1].data["difficulty"] == 1
    with pytest.raises(InterviewError, match="unknown topic 'nope'"):
        await interviewer.start(user_key="u", channel="test", options=SessionOptions(topics=["nope"]))


async def test_reference_answer_question_grades_against_its_sentences(tiny_bank, store, offline_engine) -> None:
    question = tiny_bank.get("tiny-three")
    good = await offline_engine.assess(question, "Sigma means a sum, and sigma is also the standard deviation.")
    bad = await offline_engine.assess(question, "I am not sure, maybe a kind of letter.")
    assert [v.point_id for v in good.verdicts] == ["ref-1", "ref-2"]
    assert good.score > bad.score
    assert good.score >= 7.5


async def test_someone_else_cannot_answer(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, rule=keyword_rule)
    session, _ = await interviewer.start(user_key="owner", channel="test", options=SessionOptions(questions=1))
    reply = await interviewer.handle(Turn(session_key=session.session_key, user_key="intruder", text="alpha beta"))
    assert "belongs to someone else" in reply.messages[0].text
    assert engine.calls == []


async def test_grading_failure_keeps_the_answer_and_retries(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, rule=keyword_rule, fail_times=1)
    options = SessionOptions(question_ids=["tiny-four"], max_follow_ups=0)
    session, _ = await interviewer.start(user_key="u", channel="test", options=options)
    reply = await say(interviewer, session, "kappa agreement")
    assert reply.messages[0].kind == "error" and "Your answer is saved" in reply.messages[0].text
    assert [t.kind for t in store.turns(session.id)] == ["question", "answer"]
    reply = await say(interviewer, session, "repeat")
    assert [m.kind for m in reply.messages] == ["feedback", "summary"]
    assert reply.messages[0].data["score"] == 10.0
    assert len(store.assessments(session.id)) == 1


async def test_duplicate_event_is_processed_once(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, rule=keyword_rule)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one"]))
    turn = Turn(session_key=session.session_key, user_key="u", text="alpha beta")
    await interviewer.handle(turn, event_id="evt-1")
    again = await interviewer.handle(turn, event_id="evt-1")
    assert again.messages == []
    assert len(engine.calls) == 1


class FakeRetriever:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.started = False

    def start(self) -> None:
        self.started = True

    def sections(self, query: str, k: int = 2) -> list[str]:
        self.queries.append(query)
        return ["notes.md > Alpha", "notes.md > Gamma"][:k]

    def passages(self, query: str, k: int = 3, topic: str | None = None) -> list:
        return []


async def test_feedback_reads_more_from_the_material_when_points_cite_nothing(tiny_bank, store) -> None:
    retriever = FakeRetriever()
    interviewer = Interviewer(tiny_bank, ScriptedEngine(rule=keyword_rule), store, retriever=retriever)
    options = SessionOptions(question_ids=["tiny-one"], max_follow_ups=0)
    session, _ = await interviewer.start(user_key="u", channel="test", options=options)
    assert retriever.started                                         # opened while the candidate reads
    reply = await say(interviewer, session, "alpha beta")
    card = reply.messages[0].data
    assert card["read_more"] == ["notes.md > Alpha", "notes.md > Gamma"]
    assert "Read more: notes.md > Alpha; notes.md > Gamma" in reply.messages[0].text
    assert retriever.queries[0].startswith("What is alpha?")
    assert "Gamma relates to delta." in retriever.queries[0]         # the gaps steer the search


async def test_ending_during_a_follow_up_still_gives_the_scorecard(tiny_bank, store) -> None:
    interviewer, engine = make(tiny_bank, store, script=[{"alpha-beta": "covered"}])
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one", "tiny-two"]))
    reply = await say(interviewer, session, "alpha is beta")
    assert [m.kind for m in reply.messages] == ["follow_up"]
    ended = await say(interviewer, session, "end")
    assert [m.kind for m in ended.messages] == ["feedback", "summary"]
    assert ended.messages[0].data["score"] == 5.0 and not ended.messages[0].data["skipped"]
    assert [row["question_id"] for row in ended.messages[1].data["questions"]] == ["tiny-one"]
    assert len(engine.calls) == 1


async def test_turns_sent_at_once_are_handled_in_arrival_order(tiny_bank, store) -> None:
    import asyncio

    interviewer, engine = make(tiny_bank, store, rule=keyword_rule, delay=0.05)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=0))
    replies = await asyncio.gather(*(say(interviewer, session, text) for text in ("alpha is beta", "omega is the end", "hint")))
    assert [c[1] for c in engine.calls] == ["alpha is beta", "omega is the end"]
    assert replies[1].finished and replies[2].messages[0].data["reason"] == "no_session"   # the last came after the end
    answers = [t.text for t in store.turns(session.id) if t.kind == "answer"]
    assert answers == ["alpha is beta", "omega is the end"]


async def test_the_count_announced_is_the_count_the_filters_can_ask(tiny_bank, store) -> None:
    interviewer, _ = make(tiny_bank, store, rule=keyword_rule)
    available = len(tiny_bank.select(difficulty=1))
    session, first = await interviewer.start(user_key="u", channel="test", options=SessionOptions(difficulty=1, questions=available + 4))
    welcome = first.messages[0]
    assert welcome.data["questions"] == available
    assert welcome.text.startswith(f"Mock interview: {available} question") and "(all there are for it)" in welcome.text
    assert first.messages[-1].data["total"] == available
    asked = 1
    while (reply := await say(interviewer, session, "skip")) and any(m.kind == "question" for m in reply.messages):
        asked += 1
    assert asked == available and any(m.kind == "summary" for m in reply.messages)
