"""Spec'd mocks of discord.py objects, after python-discord/bot's test helpers.

``spec`` makes a mock refuse attributes the real class does not have, so a test cannot pass by
calling an API that does not exist; coroutine methods are AsyncMocks that record every call.
"""

from __future__ import annotations

import itertools
from unittest.mock import AsyncMock, MagicMock

import discord

_ids = itertools.count(1_000_000_000_000_000)


def next_id() -> int:
    return next(_ids)


def member(user_id: int | None = None, name: str = "ada") -> MagicMock:
    user = MagicMock(spec=discord.Member)
    user.id = user_id or next_id()
    user.display_name = name
    user.name = name
    user.mention = f"<@{user.id}>"
    user.bot = False
    user.create_dm = AsyncMock(side_effect=lambda: dm_channel())
    return user


def thread(thread_id: int | None = None) -> MagicMock:
    place = MagicMock(spec=discord.Thread)
    place.id = thread_id or next_id()
    place.mention = f"<#{place.id}>"
    place.send = AsyncMock()
    place.add_user = AsyncMock()
    return place


def dm_channel() -> MagicMock:
    place = MagicMock(spec=discord.DMChannel)  # like the real class: no ``mention``
    place.id = next_id()
    place.send = AsyncMock()
    return place


def text_channel(new_thread: MagicMock | None = None, *, threads_allowed: bool = True) -> MagicMock:
    place = MagicMock(spec=discord.TextChannel)
    place.id = next_id()
    place.mention = f"<#{place.id}>"
    place.send = AsyncMock()
    if threads_allowed:
        place.create_thread = AsyncMock(return_value=new_thread or thread())
    else:
        response = MagicMock(status=403, reason="Forbidden")
        place.create_thread = AsyncMock(side_effect=discord.Forbidden(response, "Missing Permissions"))
    return place


def interaction(user: MagicMock, channel: MagicMock) -> MagicMock:
    event = MagicMock(spec=discord.Interaction)
    event.id = next_id()
    event.user = user
    event.channel = channel
    event.response = MagicMock(spec=discord.InteractionResponse)
    event.response.defer = AsyncMock()
    event.response.send_message = AsyncMock()
    event.followup = MagicMock(spec=discord.Webhook)
    event.followup.send = AsyncMock()
    return event


def message(author: MagicMock, channel: MagicMock, content: str) -> MagicMock:
    sent = MagicMock(spec=discord.Message)
    sent.id = next_id()
    sent.author = author
    sent.channel = channel
    sent.content = content
    sent.reply = AsyncMock()
    return sent


def sent_texts(place: MagicMock) -> list[str]:
    """Everything sent to a channel mock, as text: content plus every embed's visible text."""
    texts = []
    for call in place.send.await_args_list:
        parts = [call.kwargs.get("content") or ""]
        for embed in call.kwargs.get("embeds") or []:
            parts += [embed.title or "", embed.description or ""]
            parts += [f"{f.name}\n{f.value}" for f in embed.fields]
            parts.append(embed.footer.text or "")
        texts.append("\n".join(p for p in parts if p))
    return texts
