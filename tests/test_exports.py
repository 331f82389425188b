"""Reviewing stored interviews: records, the Markdown/JSON exports, transcripts list/show/export/delete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from interviewer.cli import main as cli
from interviewer.domain import Assessment, MisconceptionHit, PointVerdict, SessionOptions, Turn, Verdict
from interviewer.interview.records import load_records
from interviewer.interview.session import Interviewer
from interviewer.review.export import generated_schema, schema, to_json, to_markdown, to_text
from interviewer.rubrics import RubricBank
from interviewer.storage.store import Store
from interviewer.testing import ScriptedEngine
from harness.demo import backdate, example_rule

SNAPSHOT = Path(__file__).parent / "snapshots" / "export_session.md"
STARTED = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
QUESTIONS = ["rag-chunking", "emb-similarity-measures", "tl-negative-transfer"]


def example(bank: RubricBank, question_id: str, label: str) -> str:
    return next(e.answer for e in bank.questions[question_id].examples if e.label == label)


async def record_session(bank: RubricBank, store: Store, user: str = "tester", start: datetime = STARTED):
    """A fixed interview: a partial answer with a follow-up, a hint then a strong answer, a skip."""
    interviewer = Interviewer(bank, ScriptedEngine(rule=example_rule(bank.questions), name="offline", model=None), store)
    options = SessionOptions(question_ids=QUESTIONS, questions=3, max_follow_ups=1)
    session, _ = await interviewer.start(user_key=user, channel="repl", options=options, session_key=f"{user}:{start:%s}")

    async def say(text: str):
        return await interviewer.handle(Turn(session_key=session.session_key, user_key=user, text=text))

    first = await say(example(bank, QUESTIONS[0], "partial"))
    assert [m.kind for m in first.messages] == ["follow_up"]
    await say("Semantic chunking splits where the embedding similarity between neighbouring sentences drops.")
    await say("hint")
    await say(example(bank, QUESTIONS[1], "strong"))
    done = await say("skip")
    assert done.finished
    backdate(store, session.id, start)
    return store.get_session(session.id)


@pytest.fixture
async def recorded(bank: RubricBank, store: Store):
    session = await record_session(bank, store)
    [record] = load_records(store, bank, user="tester", sessions=[session])
    return session, record


async def test_the_record_folds_each_question(recorded) -> None:
    _, record = recorded
    assert [q.question_id for q in record.questions] == QUESTIONS
    rag, emb, tl = record.questions
    assert rag.follow_ups == 1 and len(rag.grades) == 2 and rag.score == rag.grades[-1].score
    assert [e.kind for e in rag.exchanges] == ["question", "answer", "follow_up", "answer", "feedback"]
    assert emb.hints == 1 and emb.score == 10.0 and not emb.skipped
    assert tl.skipped and tl.score == 0.0 and tl.grades[-1].engine == "skip"
    assert record.status == "finished" and record.summary and record.summary.startswith("Interview summary")
    assert record.average == round((rag.score + emb.score + tl.score) / 3, 2)
    assert record.started_at == STARTED and record.duration_seconds > 0
    assert rag.read_more and all(">" in cite for cite in rag.read_more)        # the sections of the points missed


def test_the_remark_of_older_feedback_is_read_from_its_text(bank: RubricBank, store: Store) -> None:
    session = store.create_session(user_key="tester", channel="repl", options=SessionOptions(questions=1))
    store.append_turn(session.id, role="interviewer", kind="question", text="Q?", question_id="rag-chunking")
    store.append_turn(session.id, role="interviewer", kind="feedback", text="Interviewer: Nice and precise.\nScore: 9.0/10", question_id="rag-chunking")
    [record] = load_records(store, bank, user="tester")
    assert record.questions[0].remark == "Nice and precise."
    assert "**Interviewer:** Nice and precise." in to_markdown([record], "tester")


async def test_markdown_export_matches_the_recorded_session(recorded) -> None:
    session, record = recorded
    markdown = to_markdown([record], "tester").replace(session.id[:8], "SESSIONID")
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(markdown, encoding="utf-8")
    assert markdown == SNAPSHOT.read_text(encoding="utf-8")
    assert "**" in markdown.split("**You:**", 1)[1]                           # evidence is highlighted in the answer


def test_the_published_schema_is_the_models_schema() -> None:
    assert schema() == generated_schema()
    assert schema()["properties"]["version"]["const"] == 1


async def test_json_export_validates_and_carries_every_grade_field(bank: RubricBank, store: Store) -> None:
    session = store.create_session(user_key="tester", channel="slack", options=SessionOptions(questions=1))
    question = bank.questions["rag-chunking"]
    store.append_turn(session.id, role="interviewer", kind="question", text=question.text, question_id=question.id, meta={"topic": "rag"})
    answer = store.append_turn(session.id, role="candidate", kind="answer", text="Chunks must fit the context window.", question_id=question.id)
    grade = Assessment(
        question_id=question.id, score=2.5, engine="llm", model="openai/gpt-4o-mini", prompt_version="assess-v1.persona-v1",
        rubric_hash=question.content_hash, tokens_in=812, tokens_out=95, cost=0.00018, latency_ms=1234.5,
        verdicts=[PointVerdict(point_id=question.points[0].id, verdict=Verdict.partial, evidence="Chunks must fit the context window", reasoning="r")],
        misconceptions=[MisconceptionHit(misconception_id="m", evidence="Chunks must fit", correction="c")],
    )
    store.add_assessment(session.id, answer.seq, grade)
    records = load_records(store, bank, user="tester")
    document = json.loads(to_json(records, "tester"))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert document["schema"] == "interviewer.transcripts" and document["version"] == 1
    exported = document["sessions"][0]["questions"][0]["grades"][0]
    for field in ("score", "engine", "model", "prompt_version", "rubric_hash", "tokens_in", "tokens_out", "cost", "latency_ms"):
        assert exported[field] == getattr(grade, field), field
    assert exported["points"][0] | {"text": ""} == {
        "point_id": question.points[0].id, "text": "", "weight": question.points[0].weight, "verdict": "partial",
        "evidence": "Chunks must fit the context window", "reasoning": "r", "cite": question.points[0].cite,
    }
    assert len(exported["points"]) == len(question.points)                       # ungraded points are exported as missed
    assert document["sessions"][0]["usage"]["tokens_in"] == 812


async def test_a_broken_document_fails_the_schema(recorded) -> None:
    _, record = recorded
    document = json.loads(to_json([record], "tester"))
    document["sessions"][0]["questions"][0]["grades"][0]["score"] = "high"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema()).validate(document)


async def test_hostile_answers_stay_text_in_markdown(bank: RubricBank, store: Store) -> None:
    session = store.create_session(user_key="tester", channel="repl", options=SessionOptions(questions=1))
    store.append_turn(session.id, role="interviewer", kind="question", text="Q?", question_id="rag-chunking")
    store.append_turn(session.id, role="candidate", kind="answer", text="<script>x</script> [click](http://evil) **bold**", question_id="rag-chunking")
    markdown = to_markdown(load_records(store, bank, user="tester"), "tester")
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "\\[click\\](http://evil)" in markdown and "\\*\\*bold\\*\\*" in markdown


async def test_plain_text_for_chat_has_verdicts_and_the_summary(recorded) -> None:
    _, record = recorded
    text = to_text(record)
    assert text.index("Q1 ·") < text.index("Q2 ·") < text.index("Interview summary")
    assert "✅" in text and "(you typed 'skip')" in text and "Hint: " in text


# --- the commands ---------------------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "interviewer", *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())


@pytest.fixture
async def history(bank: RubricBank, isolated_data_dir: Path):
    """Three interviews of 'tester' over a week and one of 'mallory', in the CLI's own store."""
    store = Store(f"sqlite:///{isolated_data_dir / 'interviewer.db'}")
    mine = [await record_session(bank, store, "tester", STARTED + timedelta(days=3 * n)) for n in range(3)]
    theirs = await record_session(bank, store, "mallory", STARTED)
    yield store, mine, theirs
    store.close()


