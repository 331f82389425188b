"""Fault injection in the model path: each fault kind, then a small campaign through all of them.

Every turn goes through the real core and LLM engine against the stub server. A persistent
fault must end in the offline grader with the reason stored and one short notice; a transient
one must be recovered by a retry or the repair request, with the recovery noted in the grade and
nothing shown to the candidate. ``bench/reliability.py`` runs the same driver at large N.
"""

from __future__ import annotations

import pytest

from interviewer.interview.replies import Reply
from interviewer.interview.session import brief_reason
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, keyword_rule

from harness.reliability.faults import (
    FAULT_KINDS,
    MAX_ECHO_CHARS,
    MAX_NOTICE_CHARS,
    RECORDED_AS,
    FaultReport,
    TurnOutcome,
    _check_notices,
    plan,
    run_fault_campaign_async,
)

TIMEOUT = 0.3
RETRY_AFTER = 0.1


def stand_in_offline() -> ScriptedEngine:
    """A fast offline grader stand-in: the fallback's identity is what these tests look at."""
    return ScriptedEngine(rule=keyword_rule, name="offline", model="fallback")


async def campaign(n: int, store: Store, bank, kinds: tuple[str, ...] = FAULT_KINDS, fallback=None) -> FaultReport:
    return await run_fault_campaign_async(
        n, seed=n, store=store, bank=bank, fallback=fallback or stand_in_offline(),
        timeout=TIMEOUT, retries=1, retry_after=str(RETRY_AFTER), kinds=kinds,
    )


def gaps(outcome: TurnOutcome) -> list[float]:
    return [b - a for a, b in zip(outcome.requests, outcome.requests[1:])]


def stored_answers_without_grade(store: Store) -> tuple[int, int]:
    """(answers stored, answers stored without a grade), read straight from the store."""
    answers = ungraded = 0
    for summary in store.list_sessions(limit=1_000):
        turns, grades = store.transcript(summary.session.id)
        for turn in turns:
            if turn.role == "candidate" and turn.kind == "answer":
                answers += 1
                ungraded += turn.seq not in grades
    return answers, ungraded


def check_kind(kind: str, outcome: TurnOutcome) -> None:
    """What only this kind of fault must show, beyond the common checks."""
    if kind == "connection_refused":
        assert outcome.requests == []                              # the stub never saw the dead port's traffic
    elif outcome.persistent:
        assert len(outcome.requests) == 2                          # one retry, or one repair request, then give up
    if kind == "timeout":
        assert all(g >= TIMEOUT for g in gaps(outcome))            # the client really waited for the timeout
        assert outcome.seconds < 2 * (TIMEOUT + 1.0)               # ... and no longer than its limits allow
    if kind == "rate_limit":
        assert all(g >= RETRY_AFTER for g in gaps(outcome))        # Retry-After was honoured
    if kind == "huge_response":
        assert outcome.echoed <= MAX_ECHO_CHARS                    # the repair request quotes 4 kB at most
        assert len(outcome.recorded or "") < 300


@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_fault_kind_completes_the_turn_and_is_recorded(kind: str, bank, store: Store) -> None:
    report = await campaign(4, store, bank, kinds=(kind,))       # four laps: both modes, both forms

    assert report.problems == []
    assert (report.injected, report.completed, report.lost) == (4, 4, 0)
    assert stored_answers_without_grade(store) == (4, 0)
    for outcome in report.outcomes:
        assert RECORDED_AS[kind] in (outcome.recorded or "")
        if outcome.persistent:
            assert outcome.engine == "offline"
            [notice] = outcome.notices
            assert notice.startswith("The model could not grade this answer") and len(notice) <= MAX_NOTICE_CHARS
        else:
            assert outcome.engine == "llm" and "the model answered after" in (outcome.recorded or "")
            assert outcome.notices == []                           # a recovered turn is invisible to the candidate
        check_kind(kind, outcome)
    modes = {o.persistent for o in report.outcomes}
    assert modes == ({True} if kind == "connection_refused" else {True, False})


async def test_a_campaign_through_every_kind_loses_nothing(bank, store: Store) -> None:
    n = 2 * len(FAULT_KINDS)
    report = await campaign(n, store, bank)

    assert report.problems == []
    assert report.injected == report.completed == n and report.lost == 0
    assert report.by_kind == {kind: 2 for kind in FAULT_KINDS}
    assert report.fallbacks + report.recovered == n
    assert report.recovered == len(FAULT_KINDS) - 1                 # the second lap is transient but for the dead port
    assert report.notices == report.fallbacks                      # one notice per fallback, none per recovery
    assert stored_answers_without_grade(store) == (n, 0)
    assert report.line() == f"faults {n}/{n} survived, 0 turns lost"


def test_the_plan_meets_every_mode_and_form() -> None:
    seen = {(o.kind, o.persistent, o.variant) for o in (plan(n, FAULT_KINDS) for n in range(4 * len(FAULT_KINDS)))}
    for kind in FAULT_KINDS:
        wanted = {(True, 0), (True, 1)} if kind == "connection_refused" else {(p, v) for p in (True, False) for v in (0, 1)}
        assert {(p, v) for k, p, v in seen if k == kind} == wanted


def test_the_notice_check_catches_leaks_and_noise() -> None:
    """The campaign's verdicts rest on this check: it must reject what a user should never see."""
    clean = Reply().add("notice", "The model could not grade this answer, so the offline grader scored it instead (HTTP 500).")
    assert _check_notices(clean)[1] == []
    for bad in ("Traceback (most recent call last):", 'raw reply {"points": []}', "key sk-abcdefgh1234", "x" * 201):
        assert _check_notices(Reply().add("notice", bad))[1] != []
    assert _check_notices(Reply().add("notice", "a").add("error", "b"))[1] != []
    assert _check_notices(Reply().add("feedback", "FILLER " * 10))[1] != []


def test_a_long_fallback_reason_is_cut_to_its_gist() -> None:
    reason = ("the model's reply was unusable twice (the JSON does not match the schema (points.0.verdict: Input should "
              "be 'covered', 'partial' or 'missed'; points.2.verdict: Field required))")
    assert brief_reason(reason) == "the model's reply was unusable twice (the JSON does not match the schema)"
    assert brief_reason("the model endpoint failed (HTTP 500)") == "the model endpoint failed (HTTP 500)"
    assert len(brief_reason("y" * 500)) <= 110
