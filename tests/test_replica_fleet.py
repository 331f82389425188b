"""Three `interviewer serve slack --http` replicas over one PostgreSQL database and one Chroma
server, 60 candidates, some answers delivered to two replicas at once: every turn exactly once.

The driver is ``harness.reliability.replicas`` (``bench/replicas.py`` runs it at full size
for throughput); this runs it once and prints its counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chroma_server import chroma_server
from harness.reliability.replicas import FleetSpec, replica_logs, run_fleet
from harness.reliability.slack_wire import signed_headers



def test_the_drivers_signature_is_the_one_slack_sdk_checks() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = '{"type": "event_callback", "event_id": "Ev1"}'
    headers = signed_headers("s3cret", body, retry=1)
    verifier = SignatureVerifier("s3cret")
    stamp, signature = headers["x-slack-request-timestamp"], headers["x-slack-signature"]
    assert verifier.is_valid(body=body, timestamp=stamp, signature=signature)
    assert not verifier.is_valid(body=body + " ", timestamp=stamp, signature=signature)
    assert not SignatureVerifier("other").is_valid(body=body, timestamp=stamp, signature=signature)
    assert headers["x-slack-retry-num"] == "1"


@pytest.mark.slow


def test_three_replicas_store_and_grade_every_turn_exactly_once_in_order(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = FleetSpec(replicas=3, sessions=60, answers=2, latency=0.1, duplicates=0.25, seed=7, balance="random")
    with chroma_server(tmp_path / "chroma") as server:
        report = run_fleet(spec, database_url=postgres_url, chroma_url=server.url, root=tmp_path / "fleet")
    with capsys.disabled():
        print(f"\n{report.line()}")
    assert report.clean, f"{report.problems}\n{replica_logs(tmp_path / 'fleet')}"
    assert report.answers_sent == report.answers_stored == report.graded == 120
    assert report.duplicate_deliveries == 30 and report.finished == 60
    assert (report.lost, report.duplicated, report.double_graded, report.out_of_order, report.extra_posts) == (0, 0, 0, 0, 0)
    assert sorted(report.by_replica) == ["1", "2", "3"] and min(report.by_replica.values()) > 0
    assert sum(report.by_replica.values()) == 120  # one grading request per answer: no duplicate was graded
    assert report.fallbacks == 0 and report.follow_ups == 0
    assert report.with_material == 120 and report.material_chunks > 0  # every replica retrieved from the server
