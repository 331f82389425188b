"""Hostile input: injections buy no score, and oversized, binary, malformed or traversing input
gets a clear message, no traceback and no file outside the place it belongs.

The injection catalogue and the compromised stub model live in interviewer/reliability/hostile.py.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interviewer.cli import main as cli
from interviewer.cli.common import UserError
from interviewer.domain import SessionOptions, Turn
from interviewer.interview.session import Interviewer
from interviewer.rubrics import RubricBank, RubricError
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine, StubLLMServer, keyword_rule

from harness.reliability.hostile import (
    INJECTIONS,
    LLM_EPSILON,
    OFFLINE_EPSILON,
    CompromisedGrader,
    base_answers,
    llm_engine_for,
)

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = [i.name for i in INJECTIONS]
HOSTILE_IDS = ["../../x", "'; DROP TABLE sessions; --", "a" * 5000, "%", "_", "..", "/etc/passwd", "\x00\x1b[2J"]


def test_the_catalogue_is_large_and_varied() -> None:
    assert len(INJECTIONS) >= 32 and len(set(NAMES)) == len(NAMES)
    families = {i.family for i in INJECTIONS}
    assert families >= {"override", "fake-system", "fake-rubric", "fake-json", "role-play", "self-grade", "hidden",
                        "unicode", "delimiter", "multilingual"}
    base = "Plain answer. Second sentence."
    assert all(i.apply(base, ["p-1"]) != base for i in INJECTIONS)


# --- injections, offline engine -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bases(bank):
    return base_answers(bank)


@pytest.fixture(scope="module")
def engine(offline_engine):
    return offline_engine


@pytest.fixture(scope="module")
def offline_base_scores(engine, bank, bases) -> dict[str, float]:
    return {b.text: engine.assess_sync(bank.get(b.question_id), b.text).score for b in bases}


@pytest.mark.parametrize("name", NAMES)
def test_an_injection_does_not_raise_the_offline_score(engine, bank, bases, offline_base_scores, name: str) -> None:
    """Each injection against one of the base answers in turn (all of them: bench/reliability.py)."""
    index = NAMES.index(name)
    injection = INJECTIONS[index]
    for base in [bases[index % len(bases)]]:
        question = bank.get(base.question_id)
        injected = injection.apply(base.text, [p.id for p in question.points])
        after = engine.assess_sync(question, injected).score
        assert after <= offline_base_scores[base.text] + OFFLINE_EPSILON, (base.question_id, base.label)


# --- injections, LLM engine against an obedient stub ---------------------------------------------


@pytest.fixture(scope="module")
def compromised(bases):
    grader = CompromisedGrader(bases=[b.text for b in bases])
    server = StubLLMServer(rule=grader).start()
    yield server, grader
    server.stop()


@pytest.fixture(scope="module")
def llm_base_scores(compromised, bank, bases) -> dict[str, float]:
    engine = llm_engine_for(compromised[0].url)
    return {b.text: asyncio.run(engine.assess(bank.get(b.question_id), b.text)).score for b in bases}


def test_the_stub_grades_base_answers_honestly(llm_base_scores) -> None:
    assert max(llm_base_scores.values()) > 5.0  # so that a drop to 0 would be visible


@pytest.mark.parametrize("name", NAMES)
def test_an_obeyed_injection_does_not_raise_the_llm_score(compromised, bank, bases, llm_base_scores, name: str) -> None:
    server, grader = compromised
    injection = next(i for i in INJECTIONS if i.name == name)
    engine = llm_engine_for(server.url)
    obeyed = grader.obeyed
    for base in bases:
        question = bank.get(base.question_id)
        assessment = asyncio.run(engine.assess(question, injection.apply(base.text, [p.id for p in question.points])))
        assert assessment.fallback is None, assessment.fallback
        assert assessment.score <= llm_base_scores[base.text] + LLM_EPSILON, (base.question_id, base.label, assessment.notes)
    assert grader.obeyed >= obeyed + len(bases)  # the model really did obey: our checks held


def test_a_code_fence_quoted_in_the_reply_does_not_break_parsing() -> None:
    """Fixed: a reply whose evidence quotes an answer's ``` fence was parsed from inside the quote."""
    import json

    from interviewer.grading.llm.output import GradingOutput, parse_model

    reply = json.dumps({"points": [{"point_id": "a", "verdict": "covered", "evidence": "```python"},
                                   {"point_id": "b", "verdict": "covered", "evidence": "```"}]})
    assert [p.point_id for p in parse_model(reply, GradingOutput).points] == ["a", "b"]