def invoke(*args: str):
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200"})
    assert result.exception is None, result.output
    return result


async def test_list_at_80_columns_shows_every_topic_whole(history) -> None:
    """At 80 columns the Topics column was one character wide ("T…", "r…") and rows went blank."""
    store, mine, _ = history
    result = CliRunner().invoke(cli.app, ["transcripts", "list"], env={"COLUMNS": "80"})
    assert result.exception is None, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines) and "…" not in result.output
    assert "Topics" in lines[1] and "graded by" in lines[0]
    record = load_records(store, RubricBank.load(), user="tester")[0]
    start, end = lines[1].index("Topics"), lines[1].index("Qs")
    column = "".join(line[start:end].strip() for line in lines[3:])           # the Topics cells, folded lines joined
    for topic in record.topics:
        assert topic in column, (topic, column)
    assert lines[-1].strip() != ""                                          # no blank row at the end


async def test_list_filters_by_topic_and_date(history) -> None:
    _, mine, theirs = history
    listed = invoke("transcripts", "list").output
    assert all(s.id[:8] in listed for s in mine) and theirs.id[:8] not in listed
    recent = invoke("transcripts", "list", "--since", (STARTED + timedelta(days=4)).date().isoformat()).output
    assert mine[2].id[:8] in recent and mine[0].id[:8] not in recent
    assert "No saved interviews" in invoke("transcripts", "list", "--topic", "diffusion-models").output
    assert mine[0].id[:8] in invoke("transcripts", "list", "--topic", "rag").output


async def test_show_has_every_part_of_the_interview(history, bank: RubricBank) -> None:
    _, mine, _ = history
    shown = invoke("transcripts", "show", mine[0].id[:8]).output
    for question_id in QUESTIONS:
        assert bank.questions[question_id].text[:60] in shown
    assert "follow-up:" in shown and "hint:" in shown and "you typed 'skip'" in shown
    assert "score 10.0/10" in shown and "Model answer" in shown and "Read more:" in shown
    assert "graded by offline" in shown


