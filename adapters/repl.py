"""The terminal channel: Rich output, prompt_toolkit input, or plain paragraphs from a pipe.

Only translation lives here (as in opsdroid's shell connector): read a message, hand it to the
core as a Turn, render the Reply. With a TTY an answer may span lines and a blank line sends it;
without one (piped stdin) each paragraph is one answer, so interviews can be scripted.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from interviewer.domain import Session, Turn
from interviewer.interview.feedback import by_topic_line, quoted_claim, score_label, usage_line
from interviewer.interview.replies import Message, Reply, parse_command
from interviewer.interview.session import Interviewer
from interviewer.labels import BAND_COLOUR, TEXT_MARK, VERDICT_BAND, score_band
from interviewer_adapters.closed_output import OutputWatch

CHANNEL = "repl"
VERDICT_STYLE = {verdict: (mark, BAND_COLOUR[VERDICT_BAND[verdict]]) for verdict, mark in TEXT_MARK.items()}


def paragraphs(stream: IO[str]) -> Iterator[str]:
    """Answers from a non-interactive stream: paragraphs separated by blank lines; a command
    alone on its first line (hint, skip, end, ...) is sent at once, without the blank line."""
    block: list[str] = []
    for line in stream:
        if not block and parse_command(line) is not None:
            yield line.strip()
        elif line.strip():
            block.append(line.rstrip("\n"))
        elif block:
            yield "\n".join(block)
            block = []
    if block:
        yield "\n".join(block)


class ReplRenderer:
    """Renders core replies with Rich."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def live_utterance(self) -> Iterator[Callable[[str], None] | None]:
        """A spinner while the answer is graded, then the interviewer's words as a model streams
        them; the final reply replaces both. Only on a terminal: piped output gets the reply alone.
        """
        if not self.console.is_terminal:
            yield None
            return
        shown = Text(style="italic cyan")
        waiting = Spinner("dots", text=Text("grading your answer…", style="dim"))
        with Live(waiting, console=self.console, transient=True, refresh_per_second=12) as live:

            def add(delta: str) -> None:
                shown.append(delta)
                live.update(shown)

            yield add

    def render(self, reply: Reply) -> None:
        for message in reply.messages:
            getattr(self, f"_{message.kind}", self._plain)(message)

    def _plain(self, message: Message) -> None:
        self.console.print(escape(message.text))

    def _welcome(self, message: Message) -> None:
        self.console.print(Panel(escape(message.text), title="interviewer", border_style="cyan"))

    def _notice(self, message: Message) -> None:
        self.console.print(f"[dim]{escape(message.text)}[/dim]")

    def _error(self, message: Message) -> None:
        self.console.print(f"[bold red]{escape(message.text)}[/bold red]")

    def _help(self, message: Message) -> None:
        self.console.print(Panel(escape(message.text), title="help", border_style="blue"))

    def _hint(self, message: Message) -> None:
        self.console.print(f"[magenta]{escape(message.text)}[/magenta]")

    def _question(self, message: Message) -> None:
        d = message.data
        progress = f"Question {d.get('index', '?')}/{d.get('total', '?')} · {d.get('topic_title', d.get('topic', ''))} · difficulty {d.get('difficulty', '?')}"
        if d.get("question_kind") == "scenario":
            progress += " · scenario"
        if d.get("generated"):
            progress += " · generated from your notes"
        self.console.print()
        self.console.print(Panel(Text(message.text, style="bold"), title=progress, title_align="left", border_style="cyan"))
        if not d.get("context_for"):  # shown again above its follow-up: the follow-up is what to answer
            self.console.print("[dim]Answer, then press Enter on an empty line to send · hint · skip · repeat · end · help[/dim]")

    def _follow_up(self, message: Message) -> None:
        self.console.print(Panel(escape(message.text), title="follow-up", title_align="left", border_style="yellow"))

    def _feedback(self, message: Message) -> None:
        d = message.data
        score = d["score"]
        colour = BAND_COLOUR[score_band(score)]
        table = Table(show_header=True, header_style="bold", expand=True)
        table.add_column("", width=3)
        table.add_column("Rubric point", ratio=3)
        table.add_column("Evidence from your answer", ratio=3)
        for point in d["points"]:
            mark, style = VERDICT_STYLE[point["verdict"]]
            evidence = Text(f"“{point['evidence']}”", style="italic") if point.get("evidence") else Text("—", style="dim")
            table.add_row(Text(mark, style=style), Text(point["text"]), evidence)
        parts: list[Any] = [Text(d["remark"], style="italic cyan"), table] if d.get("remark") else [table]
        for hit in d.get("misconceptions", []):
            parts.append(Text.assemble(("Careful: ", "bold red"), f"you said {quoted_claim(hit['evidence'])} ", hit["correction"]))
        if d.get("read_more"):
            parts.append(Text("Read more: " + "; ".join(d["read_more"]), style="cyan"))
        for note in d.get("notes", []):
            parts.append(Text(f"Note: {note}", style="dim"))
        if d.get("model_answer"):
            parts.append(Panel(d["model_answer"].strip(), title="Model answer", border_style="dim"))
        title = f"Score {score:.1f}/10" + (" (skipped)" if d.get("skipped") else "")
        if d.get("hints"):
            title += f" · hints used: {d['hints']}"
        self.console.print(Panel(Group(*parts), title=title, title_align="left", border_style=colour))

    def _summary(self, message: Message) -> None:
        d = message.data
        if not d.get("questions"):
            self.console.print(escape(message.text))
            return
        table = Table(title="Interview summary", expand=True)
        table.add_column("#", width=3)
        table.add_column("Topic")
        table.add_column("Level", width=5)
        table.add_column("Score", width=12)
        table.add_column("Question", ratio=3)
        for n, row in enumerate(d["questions"], start=1):
            table.add_row(str(n), row.get("topic_title") or row["topic"], str(row["difficulty"]), score_label(row), row["question"])
        parts: list[Any] = [table]
        if d.get("average") is not None:
            parts.append(Text(f"Average: {d['average']:.1f}/10", style="bold"))
        if d.get("topics"):
            parts.append(Text("By topic: " + by_topic_line(d)))
        if d.get("weakest"):
            parts.append(Text("Study next:", style="bold"))
            for item in d["weakest"]:
                cite = f"  (read: {item['cite']})" if item.get("cite") else ""
                parts.append(Text(f"  • {item['text']}{cite}"))
        if d.get("coaching"):
            parts.append(Panel(escape(d["coaching"]), title="Coaching", title_align="left", border_style="cyan"))
        if d.get("usage"):
            parts.append(Text(usage_line(d["usage"]), style="dim"))
        self.console.print(Group(*parts))


