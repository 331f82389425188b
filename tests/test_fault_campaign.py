"""The second-round fault campaign's fast subset (bench/fault_campaign.py runs it at full size):
every attack injected, every one met well, nothing lost."""

from __future__ import annotations

import os

import pytest

from harness.reliability.round_two import run_round_two, summary


@pytest.mark.slow
def test_every_attack_of_the_campaign_survives_with_nothing_lost(isolated_data_dir) -> None:
    attacks = run_round_two(fast=True, seed=1)
    assert [a.item for a in attacks] == list(range(1, 11))
    for attack in attacks:
        if attack.skipped:
            assert os.environ.get("INTERVIEWER_TEST_POSTGRES_REQUIRED") != "1", attack.line()
            continue
        assert attack.injected > 0, attack.line()
        assert attack.ok, f"{attack.line()}: {attack.problems[:3]}"
    assert " 0 lost" in summary(attacks)


def test_rubric_folders_from_the_environment_take_plain_paths(monkeypatch, tmp_path) -> None:
    """INTERVIEWER_RUBRIC_DIRS=/some/dir (what people type) was an internal SettingsError."""
    from interviewer.config import ConfigError, load_settings

    for value, expected in ((str(tmp_path), [tmp_path]), (f"{tmp_path}:{tmp_path / 'b'}", [tmp_path, tmp_path / "b"]),
                            (f'["{tmp_path}"]', [tmp_path])):
        monkeypatch.setenv("INTERVIEWER_RUBRIC_DIRS", value)
        assert load_settings().rubric_dirs == expected
    monkeypatch.setenv("INTERVIEWER_RUBRIC_DIRS", "[not json")
    with pytest.raises(ConfigError, match="rubric_dirs"):
        load_settings()
