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

from interviewer.grading.evidence import grader_directed
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
    """grading_reply(request, "covered"), each point quoting evidence the engine's checks accept.

    The engine credits a quote only when it is in the answer, not addressed to the grader, and
    about its point (interviewer/grading/llm/quote_check.py). So every point quotes all the answer's
    sentences that are not addressed to the grader, joined by "...": a quote longer than two
    sentences counts as its best sentence or pair for each point, so each point finds its own
    sentence in it. (A first sentence quoted for every point, as once here, is evidence for one
    point only, and a follow-up would come, which a load driver must not have.)
    """
    grading = json.loads(grading_reply(request, "covered"))
    answer = prompt_answer(request).strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s", answer) if s.strip()]
    quote = " ... ".join(s for s in sentences if not grader_directed(s)) or (sentences[0] if sentences else "")
    for point in grading["points"]:
        if point.get("evidence"):
            point["evidence"] = quote
    return json.dumps(grading)


def strong_answer(question, fallback_text: str) -> str:
    """The question's "strong" graded example followed by its rubric points' own texts.

    A load driver must get no follow-up, so its answers must earn every point. The strong example
    alone does not always: the LLM engine's quote check measures each point's evidence against
    the point, and a few strong examples state a point in words it relates to only weakly (or
    that the contradiction check reads as a negation); a point's own text alone is mostly cue
    words, which the prose factor discounts. Together, every point of the bank finds a sentence.
    """
    if question is not None:
        strong = next((e.answer.strip() for e in question.examples if e.label == "strong"), "")
        text = " ".join([strong, *(point.text.strip() for point in question.points)]).strip()
        if text:
            return text
    return f"{fallback_text} The answer covers each point in turn."
