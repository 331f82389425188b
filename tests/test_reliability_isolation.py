"""Isolation and secrets: mallory tries every path to alice's interviews (core API, CLI, Slack,
Discord), and a run with fake keys and tokens set leaves no secret in anything we write."""

from __future__ import annotations

import logging

import pytest

from harness.reliability.leaks import (
    ISOLATION_PATHS, captured_logs, count_secrets, fake_secrets, isolation_rig, owner_views, scan_for_secrets_async,
)


@pytest.fixture
async def rig(bank):
    async with isolation_rig(bank) as built:
        yield built


@pytest.mark.parametrize("path", list(ISOLATION_PATHS))
async def test_another_user_cannot_reach_the_interview(rig, path: str) -> None:
    assert await ISOLATION_PATHS[path](rig) == []


async def test_the_owner_does_see_it_through_the_same_paths(rig) -> None:
    """The control: without it, 'no leak' could just mean a path that shows nothing at all."""
    assert await owner_views(rig) == {"core.transcript_of": True, "cli.export": True, "slack.show": True, "discord.show": True}


async def test_no_secret_in_logs_transcripts_exports_or_errors(bank) -> None:
    report = await scan_for_secrets_async(bank)
    assert report.by_source == {} and report.found == 0
    assert report.exercised == dict.fromkeys(report.exercised, True)   # every error path really ran
    assert report.log_records > 100 and report.outputs > 20
    assert report.line().startswith("secrets 0 found")


def test_the_scanner_finds_a_planted_secret() -> None:
    secrets = fake_secrets()
    with captured_logs() as logs:
        logging.getLogger("interviewer.grading.llm.client").debug("calling with key %s", secrets["OPENAI_API_KEY"])
        logging.getLogger("slack_sdk").warning("token %s", secrets["INTERVIEWER_API_KEY"].replace("sk-", "sk_"))
    found = count_secrets({"logs": "\n".join(logs.lines), "db": b"..." + secrets["SLACK_BOT_TOKEN"].encode()}, secrets)
    assert found == {"logs": 2, "db": 1}                               # a rewritten prefix is still caught
    masked = secrets["DISCORD_TOKEN"][:6] + "***" + secrets["DISCORD_TOKEN"][-4:]
    assert count_secrets({"masked": masked}, secrets) == {}            # a masked form is not a leak
