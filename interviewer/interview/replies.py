"""What the core says back: channel-neutral messages that each adapter renders its own way."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from interviewer.safe_text import sanitise

MessageKind = Literal["welcome", "question", "follow_up", "feedback", "hint", "notice", "summary", "help", "error"]

COMMANDS: dict[str, str] = {
    "hint": "a nudge toward something your answer is missing",
    "skip": "move on and see the model answer (0 if you had not answered; after a follow-up, your answer keeps its grade)",
    "repeat": "show the current question again",
    "end": "finish the interview now and see the summary",
    "help": "list these commands",
}


CONTROLS = ("hint", "skip", "repeat", "end")  # what a channel may offer as buttons while a prompt is open


class Message(BaseModel):
    """One thing to show: plain ``text`` always works; ``data`` lets an adapter render richly."""

    kind: MessageKind
    text: str
    data: dict[str, Any] = Field(default_factory=dict)


class Reply(BaseModel):
    session_id: str | None = None
    messages: list[Message] = Field(default_factory=list)
    buttons: list[str] = Field(default_factory=list)
    # The seq of the question or follow-up the buttons act on and the candidate's next message
    # answers; a channel hands it back in ``Turn.prompt_seq`` (see there).
    prompt_seq: int | None = None
    finished: bool = False

    def add(self, kind: MessageKind, text: str, **data: Any) -> "Reply":
        """Append a message. Its text and every string in its data are made safe to show first:
        model words, notes and quoted answers reach terminals and chats, whatever engine or
        plugin wrote them, and an escape sequence in them must never drive the screen."""
        self.messages.append(Message(kind=kind, text=sanitise(text), data=_safe(data)))
        return self

    def awaiting(self, prompt_seq: int | None) -> "Reply":
        """The candidate answers next: offer the controls, acting on the prompt stored at ``prompt_seq``."""
        self.buttons, self.prompt_seq = list(CONTROLS), prompt_seq
        return self

    @property
    def text(self) -> str:
        return "\n\n".join(m.text for m in self.messages)


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return sanitise(value)
    if isinstance(value, dict):
        return {key: _safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_safe(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_safe(item) for item in value)
    return value


def help_text() -> str:
    lines = ["Type your answer and send it. Commands (type them alone, with or without a leading /):"]
    lines += [f"  {name:<7} {what}" for name, what in COMMANDS.items()]
    return "\n".join(lines)


def parse_command(text: str) -> str | None:
    """A message that is exactly one command word (optionally with '/' or '!') is a command."""
    word = text.strip().lower().lstrip("/!").rstrip(".!")
    aliases = {"quit": "end", "exit": "end", "stop": "end", "next": "skip", "pass": "skip", "?": "help"}
    word = aliases.get(word, word)
    return word if word in COMMANDS else None


def failed_turn(exc: BaseException) -> Reply:
    """What a chat channel answers when handling a message failed on our side. Honest about what
    may be lost: the failure may have come before the message was stored (the database was
    unreachable), so it never claims the message was saved; an answer kept in the spool is said
    to be kept, and is stored with the next message."""
    from sqlalchemy.exc import DBAPIError

    from interviewer.storage.errors import AnswerKept, failure_kind

    if isinstance(exc, AnswerKept):
        return Reply().add(
            "error",
            "The database could not take your answer just now, so I kept it aside: it is saved and graded with your next "
            "message here (send `repeat` once the problem is fixed; no need to type the answer again).",
        )
    what = f"something went wrong on my side ({type(exc).__name__})"
    if isinstance(exc, DBAPIError):  # the cause, without the server's paths: the operator has them in the log
        what = STORE_TROUBLE.get(failure_kind(exc), "the interview database failed or could not be reached")
    return Reply().add(
        "error",
        f"Sorry, {what}, and your last message may not have been saved. "
        "Send `repeat` to see where the interview stands, and send your message again if it is needed.",
    )


STORE_TROUBLE = {
    "full": "the disk of the interview database is full (the bot's operator has to free space)",
    "read-only": "the interview database cannot be written (the bot's operator has to make it writable)",
    "damaged": "the interview database is damaged (the bot's operator has to replace it)",
}