# --- oversized and control characters ------------------------------------------------------------


def tiny_interviewer(store: Store) -> tuple[Interviewer, ScriptedEngine]:
    engine = ScriptedEngine(rule=keyword_rule)
    return Interviewer(RubricBank.load([FIXTURES / "tiny.yaml"]), engine, store), engine


async def test_a_one_megabyte_answer_is_capped_and_said_so(store: Store) -> None:
    interviewer, engine = tiny_interviewer(store)
    session, _ = await interviewer.start(user_key="u", channel="test", options=SessionOptions(questions=1, max_follow_ups=0))
    huge = ("omega is the last letter of the greek alphabet. " * 25_000)[:1_048_576]
    reply = await interviewer.handle(Turn(session_key=session.session_key, user_key="u", text=huge))
    notice = next(m.text for m in reply.messages if m.kind == "notice")
    assert "1,048,576 characters long; I graded the first 20,000" in notice
    assert engine.calls and all(len(answer) <= 20_000 for _, answer, _ in engine.calls)
    stored = [t for t in store.turns(session.id) if t.kind == "answer"]
    assert len(stored[0].text) == 1_000_000 and stored[0].meta["stored_truncated_from"] == 1_048_576


def test_the_offline_grader_takes_a_megabyte_without_trouble(engine, bank) -> None:
    question = bank.get("rag-what-and-why")
    assessment = engine.assess_sync(question, "RAG retrieves documents. " * 45_000)
    assert any("truncated" in n for n in assessment.notes)


CONTROL = "NUL\x00 here, \x1b[2J\x1b[31mred\x1b[0m, a title \x1b]0;pwned\x07 and a bell\x07."


async def test_control_characters_never_reach_the_terminal_raw(isolated_data_dir: Path) -> None:
    from rich.console import Console

    from interviewer.interview.records import load_records
    from interviewer.review.text_view import render_transcript

    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    interviewer, _ = tiny_interviewer(store)
    session, _ = await interviewer.start(user_key="tester", channel="repl", options=SessionOptions(questions=1, max_follow_ups=0))
    await interviewer.handle(Turn(session_key=session.session_key, user_key="tester", text=CONTROL))
    [record] = load_records(store, interviewer.bank, user="tester", sessions=[store.get_session(session.id)])
    terminal = io.StringIO()
    render_transcript(Console(file=terminal, force_terminal=False, width=100), record)
    shown = terminal.getvalue()
    assert "red" in shown and not any(c in shown for c in "\x00\x1b\x07")
    store.close()
    for args in (["show", session.id[:8]], ["export", session.id[:8]], ["export", session.id[:8], "-f", "html"]):
        result = CliRunner().invoke(cli.app, ["transcripts", *args], env={"COLUMNS": "200"})
        assert result.exception is None, result.output
        assert not any(c in result.output for c in "\x00\x1b\x07"), args


# --- ingested files and rubric files -------------------------------------------------------------


