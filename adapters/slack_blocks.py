"""Block Kit rendering of the core's replies, within Slack's limits.

Slack rejects a section longer than 3,000 characters and a message of more than 50 blocks, so
long feedback is cut at paragraph or line boundaries into several sections, and a reply that
needs more blocks goes out as several messages (the buttons always on the last one).
"""

from __future__ import annotations

from typing import Any

from interviewer.interview.feedback import quoted_claim, score_label, usage_line
from interviewer.interview.records import QuestionRecord, SessionRecord
from interviewer.interview.replies import Message, Reply
from interviewer.text import plural, quoted_within_limit, within_limit

SECTION_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
HEADER_LIMIT = 150
FALLBACK_TEXT_LIMIT = 3000
MARK = {"covered": ":white_check_mark:", "partial": ":large_yellow_circle:", "missed": ":x:"}
BUTTONS = {"hint": ("Hint", None), "skip": ("Skip", None), "end": ("End", "danger")}
ACTION_PREFIX = "interview_"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup: user text must not create links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sections(text: str) -> list[Block]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in within_limit(text, SECTION_LIMIT)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:HEADER_LIMIT], "emoji": True}}


def buttons(names: list[str], session_id: str | None, prompt_seq: int | None = None) -> Block | None:
    """The controls under a prompt. Their value names the session and the prompt they were shown
    under, so a press on an old message never acts on a later question."""
    value = f"{session_id or ''}:{prompt_seq}" if prompt_seq is not None else session_id or ""
    elements = []
    for name in names:
        if name not in BUTTONS:
            continue
        label, style = BUTTONS[name]
        button: Block = {
            "type": "button",
            "action_id": f"{ACTION_PREFIX}{name}",
            "text": {"type": "plain_text", "text": label},
            "value": value,
        }
        if style:
            button["style"] = style
        elements.append(button)
    return {"type": "actions", "block_id": "interview_controls", "elements": elements} if elements else None


def _question(message: Message) -> list[Block]:
    d = message.data
    where = f"Question {d.get('index', '?')}/{d.get('total', '?')} · {d.get('topic_title') or d.get('topic', '')} · difficulty {d.get('difficulty', '?')}"
    if d.get("generated"):
        where += " · generated from your notes"
    return [context(escape(where)), *sections(f"*{escape(message.text)}*")]


def _feedback(message: Message) -> list[Block]:
    d = message.data
    title = f"Score {d['score']:.1f}/10" + (" (skipped)" if d.get("skipped") else "")
    blocks: list[Block] = [header(title)]
    if d.get("remark"):
        blocks += sections(f"_{escape(d['remark'])}_")
    for point in d.get("points", []):
        line = f"{MARK.get(point['verdict'], '')} {escape(point['text'])}"
        quote = quoted_within_limit(escape(point["evidence"]), SECTION_LIMIT) if point.get("evidence") else []
        if len(quote) == 1 and len(line) + 1 + len(quote[0]) <= SECTION_LIMIT:
            blocks += sections(f"{line}\n{quote[0]}")
        else:  # a long answer quoted: every piece stays a quote
            blocks += sections(line) + [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in quote]
    for hit in d.get("misconceptions", []):
        blocks += sections(f":warning: You said _“{escape(hit['evidence'])}”_. {escape(hit['correction'])}")
    if d.get("read_more"):
        blocks.append(context("Read more: " + escape("; ".join(d["read_more"]))))
    if d.get("hints"):
        blocks.append(context(f"Hints used: {d['hints']}"))
    for note in d.get("notes", []):
        blocks.append(context(escape(f"Note: {note}")))
    if d.get("model_answer"):
        blocks += sections("*Model answer*\n" + escape(d["model_answer"]))
    return blocks


def _summary(message: Message) -> list[Block]:
    d = message.data
    if not d.get("questions"):
        return sections(escape(message.text))
    lines = []
    for n, row in enumerate(d["questions"], start=1):
        lines.append(f"{n}. *{score_label(row)}* · {escape(row['topic'])} · {escape(row['question'])}")
    blocks: list[Block] = [header("Interview summary"), *sections("\n".join(lines))]
    if d.get("average") is not None:
        by_topic = ", ".join(f"{escape(t)} {s:.1f}" for t, s in d.get("topics", {}).items())
        blocks += sections(f"*Average {d['average']:.1f}/10*" + (f" · by topic: {by_topic}" if by_topic else ""))
    if d.get("weakest"):
        study = "\n".join(
            f"• {escape(w['text'])}" + (f" _(read: {escape(w['cite'])})_" if w.get("cite") else "") for w in d["weakest"]
        )
        blocks += sections("*Study next*\n" + study)
    if d.get("coaching"):
        blocks += sections("*Coaching*\n" + escape(d["coaching"]))
    if d.get("usage"):
        blocks.append(context(escape(usage_line(d["usage"]))))
    return blocks


