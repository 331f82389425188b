"""The Slack channel: interviews in threads, on slack-bolt's AsyncApp.

Only translation lives here (Rasa's input/output channel split): a slash command, a mention, a
thread message or a button press becomes a core call; the core's Reply becomes Block Kit
(``slack_blocks``). Bolt acknowledges every request at once and the listener runs as its own
asyncio task, so a slow model never holds up the 3-second ack or other sessions.

Session key: (team, channel, thread_ts); user key: (team, user). The root message of the thread
announces the interview; its first reply is the question.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from interviewer.domain import SessionOptions
from interviewer.interview.channel import OVER, ChatChannel
from interviewer.interview.replies import Reply
from interviewer.interview.session import InterviewError, Interviewer
from interviewer_adapters.slack_blocks import ACTION_PREFIX, escape, history_blocks, render, sections, transcript_blocks

log = logging.getLogger(__name__)

CHANNEL = "slack"
SEEN_EVENTS = 10_000
# Message subtypes that still carry the candidate's answer: "Also send to #channel" and an answer
# with a file attached. Edits, deletions, joins and bot messages are not answers.
ANSWER_SUBTYPES = (None, "thread_broadcast", "file_share")
USAGE = (
    "`/interview [topic ...] [--questions N]` starts a mock interview in a thread · "
    "`/interview history` lists yours · `/interview show ID` shows one. "
    "In a thread, type your answer, or `hint`, `skip`, `repeat`, `end`, `help`."
)


def session_key(team: str, channel: str, thread_ts: str) -> str:
    return f"slack:{team}:{channel}:{thread_ts}"


def user_key(team: str, user: str) -> str:
    return f"slack:{team}:{user}"


def parse_request(text: str) -> tuple[str, list[str], int | None]:
    """(action, topics, questions) from the slash command's text."""
    words = text.replace(",", " ").split()
    if words and words[0].lower() in ("history", "show", "help"):
        return words[0].lower(), words[1:], None
    if words and words[0].lower() == "start":
        words = words[1:]
    topics: list[str] = []
    questions: int | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("--questions", "-n", "--n") and i + 1 < len(words):
            if not words[i + 1].isdigit():
                raise ValueError(f"'{words[i + 1]}' is not a number of questions")
            questions = int(words[i + 1])
            i += 2
            continue
        if word.startswith("--questions="):
            value = word.split("=", 1)[1]
            if not value.isdigit():
                raise ValueError(f"'{value}' is not a number of questions")
            questions = int(value)
        else:
            topics.append(word)
        i += 1
    if questions is not None and not 1 <= questions <= 50:
        raise ValueError("the number of questions must be between 1 and 50")
    return "start", topics, questions


@dataclass(frozen=True)
class Place:
    """Where a reply goes: a thread of a channel (or of a DM), through one Web API client."""

    client: AsyncWebClient
    channel: str
    thread: str


