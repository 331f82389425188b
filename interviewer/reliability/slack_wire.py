"""What Slack sends a bot and what the bot posts back, for drivers that play Slack's part.

Request bodies exactly as the Events API and slash commands deliver them, signed as Slack signs
them (v0 HMAC of the timestamp and body), and readers for the Block Kit posts the adapter makes.
The Slack load bench dispatches them into an in-process Bolt app; the replica fleet posts them
over HTTP to ``interviewer serve slack --http`` processes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from urllib.parse import urlencode

from interviewer.evidence import grader_directed
from interviewer.testing import grading_reply, prompt_answer

TEAM = "T1"


def signed_headers(secret: str, body: str, *, retry: int | None = None, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with ``body``; ``retry`` marks a redelivery (x-slack-retry-num).

    Slack's documented v0 scheme, computed here rather than with slack_sdk so that this package
    stays free of platform SDKs; the Bolt app receiving the request is what checks it.
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={digest}"}
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return headers


def command_body(slack_url: str, channel: str, user: str, text: str, *, team: str = TEAM) -> str:
    """A ``/interview`` slash command, form-encoded."""
    return urlencode({
        "token": "x", "team_id": team, "channel_id": channel, "user_id": user, "command": "/interview", "text": text,
        "response_url": f"{slack_url}response_url.{user}", "trigger_id": "trig",
    })


def event_body(payload: dict, event_id: str, *, team: str = TEAM) -> str:
    """An Events API callback wrapping ``payload``."""
    return json.dumps({"token": "x", "team_id": team, "api_app_id": "A1", "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": payload})


def thread_message(channel: str, user: str, thread: str, text: str, ts: str) -> dict:
    """A candidate's message in an interview thread."""
    return {"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": text, "ts": ts,
            "thread_ts": thread}


def post_kinds(post: dict) -> set[str]:
    """'question', 'summary', 'follow_up', 'feedback', 'error' found in a chat.postMessage's blocks."""
    kinds = set()
    for block in post.get("blocks") or []:
        if block.get("type") == "context":
            first = (block.get("elements") or [{}])[0].get("text", "")
            kinds.add("question" if first.startswith("Question ") else "notice")
        elif block.get("type") == "header":
            title = block["text"]["text"]
            kinds.add("summary" if title == "Interview summary" else "feedback" if title.startswith("Score ") else "header")
        elif block.get("type") == "section":
            body = block["text"]["text"]
            if body.startswith(":speech_balloon:"):
                kinds.add("follow_up")
            elif body.startswith("Sorry, "):
                kinds.add("error")
    return kinds


def asked_text(post: dict) -> str | None:
    """The question's text as posted (the bold section after the 'Question i/n' context)."""
    blocks = post.get("blocks") or []
    for n, block in enumerate(blocks):
        if block.get("type") == "context" and block["elements"][0].get("text", "").startswith("Question "):
            for after in blocks[n + 1:]:
                if after.get("type") == "section":
                    body = after["text"]["text"]
                    return body[1:-1] if body.startswith("*") and body.endswith("*") else body
    return None


def request_kind(request: dict) -> str:
    """'assess', 'coaching' or 'other', from a chat completion request's last message."""
    last = str((request.get("messages") or [{}])[-1].get("content"))
    if "<candidate_answer>" in last:
        return "assess"
    if last.startswith("Results, question by question"):
        return "coaching"
    return "other"


def quotable_grading(request: dict) -> str:
    """grading_reply(request, "covered"), each point quoting a sentence the evidence check accepts.

    grading_reply quotes the answer's first sentence cut at 200 characters. That can split a word
    (18 of the bank's 141 "strong" examples have a longer first sentence), and one first sentence
    (llm-prompt-rag-finetune's: "... a strong system prompt ...") is taken by the evidence check
    for text addressed to the grader. Either way the point is downgraded and a follow-up comes,
    which a load driver must not have. So the quote here is the first sentence not addressed to
    the grader, cut at 200 characters on a word boundary.
    """
    grading = json.loads(grading_reply(request, "covered"))
    answer = prompt_answer(request).strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s", answer) if s.strip()]
    quote = next((s for s in sentences if not grader_directed(s)), sentences[0] if sentences else "")
    if len(quote) > 200:
        quote = quote[:201].rsplit(" ", 1)[0]
    for point in grading["points"]:
        if point.get("evidence"):
            point["evidence"] = quote
    return json.dumps(grading)


def strong_answer(question, fallback_text: str) -> str:
    """The question's "strong" graded example, which covers every point."""
    if question is not None:
        for example in question.examples:
            if example.label == "strong":
                return example.answer
    return f"{fallback_text} The answer covers each point in turn."