async def test_export_all_writes_each_format(history, tmp_path: Path) -> None:
    _, mine, theirs = history
    for fmt in ("md", "json"):
        target = tmp_path / f"all.{fmt}"
        invoke("transcripts", "export", "--all", "--format", fmt, "-o", str(target))
        text = target.read_text(encoding="utf-8")
        assert all(s.id[:8] in text for s in mine) and theirs.id[:8] not in text
    document = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema()).validate(document)
    assert [s["id"] for s in document["sessions"]] == [s.id for s in reversed(mine)]   # newest first
    one = invoke("transcripts", "export", mine[1].id[:8], "--format", "json").output
    assert [s["id"] for s in json.loads(one)["sessions"]] == [mine[1].id]


async def test_delete_removes_turns_and_grades(history) -> None:
    store, mine, theirs = history
    invoke("transcripts", "delete", mine[0].id[:8], "--yes")
    assert store.get_session(mine[0].id) is None
    assert store.transcript(mine[0].id) == ([], {})
    assert store.turns(mine[1].id) and store.assessments(mine[1].id)           # the others are untouched
    invoke("transcripts", "delete", "--all", "--yes")
    assert store.sessions("tester") == [] and store.sessions("mallory") == [theirs]
    assert store.turns(theirs.id) and store.assessments(theirs.id)


async def test_another_users_interview_is_out_of_reach(history) -> None:
    store, _, theirs = history
    for command in (["show", theirs.id[:8]], ["export", theirs.id[:8]], ["delete", theirs.id[:8], "--yes"]):
        result = run("transcripts", *command)
        assert result.returncode == 1
        assert f"no interview '{theirs.id[:8]}' of user tester" in result.stderr
    assert store.get_session(theirs.id) is not None


def test_an_id_prefix_too_short_to_name_one_interview_is_refused(history) -> None:
    store, mine, _ = history
    for command in (["show", mine[0].id[:1]], ["delete", mine[0].id[:3], "--yes"]):
        result = run("transcripts", *command)
        assert result.returncode == 1 and "an id prefix needs at least 4 characters" in result.stderr
    assert store.get_session(mine[0].id) is not None  # nothing was deleted
    assert store.find_session(mine[0].id[:3], user_key="tester") is None
    if not any(s.id.startswith(mine[0].id[:4]) for s in mine[1:]):  # random ids: almost always unique at 4
        assert store.find_session(mine[0].id[:4], user_key="tester") == store.get_session(mine[0].id)


def test_bad_requests_get_one_line(isolated_data_dir: Path) -> None:
    assert "choose one of md, json, html" in run("transcripts", "export", "--all", "--format", "pdf").stderr
    assert "use a date like 2026-11-01" in run("transcripts", "list", "--since", "last tuesday").stderr
    assert "pass --all" in run("transcripts", "delete").stderr
    result = run("transcripts", "delete", "--all")
    assert result.returncode == 0 and "has no saved interviews" in result.stdout


async def test_progress_and_weakest_drill(history, bank: RubricBank) -> None:
    from interviewer.cli.review import weakest_question_ids

    shown = invoke("progress").output
    assert "interviewer practice --weakest" in shown and "rag" in shown.lower()
    drill = weakest_question_ids("tester", 3)
    assert len(drill) == 3 and len(set(drill)) == 3 and all(q in bank.questions for q in drill)
    result = run("practice", "--weakest", "-n", "3")
    assert result.returncode == 0, result.stderr
    assert "Drilling your weakest points: 3 questions" in result.stdout
    assert bank.questions[drill[0]].text[:50] in result.stdout                 # the first suggestion is asked first


def test_weakest_without_history_says_so(isolated_data_dir: Path) -> None:
    result = run("practice", "--weakest")
    assert result.returncode == 1 and "nothing to drill" in result.stderr


async def test_a_skipped_question_is_not_listed_as_a_grading_engine(store: Store) -> None:
    """"Graded by: offline, skip" named skip as an engine; a skip is not graded by anyone."""
    from interviewer.testing import keyword_rule

    bank = RubricBank.load([Path(__file__).parent / "fixtures" / "tiny.yaml"])
    interviewer = Interviewer(bank, ScriptedEngine(rule=keyword_rule), store)
    session, _ = await interviewer.start(user_key="tester", channel="test", session_key="k",
                                         options=SessionOptions(question_ids=["tiny-one", "tiny-two"], max_follow_ups=0))
    await interviewer.handle(Turn(session_key="k", user_key="tester", text="alpha beta gamma"))
    await interviewer.handle(Turn(session_key="k", user_key="tester", text="skip"))
    [record] = load_records(store, bank, user="tester")
    assert record.engines == ["scripted"] and [q.skipped for q in record.questions] == [False, True]
    graded_by = next(line for line in to_markdown([record], "tester").splitlines() if "Graded by" in line)
    assert graded_by.startswith("- Graded by: scripted") and "skip" not in graded_by
