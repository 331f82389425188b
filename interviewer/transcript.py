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
            console.print(Text(grade_provenance(grade), style="dim"))
            for hit in grade.misconceptions:
                console.print(Text(f"misconception {hit.misconception_id}: “{hit.evidence}”", style="red"))


def grade_provenance(grade: Assessment) -> str:
    """Who graded and at what cost: engine, model, prompt version, tokens, cost, time, fallback."""
    parts = [f"graded by {grade.engine}" + (f" ({grade.model})" if grade.model else "")]
    if grade.prompt_version:
        parts.append(f"prompt {grade.prompt_version}")
    if grade.tokens_in or grade.tokens_out:
        parts.append(f"{grade.tokens_in or 0:,} tokens in / {grade.tokens_out or 0:,} out")
    if grade.cost is not None:
        parts.append(f"${grade.cost:.4f}")
    if grade.latency_ms is not None:
        parts.append(f"{grade.latency_ms:,.0f} ms")
    if grade.fallback:
        parts.append(f"fell back from {grade.fallback}")
    return " · ".join(parts)
