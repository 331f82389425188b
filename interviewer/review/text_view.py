"""Rendering a stored interview for reading in the terminal (``interviewer transcripts show``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.interview.feedback import duration_label, grade_provenance
from interviewer.review.highlight import evidence_marks, segments
from interviewer.text import visible

if TYPE_CHECKING:
    from interviewer.interview.records import GradeRecord, QuestionRecord, SessionRecord

MARK = {"covered": ("[x]", "green"), "partial": ("[~]", "yellow"), "missed": ("[ ]", "red")}
HIGHLIGHT = {"covered": "bold green", "partial": "bold yellow", "misconception": "bold red underline"}
LONG_TURN = 4_000


def render_transcript(console: Console, record: SessionRecord) -> None:
    """The whole interview: each question, the answers with their evidence highlighted, follow-ups,
    the verdict of every point, feedback, citations and the model answer."""
    average = "not graded" if record.average is None else f"{record.average:.1f}/10"
    engines = ", ".join(record.engines) or "—"
    if record.models:
        engines += f" ({', '.join(record.models)})"
    console.print(
        Panel(
            f"Session {record.id}\nUser {escape(record.user)} · {record.channel} · started "
            f"{record.started_at:%Y-%m-%d %H:%M} UTC · {record.status} · {duration_label(record.duration_seconds)}\n"
            f"Average {average} · graded by {escape(engines)}",
            title="Transcript",
        )
    )
    for question in record.questions:
        _question(console, question)
    if record.coaching:
        console.print(Panel(escape(record.coaching), title="Coaching"))
    if record.summary:
        console.print(Panel(escape(record.summary), title="Summary"))
    console.print(Text("Legend: green = evidence for a covered point, yellow = partial, red = misconception.", style="dim"))


def _question(console: Console, q: QuestionRecord) -> None:
    score = "not graded" if q.score is None else f"score {q.score:.1f}/10" + (" (skipped)" if q.skipped else "")
    console.rule(Text(f"Q{q.index} · {q.topic_title} · level {q.difficulty} · {score}"))
    console.print(Text(q.text, style="bold cyan"))
    for exchange in q.exchanges:
        if exchange.kind == "question":
            continue
        if exchange.kind == "answer":
            console.print(Text("you: ", style="bold blue") + _highlighted(exchange.text, q.final))
        elif exchange.kind == "follow_up":
            console.print(Text("follow-up: ", style="cyan") + Text(visible(exchange.text)))
        elif exchange.kind == "hint":
            console.print(Text("hint: ", style="magenta") + Text(visible(exchange.text)))
        elif exchange.kind == "command":
            console.print(Text(f"you typed '{visible(exchange.text)}'", style="dim"))
    if len(q.grades) > 1:
        steps = " → ".join(f"{g.score:.1f}" for g in q.grades)
        console.print(Text(f"score after each answer: {steps} (the follow-ups can raise a verdict, never lower one)", style="dim"))
    if q.final is not None:
        _grade(console, q.final)
    if q.read_more:
        console.print(Text("Read more: " + "; ".join(q.read_more), style="dim"))
    if q.model_answer:
        console.print(Panel(Text(q.model_answer), title="Model answer", border_style="dim"))


def _highlighted(answer: str, grade: GradeRecord | None) -> Text:
    shown = answer if len(answer) <= LONG_TURN else answer[:LONG_TURN]
    marks = evidence_marks(grade)
    text = Text()
    for piece, label in segments(shown, marks):
        text.append(visible(piece), style=HIGHLIGHT.get(label or "", ""))
    if len(answer) > LONG_TURN:
        text.append(f"… ({len(answer):,} characters)", style="dim")
    return text


def _grade(console: Console, grade: GradeRecord) -> None:
    table = Table(show_header=True, expand=True, title=f"score {grade.score:.1f}/10 ({grade.engine})")
    table.add_column("", width=3)
    table.add_column("Point", ratio=2)
    table.add_column("Evidence", ratio=2)
    table.add_column("Read", ratio=1)
    for point in grade.points:
        mark, style = MARK[point.verdict]
        table.add_row(Text(mark, style=style), f"{point.point_id}: {point.text}", Text(visible(point.evidence or "—")), point.cite or "")
    parts: list = [table]
    parts += [Text(f"misconception {m.misconception_id}: “{visible(m.evidence)}” — {m.correction}", style="red") for m in grade.misconceptions]
    parts.append(Text(grade_provenance(grade), style="dim"))
    console.print(Group(*parts))
