"""Discord on the wire: real discord.py objects built from gateway JSON, with the REST calls they
make captured at discord.py's own HTTP layer.

Nothing of discord.py is mocked above ``HTTPClient.request`` and ``AsyncWebhookAdapter.request``:
channels, threads, DMs, members, messages and interactions are the library's classes, so a test
cannot pass by calling an attribute the real class lacks (a ``DMChannel`` has no ``mention``), and
what is checked is the JSON discord.py would put on the wire. Every message body is held to
Discord's documented limits and answered 400 when over one, as Discord does; the rig fails the
test at teardown if any was.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import discord
from discord.webhook.async_ import AsyncWebhookAdapter

_ids = itertools.count(1_100_000_000_000_000_000)
APPLICATION_ID = 4_242_424_242
GUILD_ID = 7_000_000_000_000_000_001
TIMESTAMP = "2026-12-01T10:00:00.000000+00:00"

CONTENT_LIMIT, EMBEDS, EMBED_TOTAL, TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, ROWS = (
    2000, 10, 6000, 256, 4096, 25, 256, 1024, 2048, 5,
)


def next_id() -> int:
    return next(_ids)


def user_json(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None, "bot": bot}


@dataclass
class Call:
    """One REST request as discord.py made it."""

    method: str
    path: str
    body: dict[str, Any] | None


def limit_breaches(body: dict[str, Any]) -> list[str]:
    """Each of Discord's message limits this body breaks (empty when it would be accepted)."""
    breaches = []
    if len(body.get("content") or "") > CONTENT_LIMIT:
        breaches.append(f"content {len(body['content'])} > {CONTENT_LIMIT}")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS:
        breaches.append(f"{len(embeds)} embeds > {EMBEDS}")
    total = 0
    for embed in embeds:
        parts = {"title": (embed.get("title") or "", TITLE), "description": (embed.get("description") or "", DESCRIPTION),
                 "footer": ((embed.get("footer") or {}).get("text") or "", FOOTER)}
        for name, (text, limit) in parts.items():
            total += len(text)
            if len(text) > limit:
                breaches.append(f"embed {name} {len(text)} > {limit}")
        fields = embed.get("fields") or []
        if len(fields) > FIELDS:
            breaches.append(f"{len(fields)} fields > {FIELDS}")
        for item in fields:
            total += len(item["name"]) + len(item["value"])
            if len(item["name"]) > FIELD_NAME or len(item["value"]) > FIELD_VALUE:
                breaches.append(f"field {len(item['name'])}/{len(item['value'])} over {FIELD_NAME}/{FIELD_VALUE}")
    if total > EMBED_TOTAL:
        breaches.append(f"{total} characters over all embeds > {EMBED_TOTAL}")
    if len(body.get("components") or []) > ROWS:
        breaches.append(f"{len(body['components'])} action rows > {ROWS}")
    return breaches


class _Refused:
    """What discord.HTTPException reads off a response."""

    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason


