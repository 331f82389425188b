"""Many interviews in one process through the real core and the LLM engine (stub model on
127.0.0.1): every reply reaches its own session, no turn is lost, doubled or reordered."""

from __future__ import annotations

from interviewer.domain import Session
from interviewer.interview.replies import Reply

from harness.reliability.concurrency import (
    ConcurrencyReport, _check_replies, _UserRun, answer_text, marker, markers_in, run_concurrent_sessions_async,
)


async def test_thirty_concurrent_sessions_keep_to_themselves(bank) -> None:
    report = await run_concurrent_sessions_async(30, 3, bank=bank, max_latency=0.03)
    assert report.problems == []
    assert (report.sessions, report.turns, report.replies) == (30, 90, 90)
    assert (report.cross_talk, report.lost, report.duplicated, report.out_of_order) == (0, 0, 0, 0)
    assert report.fallbacks == 0                                  # every turn was graded by the (stub) model
    assert report.model_calls == 90 + 30                          # one per answer, one coaching note per session
    assert report.line() == "concurrency 30 sessions, 90 turns, 0 cross-talk, 0 lost, 0 duplicated, 0 out of order"


async def test_answers_sent_one_by_one_and_without_streaming_too(bank) -> None:
    report = await run_concurrent_sessions_async(12, 2, bank=bank, pipelined=False, stream_every=0)
    assert report.clean and report.problems == [] and report.replies == 24


def test_markers_do_not_match_inside_longer_numbers() -> None:
    assert markers_in(answer_text(7, 3)) == [(7, 3)]
    assert markers_in("user-0171 answer-031 and " + marker(17, 3)) == [(17, 3)]


def test_the_checker_sees_a_misrouted_reply() -> None:
    """Proof that zero means zero: a reply carrying another user's answer is counted."""
    session = Session(id="s1", session_key="k1", user_key="user-001", channel="reliability")
    wrong = Reply(session_id="s2").add("feedback", f"evidence: {marker(2, 1)}")
    late = Reply(session_id="s1").add("feedback", f"evidence: {marker(1, 1)}")
    report = ConcurrencyReport()
    _check_replies(_UserRun(1, session, [wrong, late], ["", ""]), report)
    assert report.cross_talk == 2                                 # wrong session id, foreign marker
    assert report.lost == 2                                       # neither reply answers its own turn
    assert report.out_of_order == 1                               # reply 2 answers turn 1
