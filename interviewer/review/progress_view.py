"""How ``interviewer progress`` shows a ``ProgressReport`` in the terminal: topics with their
trends and counts, the notes drills apart, the points losing most credit, the practice set.
The figures themselves are computed in ``interviewer.review.progress``."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from interviewer.labels import BAND_COLOUR, VERDICT_BAND
from interviewer.review.progress import SPARK, Direction, NotesProgress, ProgressReport, TopicProgress, shortened
from interviewer.text import plural


def sparkline(values: list[float], *, width: int = 12) -> str:
    """Block characters on the fixed 0-10 scale (so a flat 9 looks high and a flat 2 low)."""
    return "".join(SPARK[min(len(SPARK) - 1, max(0, round(v / 10 * (len(SPARK) - 1))))] for v in values[-width:])


_ARROWS = {"improving": ("↑", "green"), "slipping": ("↓", "red"), "steady": ("→", "yellow")}


def _trend_cell(trend: float | None, direction: Direction) -> str:
    if trend is None or direction == "new":
        return "[cyan]new[/cyan]"
    arrow, colour = _ARROWS[direction]
    return f"[{colour}]{arrow} {trend:+.1f} {direction}[/{colour}]"


def _topic_trend_cell(topic: TopicProgress) -> str:
    """'↑ +3.0 · 1 vs 4 Qs': the direction without its word (the arrow says it) and the counts, so a trend
    from one question looks as thin as it is."""
    if topic.trend is None:
        return "[cyan]new[/cyan]"
    arrow, colour = _ARROWS[topic.direction]
    return f"[{colour}]{arrow} {topic.trend:+.1f}[/{colour}] [dim]· {topic.latest_questions} vs {topic.earlier_questions} Qs[/dim]"


def _overall_line(report: ProgressReport) -> str | None:
    """The overall trend with what it is over, or why there is none yet (None: nothing to say)."""
    if report.trend is not None:
        its = "its latest interview" if report.trend_topics == 1 else "their latest interviews"
        return (f"Trend {_trend_cell(report.trend, report.direction)} on {plural(report.trend_topics, 'topic')}: "
                f"{plural(report.trend_latest_questions, 'question')} in {its} vs {report.trend_earlier_questions} before")
    if report.graded_sessions > 1 and report.topics:
        return "Trend: [cyan]none yet[/cyan] (a topic needs answers in 2 interviews to be compared with itself)"
    return None


def _notes_line(notes: NotesProgress) -> str:
    over = plural(notes.sessions, "interview")
    latest = f", latest {notes.latest:.1f}/10" if notes.sessions > 1 else ""
    return (f"Notes drills: {plural(notes.questions, 'question')} from your notes in {over}, "
            f"mean {notes.mean:.1f}/10{latest} [dim](not a bank topic: left out of topics and trend)[/dim]")


def render_progress(console: Console, report: ProgressReport, *, points: int = 10) -> None:
    """The ``interviewer progress`` view: topics, weakest points, the suggested practice set."""
    if report.empty:
        console.print("No interviews yet: start one with 'interviewer practice', then come back here to see your progress.")
        return
    s = "s" if report.sessions != 1 else ""
    if report.questions_answered == 0:
        console.print(f"{report.sessions} interview{s}, but no graded answer yet: answer a few questions with 'interviewer practice'.")
        return
    span = f"{report.first_at:%Y-%m-%d}" if report.first_at == report.latest_at else f"{report.first_at:%Y-%m-%d} to {report.latest_at:%Y-%m-%d}"
    who = f" of {escape(report.user)}" if report.user else ""
    if report.overall_mean is None:
        answered = "no bank question answered yet"
    else:
        kind = "bank question" if report.notes else "question"
        answered = f"{plural(report.bank_questions, kind)} answered, average [bold]{report.overall_mean:.1f}/10[/bold]"
    console.print(f"[bold]Progress{who}[/bold]: {report.sessions} interview{s} ({span}), {answered}")
    overall = _overall_line(report)
    if overall:
        console.print(overall)
    if report.notes:
        console.print(_notes_line(report.notes))

    if report.topics:
        topics = Table(title="By topic (weakest first)", box=box.SIMPLE_HEAD, pad_edge=False,
                       caption="Trend: latest interview vs the earlier ones (questions on each side)", caption_justify="left")
        # no "Best" column: the best session mean is often the one with the fewest questions
        topics.add_column("Topic", min_width=10, overflow="fold")
        for name, justify in (("Sessions", "right"), ("Qs", "right"), ("Latest", "right"), ("Trend", "left"), ("History", "left")):
            topics.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        for t in report.topics:
            topics.add_row(escape(t.title), str(t.sessions), str(t.questions), f"{t.latest:.1f}",
                           _topic_trend_cell(t), sparkline([v for _, v in t.series]))
        console.print(topics)

    if report.weakest_points:
        # narrow: no topic column (the "Read" citation names the file and section), so words are not cut
        wide = console.width >= 110
        weak = Table(title="Points you keep losing credit on", box=box.SIMPLE_HEAD, pad_edge=False, expand=True)
        weak.add_column("Point", ratio=5, overflow="fold")
        if wide:
            weak.add_column("Topic", ratio=3, overflow="fold")
        weak.add_column("Attempts" if wide else "Tries", justify="right", no_wrap=True)
        weak.add_column("Mean credit" if wide else "Credit", justify="right", no_wrap=True)
        weak.add_column("Last", no_wrap=True)
        weak.add_column("Read", ratio=3, overflow="fold")
        for p in report.weakest_points[:points]:
            style = BAND_COLOUR[VERDICT_BAND[p.last_verdict]]
            topic = "[dim]from your notes[/dim]" if p.generated else escape(p.topic_title)
            cells = [f"{escape(shortened(p.text, 80))} [dim]({escape(p.question_id)})[/dim]", *([topic] if wide else []),
                     str(p.attempts), f"{p.mean_credit:.0%}", f"[{style}]{p.last_verdict}[/{style}]", escape(p.cite or "-")]
            weak.add_row(*cells)
        console.print(weak)
        if len(report.weakest_points) > points:
            console.print(f"[dim]… and {len(report.weakest_points) - points} more.[/dim]")
    else:
        console.print("[green]No rubric point lost credit: every point was covered.[/green]")

    if report.suggested:
        console.print("[bold]Practise next[/bold]")
        for n, suggestion in enumerate(report.suggested, 1):
            console.print(f"  {n}. [cyan]{escape(suggestion.question_id)}[/cyan] ({escape(suggestion.topic_title)}, "
                          f"level {suggestion.difficulty}): {escape(suggestion.reason)}")
        console.print(f"Drill them with: [bold]{report.drill_command}[/bold]")
