"""Rendering a stored interview for reading in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.domain import Assessment, Session, TurnRecord

ROLE_STYLE = {"candidate": "bold blue", "interviewer": "cyan", "system": "dim"}
MARK = {"covered": ("[x]", "green"), "partial": ("[~]", "yellow"), "missed": ("[ ]", "red")}


def render_transcript(console: Console, session: Session, turns: list[TurnRecord], grades: dict[int, Assessment]) -> None:
    console.print(
        Panel(
            f"Session {session.id}\nUser {escape(session.user_key)} · channel {session.channel} · "
            f"started {session.created_at:%Y-%m-%d %H:%M} UTC · {session.status}",
            title="Transcript",
        )
    )
    for turn in turns:
        if turn.kind == "feedback":
            console.print(Text(f"[feedback] score {turn.meta.get('score', '?')}/10", style="cyan"))
            continue
        if turn.kind == "summary":
            console.print(Panel(escape(turn.text), title="Summary"))
            continue
        label = f"{turn.role} · {turn.kind}"
        text = turn.text if len(turn.text) <= 2000 else turn.text[:2000] + f"… ({len(turn.text):,} characters)"
        console.print(Text(f"{label}: ", style=ROLE_STYLE.get(turn.role, "")) + Text(text))
        grade = grades.get(turn.seq)
        if grade is not None:
            table = Table(show_header=True, expand=True, title=f"score {grade.score:.1f}/10 ({grade.engine})")
            table.add_column("", width=3)
            table.add_column("Point")
            table.add_column("Evidence", ratio=2)
            for verdict in grade.verdicts:
                mark, style = MARK[verdict.verdict.value]
                table.add_row(Text(mark, style=style), verdict.point_id, verdict.evidence or "—")
            console.print(table)
            for hit in grade.misconceptions:
                console.print(Text(f"misconception {hit.misconception_id}: “{hit.evidence}”", style="red"))