class TerminalInput:
    """Reads one message at a time from a TTY (prompt_toolkit) or a pipe (paragraphs)."""

    def __init__(self, stdin: IO[str] | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.interactive = self.stdin.isatty() and sys.stdout.isatty()
        self._paragraphs = None if self.interactive else paragraphs(self.stdin)
        self._prompt = self._make_prompt() if self.interactive else None

    @staticmethod
    def _make_prompt():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("enter")
        def _enter(event) -> None:
            buffer = event.current_buffer
            text = buffer.text
            if parse_command(text) is not None or (text.strip() and buffer.document.current_line.strip() == ""):
                buffer.validate_and_handle()
            elif text.strip():
                buffer.insert_text("\n")

        @bindings.add("escape", "enter")
        def _send(event) -> None:
            event.current_buffer.validate_and_handle()

        return PromptSession(
            multiline=True,
            key_bindings=bindings,
            bottom_toolbar=" Enter on an empty line (or Esc Enter) sends · hint · skip · repeat · end · help · Ctrl-D pauses ",
            prompt_continuation="… ",
        )

    async def read(self, draft: str = "") -> str | None:
        """The next message, or None at end of input; a terminal starts the input box with
        ``draft`` (an answer the interview could not take, to send again or edit)."""
        if self._prompt is not None:
            try:
                return (await self._prompt.prompt_async("› ", default=draft)).strip()
            except EOFError:
                return None
        if self.stdin.isatty():  # typing into a terminal whose output goes elsewhere (| tee log): still a prompt
            sys.stdout.write("› ")
            sys.stdout.flush()
        return await asyncio.to_thread(next, self._paragraphs, None)


async def run_session(
    interviewer: Interviewer, session: Session, first: Reply, *, console: Console | None = None, stdin: IO[str] | None = None
) -> Reply:
    """Drive one session in the terminal until it finishes or the input ends."""
    console = console or Console()
    renderer = ReplRenderer(console)
    source = TerminalInput(stdin)
    renderer.render(first)
    reply = first
    prompt: int | None = None  # the seq of the question or follow-up on screen
    draft = ""
    watch = OutputWatch(session.id).start()
    while not reply.finished:
        watch.idle.set()
        try:
            text = await source.read(draft)
        except KeyboardInterrupt:
            text = None
        watch.idle.clear()
        if text is None:
            console.print(
                f"\n[bold]Interview paused and saved[/bold] (session {session.id[:8]}). "
                "Continue later with [cyan]interviewer resume[/cyan]."
            )
            break
        if not source.interactive and not source.stdin.isatty():  # a terminal has shown what was typed
            shown = text if len(text) <= 300 else text[:300] + f"… ({len(text):,} characters)"
            console.print(Text(f"› {shown}", style="bold blue"))
        prompt = reply.prompt_seq if reply.prompt_seq is not None else prompt
        turn = Turn(session_key=session.session_key, user_key=session.user_key, text=text, channel=CHANNEL, prompt_seq=prompt)
        with renderer.live_utterance() as on_utterance:
            reply = await interviewer.handle(turn, on_utterance=on_utterance)
        renderer.render(reply)
        # An answer typed under a prompt another window had moved past was not taken: offer it
        # again in the input box rather than make the candidate type it twice.
        draft = text if any(m.data.get("reason") == "moved_on" for m in reply.messages) else ""
    watch.stop()
    return reply
