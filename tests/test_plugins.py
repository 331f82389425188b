"""Channels and engines as plugins: a channel and an engine installed from their own package work
through `interviewer serve` and INTERVIEWER_ENGINE with no change to our code, and the ones we
ship are found the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from interviewer.registry import CHANNELS, ChannelPlugin, installed_channels

PLUGIN = Path(__file__).parent / "plugins" / "echo_channel"


@pytest.fixture(scope="module")
def echo_installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third-party package installed into a folder of its own, as `pip install` would."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    source = build / "echo_channel"
    subprocess.run(["cp", "-r", str(PLUGIN), str(source)], check=True)  # build outside the checkout: no stray build/
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return target


def interviewer_cli(args: list[str], site: Path, stdin: str = "", **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")])), "COLUMNS": "200",
           **env_vars}
    return subprocess.run([sys.executable, "-m", "interviewer", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300)


def test_our_channels_are_plugins_too() -> None:
    channels, broken = installed_channels()
    names = {c.name for c in channels}
    assert {"slack", "discord"} <= names and broken == []
    assert all(isinstance(c, ChannelPlugin) and callable(c.command) for c in channels)


def test_a_third_party_channel_is_listed_and_runs_a_whole_interview(echo_installed: Path) -> None:
    listed = interviewer_cli(["serve", "--help"], echo_installed)
    assert listed.returncode == 0, listed.stderr
    assert "echo" in listed.stdout and "slack" in listed.stdout and "discord" in listed.stdout
    answers = "Retrieval fetches relevant passages from a corpus and puts them in the prompt, so answers are grounded.\nskip\nend\n"
    run = interviewer_cli(["serve", "echo", "--questions", "1", "--topic", "rag"], echo_installed, stdin=answers)
    assert run.returncode == 0, run.stderr
    assert "Mock interview: 1 question" in run.stdout
    from interviewer.rubrics import RubricBank

    assert any(q.text in run.stdout for q in RubricBank.load().select(["rag"]))  # a question of the topic was asked
    assert "Score: " in run.stdout and "Interview summary" in run.stdout and "Average: " in run.stdout
    assert "Traceback" not in run.stderr


def test_a_broken_plugin_is_named_and_does_not_take_the_cli_down(tmp_path: Path) -> None:
    dist = tmp_path / "broken_channel-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-channel\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{CHANNELS}]\nbroken = no_such_module_anywhere:plugin\n")
    result = interviewer_cli(["serve", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Not available: broken" in result.stdout and "no_such_module_anywhere" in result.stdout
    assert "slack" in result.stdout


def test_a_third_party_engine_grades_when_named(echo_installed: Path) -> None:
    run = interviewer_cli(["serve", "echo", "--questions", "1"], echo_installed, stdin="an answer\nend\n", INTERVIEWER_ENGINE="half")
    assert run.returncode == 0, run.stderr
    assert "Score: 5.0/10" in run.stdout                                   # every point half covered
    unknown = interviewer_cli(["serve", "echo"], echo_installed, stdin="end\n", INTERVIEWER_ENGINE="nonesuch")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "no grading engine 'nonesuch' is installed (there are: half, llm, offline)" in unknown.stderr


def test_our_engines_are_plugins_too() -> None:
    from interviewer.registry import installed_engines

    engines, broken = installed_engines()
    assert {"offline", "llm"} <= {e.name for e in engines} and broken == []


@pytest.mark.parametrize(("channel", "sdk", "extra"), [("slack", "slack_bolt", "slack"), ("discord", "discord", "discord")])
def test_a_channel_without_its_sdk_says_which_extra_to_install(tmp_path: Path, channel: str, sdk: str, extra: str) -> None:
    """The SDKs are extras: a plain `pip install interviewer` still lists the channels, and
    starting one names the missing package and the command that installs it."""
    (tmp_path / f"{sdk}.py").write_text(f"raise ModuleNotFoundError({'No module named ' + repr(sdk)!r}, name={sdk!r})\n")  # as if absent
    env = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x", "DISCORD_TOKEN": "x"}
    result = interviewer_cli(["serve", channel], tmp_path, **env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{sdk} is not installed: pip install 'interviewer[{extra}]'" in result.stderr