@dataclass
class Wire:
    """The Discord API as one bot sees it: every request recorded, answered like Discord would."""

    client: discord.Client
    calls: list[Call] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    refusals: list[tuple[str, Callable[[str], bool], int, str]] = field(default_factory=list)
    dm_ids: set[int] = field(default_factory=set)
    threads_opened: list[discord.Thread] = field(default_factory=list)
    token_channels: dict[str, int] = field(default_factory=dict)
    on_call: Callable[[Call], None] | None = None

    @property
    def state(self):
        return self.client._connection

    @property
    def guild(self) -> discord.Guild:
        return self.state._get_or_create_unavailable_guild(GUILD_ID)

    def refuse(self, method: str, path: Callable[[str], bool], status: int = 403, message: str = "Missing Permissions") -> None:
        """Answer matching requests with an HTTP error (a 403 for a closed DM, say)."""
        self.refusals.append((method, path, status, message))

    # the two seams discord.py sends through ------------------------------------------------

    async def rest(self, route: discord.http.Route, **kwargs: Any) -> Any:
        return self._answer(Call(route.method, _path(route), kwargs.get("json")))

    async def webhook(self, route: discord.http.Route, session: Any = None, **kwargs: Any) -> Any:
        return self._answer(Call(route.method, _path(route), kwargs.get("payload")))

    def _answer(self, call: Call) -> Any:
        self.calls.append(call)
        if self.on_call:
            self.on_call(call)
        for method, matches, status, message in self.refusals:
            if call.method == method and matches(call.path):
                raise _error_class(status)(_Refused(status, "Refused"), message)
        if call.body is not None and call.method in ("POST", "PATCH") and ("/messages" in call.path or "/webhooks/" in call.path):
            breaches = limit_breaches(call.body)
            if breaches:
                self.breaches += breaches
                raise discord.HTTPException(_Refused(400, "Bad Request"), "; ".join(breaches))
        return self._reply_to(call)

    def _reply_to(self, call: Call) -> Any:
        if call.method == "POST" and (match := re.fullmatch(r"/channels/(\d+)/messages", call.path)):
            return self.message_json(int(match[1]), self.client.user.id, call.body.get("content") or "", bot=True)
        if call.method == "POST" and (match := re.fullmatch(r"/channels/(\d+)/threads", call.path)):
            data = self.thread_json(next_id(), int(match[1]), call.body["name"])
            self.threads_opened.append(discord.Thread(guild=self.guild, state=self.state, data=data))
            return data
        if call.method == "POST" and call.path == "/users/@me/channels":
            dm_id = next_id()
            self.dm_ids.add(dm_id)
            return {"id": str(dm_id), "type": 1, "last_message_id": None,
                    "recipients": [user_json(int(call.body["recipient_id"]), "someone")]}
        if match := re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", call.path):
            flags = (call.body.get("data") or {}).get("flags", 0)
            return {"interaction": {"id": match[1], "type": 2, "response_message_loading": call.body["type"] == 5,
                                    "response_message_ephemeral": bool(flags & 64)}, "resource": {"type": call.body["type"]}}
        if call.method == "POST" and (match := re.fullmatch(rf"/webhooks/{APPLICATION_ID}/([^/]+)", call.path)):
            return self.message_json(self.token_channels.get(match[1], 0), APPLICATION_ID, call.body.get("content") or "", bot=True)
        return None  # thread members, deletes: 204

    # payloads as the gateway would deliver them ---------------------------------------------

    def message_json(self, channel_id: int, author_id: int, content: str, *, bot: bool = False, name: str = "ada") -> dict[str, Any]:
        return {
            "id": str(next_id()), "channel_id": str(channel_id), "author": user_json(author_id, name, bot=bot), "content": content,
            "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0,
        }

    def thread_json(self, thread_id: int, parent_id: int, name: str = "Interview") -> dict[str, Any]:
        return {
            "id": str(thread_id), "guild_id": str(GUILD_ID), "parent_id": str(parent_id), "owner_id": str(self.client.user.id),
            "name": name, "type": 12, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP, "locked": False,
                                "invitable": False},
        }

    def text_channel_json(self, channel_id: int) -> dict[str, Any]:
        return {"id": str(channel_id), "guild_id": str(GUILD_ID), "name": "general", "type": 0, "position": 0,
                "permission_overwrites": [], "nsfw": False, "parent_id": None, "rate_limit_per_user": 0, "topic": None,
                "last_message_id": None}

    # the objects a handler receives ----------------------------------------------------------

    def member(self, user_id: int | None = None, name: str = "ada", *, bot: bool = False) -> discord.Member:
        data = {"user": user_json(user_id or next_id(), name, bot=bot), "roles": [], "joined_at": TIMESTAMP, "deaf": False,
                "mute": False, "flags": 0}
        return discord.Member(data=data, guild=self.guild, state=self.state)

    def text_channel(self) -> discord.TextChannel:
        channel = discord.TextChannel(state=self.state, guild=self.guild, data=self.text_channel_json(next_id()))
        self.guild._add_channel(channel)
        return channel

    def thread(self, parent: discord.TextChannel | None = None) -> discord.Thread:
        parent = parent or self.text_channel()
        place = discord.Thread(guild=self.guild, state=self.state, data=self.thread_json(next_id(), parent.id))
        self.guild._add_thread(place)
        return place

    def dm_of(self, user: discord.abc.User) -> discord.DMChannel:
        """The DM channel the bot opened with ``user`` (after ``create_dm``)."""
        place = user.dm_channel
        assert isinstance(place, discord.DMChannel), "no DM was opened with this user"
        return place

    def interaction(self, user: discord.Member, place: Any, *, button: str | None = None) -> discord.Interaction:
        """A slash command (or, with ``button``, a component press) by ``user`` in ``place``."""
        if isinstance(place, discord.DMChannel):
            raw_channel = {"id": str(place.id), "type": 1}
        elif isinstance(place, discord.Thread):
            raw_channel = self.thread_json(place.id, place.parent_id)
        else:
            raw_channel = self.text_channel_json(place.id)
        data: dict[str, Any] = {
            "id": str(next_id()), "application_id": str(APPLICATION_ID), "type": 3 if button else 2, "token": f"tok{next_id()}",
            "version": 1, "channel_id": str(place.id), "channel": raw_channel, "attachment_size_limit": 10_485_760,
            "locale": "en-US", "app_permissions": "0",
            "data": {"custom_id": button, "component_type": 2} if button else {"id": "1", "name": "interview", "type": 1},
        }
        self.token_channels[data["token"]] = place.id
        if isinstance(place, discord.DMChannel):
            data["user"] = user_json(user.id, user.name)
        else:
            data["guild_id"] = str(GUILD_ID)
            data["member"] = {"user": user_json(user.id, user.name), "roles": [], "joined_at": TIMESTAMP, "deaf": False,
                              "mute": False, "flags": 0, "permissions": "0"}
        return discord.Interaction(data=data, state=self.state)

    def message(self, author: discord.abc.User, place: Any, content: str) -> discord.Message:
        data = self.message_json(place.id, author.id, content, bot=author.bot, name=author.name)
        return discord.Message(state=self.state, channel=place, data=data)

    # what went out ---------------------------------------------------------------------------

    def posted(self, place: Any) -> list[dict[str, Any]]:
        """Every message body posted to a channel, thread or DM, in order."""
        return [c.body for c in self.calls if c.method == "POST" and c.path == f"/channels/{place.id}/messages"]

    def sent_texts(self, place: Any) -> list[str]:
        """Each posted message as the reader sees it: content, then every embed's text."""
        return [visible_text(body) for body in self.posted(place)]

    def callbacks(self, event: discord.Interaction) -> list[dict[str, Any]]:
        """The interaction's responses (a defer is {"type": 5 or 6, ...})."""
        return [c.body for c in self.calls if c.path == f"/interactions/{event.id}/{event.token}/callback"]

    def followups(self, event: discord.Interaction) -> list[dict[str, Any]]:
        """Follow-up messages sent on the interaction's webhook."""
        return [c.body for c in self.calls if c.method == "POST" and c.path == f"/webhooks/{APPLICATION_ID}/{event.token}"]

    def replies_to(self, said: discord.Message) -> list[dict[str, Any]]:
        """Messages posted as replies to one message."""
        return [body for body in self.posted(said.channel) if (body.get("message_reference") or {}).get("message_id") == said.id]


def visible_text(body: dict[str, Any]) -> str:
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(p for p in parts if p)


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [item["custom_id"] for row in body.get("components") or [] for item in row["components"]]


def _path(route: discord.http.Route) -> str:
    return route.url.removeprefix(discord.http.Route.BASE).split("?")[0]


def _error_class(status: int) -> type[discord.HTTPException]:
    return {403: discord.Forbidden, 404: discord.NotFound}.get(status, discord.HTTPException)


def open_wire(client: discord.Client, monkeypatch) -> Wire:
    """Capture ``client``'s REST traffic and every interaction webhook, with the bot logged in."""
    wire = Wire(client)
    wire.state.user = discord.ClientUser(state=wire.state, data=user_json(next_id(), "interviewer", bot=True) | {"verified": True,
                                                                                                             "mfa_enabled": False})
    monkeypatch.setattr(client.http, "request", wire.rest)
    monkeypatch.setattr(AsyncWebhookAdapter, "request", lambda adapter, route, session, **kw: wire.webhook(route, session, **kw))
    return wire
