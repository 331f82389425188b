"""Discord rendering of the core's replies: plain messages and embeds, within Discord's limits.

A message holds at most 2,000 characters of content and 10 embeds of 6,000 characters in all;
an embed at most a 4,096-character description and 25 fields of 1,024 characters.
Everything longer is split, never cut off, so a long scorecard arrives whole over a few messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

from interviewer.interview.feedback import quoted_claim, score_label, usage_line
from interviewer.interview.records import SessionRecord
from interviewer.interview.replies import Message, Reply
from interviewer.labels import EMOJI_MARK, score_band
from interviewer.text import plural, quoted_within_limit, within_limit

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FIELD_NAME_LIMIT = 256
FIELDS_PER_EMBED = 25
EMBED_TOTAL_LIMIT = 6000
EMBEDS_PER_MESSAGE = 10


@dataclass
class Outgoing:
    """One Discord message to send: content, embeds, and whether the controls go with it."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)
    controls: bool = False


def _colour(score: float) -> discord.Colour:
    return {"high": discord.Colour.green(), "mid": discord.Colour.gold(), "low": discord.Colour.red()}[score_band(score)]


def _size(embed: discord.Embed) -> int:
    return len(embed)


class EmbedBuilder:
    """Adds fields and text to embeds, starting a new embed whenever one would overflow."""

    def __init__(self, title: str, colour: discord.Colour | None = None) -> None:
        self.embeds: list[discord.Embed] = []
        self.title = title[:256]
        self.colour = colour
        self._new(self.title)

    def _new(self, title: str | None) -> None:
        self.current = discord.Embed(title=title, colour=self.colour)
        self.embeds.append(self.current)

    def text(self, text: str) -> None:
        for piece in within_limit(text, DESCRIPTION_LIMIT):
            if self.current.description or _size(self.current) + len(piece) > EMBED_TOTAL_LIMIT:
                self._new(None)
            self.current.description = piece

    def add(self, name: str, value: str, *, quote: bool = False) -> None:
        """A field, continued in further fields when long; ``quote``: the value is the
        candidate's words, shown as a quote in every piece."""
        name = name[:FIELD_NAME_LIMIT] or "\u200b"
        pieces = quoted_within_limit(value, FIELD_VALUE_LIMIT) if quote and value else within_limit(value or "—", FIELD_VALUE_LIMIT)
        for n, piece in enumerate(pieces):
            label = name if n == 0 else f"{name[: FIELD_NAME_LIMIT - 12]} (continued)"
            if len(self.current.fields) >= FIELDS_PER_EMBED or _size(self.current) + len(label) + len(piece) > EMBED_TOTAL_LIMIT:
                self._new(None)
            self.current.add_field(name=label, value=piece, inline=False)

    def footer(self, text: str) -> None:
        text = text[:2048]
        if _size(self.current) + len(text) > EMBED_TOTAL_LIMIT:
            self._new(None)
        self.current.set_footer(text=text)


def _feedback(message: Message) -> list[discord.Embed]:
    d = message.data
    title = f"Score {d['score']:.1f}/10" + (" (skipped)" if d.get("skipped") else "")
    builder = EmbedBuilder(title, _colour(d["score"]))
    if d.get("remark"):
        builder.text(d["remark"])
    for point in d.get("points", []):
        builder.add(f"{EMOJI_MARK.get(point['verdict'], '')} {point['text']}", point.get("evidence") or "—", quote=bool(point.get("evidence")))
    for hit in d.get("misconceptions", []):
        builder.add("⚠️ Careful", f"You said {quoted_claim(hit['evidence'])} {hit['correction']}")
    if d.get("read_more"):
        builder.add("Read more", "; ".join(d["read_more"]))
    if d.get("model_answer"):
        builder.add("Model answer", d["model_answer"])
    notes = [f"hints used: {d['hints']}"] if d.get("hints") else []
    notes += d.get("notes", [])
    if notes:
        builder.footer(" · ".join(notes))
    return builder.embeds


def _summary(message: Message) -> list[discord.Embed]:
    d = message.data
    builder = EmbedBuilder("Interview summary", discord.Colour.blurple())
    if not d.get("questions"):
        builder.text(message.text)
        return builder.embeds
    lines = []
    for n, row in enumerate(d["questions"], start=1):
        lines.append(f"{n}. **{score_label(row)}** · {row['topic']} · {row['question']}")
    builder.text("\n".join(lines))
    if d.get("average") is not None:
        by_topic = ", ".join(f"{t} {s:.1f}" for t, s in d.get("topics", {}).items())
        builder.add("Average", f"{d['average']:.1f}/10" + (f" (by topic: {by_topic})" if by_topic else ""))
    if d.get("weakest"):
        builder.add("Study next", "\n".join(f"• {w['text']}" + (f" (read: {w['cite']})" if w.get("cite") else "") for w in d["weakest"]))
    if d.get("coaching"):
        builder.add("Coaching", d["coaching"])
    if d.get("usage"):
        builder.footer(usage_line(d["usage"]))
    return builder.embeds


def _content(message: Message) -> str:
    d = message.data
    if message.kind == "question":
        where = f"Question {d.get('index', '?')}/{d.get('total', '?')} · {d.get('topic_title') or d.get('topic', '')} · difficulty {d.get('difficulty', '?')}"
        return f"-# {where}\n**{message.text}**"
    if message.kind == "follow_up":
        return f"💬 {message.text}"
    if message.kind == "hint":
        return f"💡 {message.text}"
    if message.kind in ("notice", "error"):
        return f"_{message.text}_"
    return message.text


def _per_message(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Embeds grouped into messages: at most 10 per message and 6,000 characters over all of
    them (Discord refuses the whole message otherwise, and the reader never sees it)."""
    groups: list[list[discord.Embed]] = []
    size = 0
    for embed in embeds:
        if not groups or len(groups[-1]) == EMBEDS_PER_MESSAGE or size + len(embed) > EMBED_TOTAL_LIMIT:
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += len(embed)
    return groups


def render(reply: Reply) -> list[Outgoing]:
    """The messages to send for one reply, in order; the controls ride on the last one."""
    outgoing: list[Outgoing] = []
    for message in reply.messages:
        if message.kind in ("feedback", "summary"):
            embeds = _feedback(message) if message.kind == "feedback" else _summary(message)
            outgoing.extend(Outgoing(embeds=group) for group in _per_message(embeds))
            continue
        text = _content(message)
        if outgoing and not outgoing[-1].embeds and len(outgoing[-1].content or "") + len(text) + 2 <= CONTENT_LIMIT:
            outgoing[-1].content = f"{outgoing[-1].content}\n\n{text}"
            continue
        outgoing.extend(Outgoing(content=piece) for piece in within_limit(text, CONTENT_LIMIT))
    if outgoing and reply.buttons and not reply.finished:
        outgoing[-1].controls = True
    return outgoing


def history_line(record: SessionRecord) -> str:
    """One line of `/interview history`: id, date, topics, questions and average."""
    average = f"**{record.average:.1f}/10**" if record.average is not None else "no score yet"
    return (
        f"`{record.id[:8]}` {record.started_at:%Y-%m-%d %H:%M} · {', '.join(record.topics) or 'all topics'} · "
        f"{plural(len(record.questions), 'question')} · {average}" + (" · in progress" if record.status == "active" else "")
    )