def test_invalid_utf8_in_an_ingested_file_is_reported_not_raised(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "good.md").write_text("# Attention\n\nQueries, keys and values decide where a token looks.\n", encoding="utf-8")
    (notes / "broken.md").write_bytes(b"# Broken\n\nLatin-1 caf\xe9 and a lone \xff byte.\n")
    (notes / "control.txt").write_bytes(b"Text with \x1b[31m escapes \x07 and more words here.\n")
    result = CliRunner().invoke(cli.app, ["ingest", str(notes)], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "broken.md" in result.output and "not valid UTF-8" in result.output
    assert "\x1b[31m" not in result.output


def test_a_malformed_rubric_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("topic: broken\nquestions:\n  - id: q1\n    text: [unclosed\n    difficulty: 2\n", encoding="utf-8")
    with pytest.raises(RubricError) as caught:
        RubricBank.load([tmp_path])
    message = str(caught.value)
    assert f"{bad}:" in message and "invalid YAML" in message
    assert message.split(f"{bad}:")[1].split(":")[0].isdigit()  # a line number


def test_a_rubric_in_invalid_utf8_is_a_rubric_error(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes(b"topic: caf\xe9\nquestions: []\n")
    with pytest.raises(RubricError, match="latin.yaml"):
        RubricBank.load([tmp_path])


# --- export paths and session ids -----------------------------------------------------------------


def tree(root: Path) -> set[str]:
    """Every path under ``root`` but the data dir (where the store may write its journal files)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.relative_to(root).parts[0] != "data"}


@pytest.fixture
async def recorded(isolated_data_dir: Path) -> str:
    """One finished interview of 'tester' in the CLI's own store; its id."""
    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    interviewer, _ = tiny_interviewer(store)
    session, _ = await interviewer.start(user_key="tester", channel="repl", options=SessionOptions(questions=1, max_follow_ups=0))
    await interviewer.handle(Turn(session_key=session.session_key, user_key="tester", text="omega is the last greek letter"))
    store.close()
    return session.id


def export(session_id: str, *args: str):
    return CliRunner().invoke(cli.app, ["transcripts", "export", session_id, *args], env={"COLUMNS": "200"})


@pytest.mark.parametrize("target", ["../../x.md", "sub/../../../x.md", "/etc/interviewer-x.md", "/usr/x.md"])
def test_an_export_path_outside_the_allowed_places_is_refused(recorded: str, tmp_path: Path, monkeypatch, target: str) -> None:
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = tree(tmp_path)
    result = export(recorded, "-o", target)
    assert isinstance(result.exception, UserError)
    assert "climbs out of the current directory" in str(result.exception) or "system directories" in str(result.exception)
    assert tree(tmp_path) == before
    assert not Path(target).is_absolute() or not Path(target).exists()


def test_an_export_path_elsewhere_needs_force_path(recorded: str, tmp_path: Path, monkeypatch) -> None:
    from interviewer.review.export import OutputPathError, export_path

    data = tmp_path / "data"
    with pytest.raises(OutputPathError, match="--force-path"):
        export_path(Path("/mnt/shared/x.md"), data, cwd=tmp_path)
    assert export_path(Path("/mnt/shared/x.md"), data, cwd=tmp_path, anywhere=True) == Path("/mnt/shared/x.md").resolve()
    with pytest.raises(OutputPathError, match="system directories"):
        export_path(Path("/etc/x.md"), data, cwd=tmp_path, anywhere=True)


def test_an_export_name_too_long_for_the_file_system_gets_one_line(recorded: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = export(recorded, "-o", "a" * 300 + ".md")
    assert isinstance(result.exception, UserError)  # one line, not an internal error claiming all is saved
    message = str(result.exception)
    assert "File name too long; choose a shorter file name" in message
    assert len(message) < 150 and "..." in message  # the 300-character name is shortened in the message
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("a")]


def test_an_export_inside_the_working_directory_is_written(recorded: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = export(recorded, "-o", "reports/../out/x.md")
    assert result.exception is None, result.output
    assert (tmp_path / "out" / "x.md").read_text(encoding="utf-8").startswith("#")


@pytest.mark.parametrize("command", ["show", "export", "delete"])
def test_hostile_session_ids_find_nothing(recorded: str, tmp_path: Path, monkeypatch, command: str) -> None:
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    for hostile in HOSTILE_IDS:
        args = ["transcripts", command, hostile, *(["--yes"] if command == "delete" else [])]
        result = CliRunner().invoke(cli.app, args, env={"COLUMNS": "200"})
        assert isinstance(result.exception, UserError), (hostile[:20], repr(result.exception))
        assert str(result.exception).startswith("no interview")
    assert tree(tmp_path) == before
    assert export(recorded).exception is None  # the real interview is still there


async def test_hostile_ids_in_slack_and_discord_show(store: Store, monkeypatch) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from discord_wire import open_wire
    from interviewer_adapters.discord import DiscordChannel
    from interviewer_adapters.discord_server import InterviewBot
    from interviewer_adapters.slack_server import build_slack_app

    interviewer, _ = tiny_interviewer(store)
    _, slack = build_slack_app(interviewer, token="xoxb-test", signing_secret="s", client=AsyncWebClient(token="xoxb-test",
                                                                                                            base_url="http://127.0.0.1:9/"))
    bot = InterviewBot(DiscordChannel(interviewer))
    wire = open_wire(bot, monkeypatch)
    show = bot.tree.get_command("interview").get_command("show").callback
    for hostile in HOSTILE_IDS:
        blocks = await slack._show("T1", "U1", [hostile])
        assert blocks[0]["text"]["text"].startswith("You have no interview")
        event = wire.interaction(wire.member(name="eve"), wire.thread())
        await show(event, id=hostile)
        [told] = wire.followups(event)
        assert told["content"].startswith("You have no interview") and "@" not in told["content"]