def message_blocks(message: Message) -> list[Block]:
    if message.kind == "question":
        return _question(message)
    if message.kind == "feedback":
        return _feedback(message)
    if message.kind == "summary":
        return _summary(message)
    if message.kind == "follow_up":
        return sections(f":speech_balloon: {escape(message.text)}")
    if message.kind == "hint":
        return sections(f":bulb: {escape(message.text)}")
    if message.kind in ("notice", "error"):
        return [context(escape(message.text))] if len(message.text) <= SECTION_LIMIT else sections(escape(message.text))
    return sections(escape(message.text))


def render(reply: Reply) -> list[dict[str, Any]]:
    """chat.postMessage payloads (``text`` and ``blocks``) for one reply, in order."""
    blocks = [block for message in reply.messages for block in message_blocks(message)]
    controls = buttons(reply.buttons, reply.session_id, reply.prompt_seq) if not reply.finished else None
    if controls is not None:
        blocks.append(controls)
    if not blocks:
        return []
    fallback = escape(reply.text)  # notifications show it: the candidate's words must not ping or link
    groups = [blocks[i : i + BLOCKS_PER_MESSAGE] for i in range(0, len(blocks), BLOCKS_PER_MESSAGE)]
    return [
        {"text": (fallback if n == 0 else "(continued)")[:FALLBACK_TEXT_LIMIT], "blocks": group}
        for n, group in enumerate(groups)
    ]


def history_blocks(records: list[SessionRecord]) -> list[Block]:
    """The user's recent sessions: id, date, topics, questions and average score."""
    if not records:
        return sections("You have no saved interviews yet. Start one with `/interview`.")
    lines = [
        f"`{r.id[:8]}` {r.started_at:%Y-%m-%d %H:%M} · {escape(', '.join(r.topics) or 'all topics')} · {plural(len(r.questions), 'question')} · "
        + (f"*{r.average:.1f}/10*" if r.average is not None else "no score yet")
        + (" · in progress" if r.status == "active" else "")
        for r in records
    ]
    return [header("Your interviews"), *sections("\n".join(lines)), context("See one with `/interview show ID`.")]


def _question_blocks(q: QuestionRecord) -> list[Block]:
    score = "not graded" if q.score is None else f"{q.score:.1f}/10" + (" (skipped)" if q.skipped else "")
    lines = [f"*Q{q.index} · {escape(q.topic_title)} · {score}*", escape(q.text)]
    labels = {"answer": "*You*", "follow_up": "*Follow-up*", "hint": "*Hint*"}
    for exchange in q.exchanges:
        if exchange.kind == "answer":
            lines.append("*You*\n> " + escape(exchange.text).replace("\n", "\n> "))
        elif exchange.kind in labels:
            lines.append(f"{labels[exchange.kind]}: {escape(exchange.text)}")
    final = q.final
    if final is not None:
        for p in final.points:
            lines.append(f"{MARK[p.verdict]} {escape(p.text)}" + (f" — _“{escape(p.evidence)}”_" if p.evidence else ""))
        for m in final.misconceptions:
            lines.append(f":warning: you said _{escape(quoted_claim(m.evidence))}_ {escape(m.correction)}")
    blocks = sections("\n".join(lines))
    if q.read_more:
        blocks.append(context("Read more: " + escape("; ".join(q.read_more))))
    return blocks


def transcript_blocks(record: SessionRecord) -> list[Block]:
    """One stored interview: each question with the answers, every point's verdict and evidence."""
    average = "not graded" if record.average is None else f"{record.average:.1f}/10"
    blocks: list[Block] = [
        header(f"Interview {record.id[:8]}"),
        context(f"{record.started_at:%Y-%m-%d %H:%M} UTC · {record.status} · average {average}"),
    ]
    for q in record.questions:
        blocks += [{"type": "divider"}, *_question_blocks(q)]
    if record.summary:
        text = escape(record.summary.replace("```", "` ` `"))
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{piece}```"}} for piece in within_limit(text, SECTION_LIMIT - 6)]
    if len(blocks) > BLOCKS_PER_MESSAGE:  # an ephemeral reply is one message: keep the end, which has the summary
        blocks = [*blocks[:2], context("(earlier questions left out; export the transcript to see all of it)"), *blocks[-(BLOCKS_PER_MESSAGE - 3):]]
    return blocks
