"""Slack's documented message limits, as the recording Web API enforces them.

Slack answers ``invalid_blocks`` to a message whose Block Kit breaks a limit and ``msg_too_long``
to text over 40,000 characters; the mock does the same, so a test cannot pass with a message
Slack would refuse. Beyond Slack's own checks, a broadcast mention (``<!channel>``, ``<!here>``,
``<!everyone>``) in what the bot sends is a breach too: the bot never means to ping a channel,
so one can only be the candidate's or the model's text left unescaped.
"""

from __future__ import annotations

import re
from typing import Any

MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "respond"})
TEXT_LIMIT = 40_000
BLOCKS_PER_MESSAGE = 50
SECTION_TEXT = 3000
SECTION_FIELDS, SECTION_FIELD_TEXT = 10, 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT, BUTTON_VALUE, ACTION_ID, BLOCK_ID = 75, 2000, 255, 255
BROADCAST = re.compile(r"<!(channel|here|everyone)\b")


def breaches(method: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """``(slack_error, what)`` for each limit this call breaks; empty when Slack would take it."""
    if method not in MESSAGE_METHODS and not method.startswith("respond"):
        return []
    found: list[tuple[str, str]] = []
    text = params.get("text")
    if isinstance(text, str):
        if len(text) > TEXT_LIMIT:
            found.append(("msg_too_long", f"text {len(text)} > {TEXT_LIMIT}"))
        if BROADCAST.search(text):
            found.append(("broadcast_mention", f"unescaped broadcast mention in text: {BROADCAST.search(text)[0]}"))
    blocks = params.get("blocks")
    if isinstance(blocks, list):
        if len(blocks) > BLOCKS_PER_MESSAGE:
            found.append(("invalid_blocks", f"{len(blocks)} blocks > {BLOCKS_PER_MESSAGE}"))
        for block in blocks:
            found += [("invalid_blocks", what) for what in _block_breaches(block)]
            for leaf in _texts(block):
                if BROADCAST.search(leaf):
                    found.append(("broadcast_mention", f"unescaped broadcast mention in a {block.get('type')} block"))
    return found


def _block_breaches(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    found = []
    if len(str(block.get("block_id") or "")) > BLOCK_ID:
        found.append("block_id over 255")
    if kind == "section":
        text = (block.get("text") or {}).get("text") or ""
        if len(text) > SECTION_TEXT:
            found.append(f"section text {len(text)} > {SECTION_TEXT}")
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS or any(len(f.get("text") or "") > SECTION_FIELD_TEXT for f in fields):
            found.append("section fields over their limits")
        if not text and not fields:
            found.append("section with neither text nor fields")
    elif kind == "header":
        text = (block.get("text") or {}).get("text") or ""
        if len(text) > HEADER_TEXT or (block.get("text") or {}).get("type") != "plain_text":
            found.append(f"header text {len(text)} > {HEADER_TEXT} or not plain_text")
    elif kind == "context":
        if not 1 <= len(block.get("elements") or []) <= CONTEXT_ELEMENTS:
            found.append(f"context with {len(block.get('elements') or [])} elements (1-{CONTEXT_ELEMENTS})")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= ACTIONS_ELEMENTS:
            found.append(f"actions with {len(elements)} elements (1-{ACTIONS_ELEMENTS})")
        for button in elements:
            if len((button.get("text") or {}).get("text") or "") > BUTTON_TEXT:
                found.append(f"button text over {BUTTON_TEXT}")
            if len(str(button.get("value") or "")) > BUTTON_VALUE or len(str(button.get("action_id") or "")) > ACTION_ID:
                found.append("button value or action_id over its limit")
    return found


def _texts(block: dict[str, Any]) -> list[str]:
    texts = [(block.get("text") or {}).get("text") or ""]
    texts += [e.get("text") or "" for e in block.get("elements") or [] if isinstance(e, dict) and isinstance(e.get("text"), str)]
    texts += [f.get("text") or "" for f in block.get("fields") or []]
    return texts