class SlackChannel(ChatChannel):
    """Wires one Interviewer into a Bolt AsyncApp."""

    name = CHANNEL

    def __init__(self, interviewer: Interviewer, app: AsyncApp, *, default_questions: int = 5) -> None:
        super().__init__(interviewer, default_questions=default_questions)
        self.app = app
        self._seen: OrderedDict[str, None] = OrderedDict()
        app.command("/interview")(self.on_command)
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.action(re.compile(f"^{ACTION_PREFIX}(hint|skip|end)$"))(self.on_button)
        app.error(self.on_error)

    # requests -----------------------------------------------------------------------------

    async def on_command(self, ack, command: dict, client: AsyncWebClient, respond) -> None:
        await ack()
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        try:
            action, args, questions = parse_request(command.get("text", ""))
        except ValueError as exc:
            await respond(response_type="ephemeral", text=f"{escape(str(exc))}. {USAGE}")
            return
        if action == "help":
            await respond(response_type="ephemeral", text=USAGE)
        elif action == "history":
            await respond(response_type="ephemeral", text="Your interviews", blocks=await self._history(team, user))
        elif action == "show":
            await respond(response_type="ephemeral", text="Interview", blocks=await self._show(team, user, args))
        else:
            try:
                await self._start(client, team, channel, user, args, questions, respond=respond)
            except SlackApiError as exc:
                error = exc.response.get("error", "error") if exc.response is not None else "error"
                hint = " Invite me first with `/invite @interviewer`, or DM me." if error in ("not_in_channel", "channel_not_found") else ""
                await respond(response_type="ephemeral", text=f"I could not start the interview here ({error}).{hint}")

    async def on_mention(self, event: dict, body: dict, client: AsyncWebClient) -> None:
        team = body.get("team_id") or event.get("team", "")
        thread = event.get("thread_ts")
        if thread and await self.interviewer.active_session(session_key(team, event["channel"], thread)):
            return  # a message in an interview thread: on_message answers it
        if not await self._first_delivery(body):
            return
        words = re.sub(r"<@[A-Z0-9]+>", " ", event.get("text", "")).split()
        if not words or words[0].lower() not in ("start", "interview"):
            await self._post_text(client, event["channel"], event.get("thread_ts") or event["ts"], USAGE)
            return
        try:
            _, topics, questions = parse_request(" ".join(words[1:]))
        except ValueError as exc:
            await self._post_text(client, event["channel"], event["ts"], f"{exc}. {USAGE}")
            return
        await self._start(client, team, event["channel"], event["user"], topics, questions, root_ts=event.get("thread_ts") or event["ts"])

    async def on_message(self, event: dict, body: dict, client: AsyncWebClient, context: dict) -> None:
        if event.get("subtype") not in ANSWER_SUBTYPES or event.get("bot_id") or event.get("user") in (None, context.get("bot_user_id")):
            return  # edits, joins, other bots and ourselves
        if not await self._first_delivery(body):
            return  # a retry of an event we already have
        team = body.get("team_id") or event.get("team", "")
        channel, user, text = event["channel"], event["user"], event.get("text", "")
        thread = event.get("thread_ts")
        if thread is None and event.get("channel_type") == "im":
            await self._direct_message(client, body, team, channel, user, text, event["ts"])
            return
        if thread is None:
            return  # channel chatter outside any thread
        await self.take_turn(Place(client, channel, thread), session_key(team, channel, thread), user_key(team, user), text,
                             event_id=body.get("event_id"))

    async def on_button(self, ack, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        team = (body.get("team") or {}).get("id", "")
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts", "")
        key = session_key(team, channel, thread)
        session = await self.interviewer.active_session(key)
        session_id, _, shown = (action.get("value") or "").partition(":")
        place = Place(client, channel, thread)
        if session is None or session.id != session_id:
            await self.refuse(place, user_key(team, user), OVER)
            return
        if session.user_key != user_key(team, user):
            await self.refuse(place, user_key(team, user), self.not_yours(session.user_key))
            return
        command = action["action_id"].removeprefix(ACTION_PREFIX)
        await self.take_turn(place, key, session.user_key, command, event_id=f"action:{action.get('action_ts', '')}",
                             prompt_seq=int(shown) if shown.isdigit() else None, pressed=True)

    async def on_error(self, error: Exception, body: dict, logger: logging.Logger) -> None:
        log.error("slack listener failed: %s", error, exc_info=error)

    # the work -----------------------------------------------------------------------------

    async def _start(
        self, client: AsyncWebClient, team: str, channel: str, user: str, topics: list[str], questions: int | None,
        *, respond=None, root_ts: str | None = None,
    ) -> None:
        options = SessionOptions(topics=topics, questions=questions or self.default_questions)
        try:
            self.interviewer.validate(options)
        except InterviewError as exc:
            text = f"{exc}. {USAGE}"
            if respond is not None:
                await respond(response_type="ephemeral", text=text)
            else:
                await self._post_text(client, channel, root_ts or "", text)
            return
        if root_ts is None:
            root = await client.chat_postMessage(
                channel=channel,
                text=f"<@{user}> is practising a mock interview. Answers go in this thread.",
            )
            root_ts = root["ts"]
        key = session_key(team, channel, root_ts)
        try:
            _, reply = await self.interviewer.start(user_key=user_key(team, user), channel=CHANNEL, options=options, session_key=key)
        except InterviewError as exc:
            await self._post_text(client, channel, root_ts, str(exc))
            return
        await self.deliver(Place(client, channel, root_ts), key, reply)

    async def _direct_message(self, client, body: dict, team: str, channel: str, user: str, text: str, ts: str) -> None:
        """A top-level DM: 'start' opens an interview threaded under it; anything else goes to
        the user's running DM interview, if there is one."""
        words = text.split()
        if words and words[0].lower() in ("start", "/interview", "interview"):
            try:
                _, topics, questions = parse_request(" ".join(words[1:]))
            except ValueError as exc:
                await self._post_text(client, channel, ts, f"{exc}. {USAGE}")
                return
            await self._start(client, team, channel, user, topics, questions, root_ts=ts)
            return
        if words and words[0].lower() == "history":
            await client.chat_postMessage(channel=channel, text="Your interviews", blocks=await self._history(team, user))
            return
        session = await self.interviewer.latest_unfinished(user_key(team, user), CHANNEL)
        prefix = session_key(team, channel, "")
        if session is None or not session.session_key.startswith(prefix):
            await client.chat_postMessage(channel=channel, text=f"Say `start` (and a topic if you like) to begin. {USAGE}")
            return
        thread = session.session_key.removeprefix(prefix)
        await self.take_turn(Place(client, channel, thread), session.session_key, session.user_key, text, event_id=body.get("event_id"))

    async def send(self, place: Place, reply: Reply) -> bool:
        for payload in render(reply):
            try:
                await place.client.chat_postMessage(channel=place.channel, thread_ts=place.thread, **payload)
            except Exception:
                log.exception("could not post to Slack")
                await self._post_text(place.client, place.channel, place.thread, "Sorry, I could not post my reply here. Type `repeat` to see it again.")
                return False
        return True

    async def _post_text(self, client, channel: str, thread: str, text: str) -> None:
        try:
            await client.chat_postMessage(channel=channel, thread_ts=thread or None, text=escape(text), blocks=sections(escape(text)))
        except Exception:
            log.exception("could not post an error message to Slack")

    async def refuse(self, place: Place, user: str, text: str) -> None:
        await place.client.chat_postEphemeral(channel=place.channel, user=user.rsplit(":", 1)[-1], thread_ts=place.thread, text=text)

    def not_yours(self, owner_key: str) -> str:
        return f"This is <@{owner_key.rsplit(':', 1)[-1]}>'s interview. Start your own with `/interview`."

    async def _history(self, team: str, user: str) -> list[dict[str, Any]]:
        return history_blocks(await self.interviewer.history(user_key(team, user), 10))

    async def _show(self, team: str, user: str, args: list[str]) -> list[dict[str, Any]]:
        if not args:
            return sections("Which one? `/interview show ID` (the ids are in `/interview history`).")
        record = await self.interviewer.transcript_of(user_key(team, user), args[0])
        if record is None:  # another user's id looks exactly like a missing one
            return sections(f"You have no interview `{escape(args[0][:40])}`. See `/interview history`.")
        return transcript_blocks(record)

    async def _first_delivery(self, body: dict) -> bool:
        """False for an event already taken in, here or by another replica (Slack's retries carry
        the same event_id, and a load balancer may send a retry anywhere)."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        if event_id in self._seen:  # a retry to this process: no need to ask the store
            return False
        self._seen[event_id] = None
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return await self.interviewer.first_delivery(f"slack:{event_id}")
