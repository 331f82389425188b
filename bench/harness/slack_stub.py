"""A Slack Web API on 127.0.0.1 for tests and benchmarks (not shipped: a harness piece).

A real HTTP endpoint speaking just enough of https://slack.com/api/ for a Slack Bolt app to run
offline: hand ``mock.url`` to ``WebClient``/``AsyncWebClient`` as ``base_url`` and assert on what
the app sent. Standard library only, on the same loopback server as ``interviewer.testing``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.parse
from http.server import ThreadingHTTPServer
from typing import Any

from harness.slack_limits import breaches
from interviewer.testing import JSONHandler, LoopbackServer, QuietHTTPServer

_SLACK_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
_SLACK_TS_BASE = 1_700_000_000_000_100  # microseconds; the first ts handed out is 1700000000.000101
# Waits poll until what they wait for arrives: the bound only decides how long a broken run takes
# to fail, so it is generous enough for a loaded 2-core machine (a test must not time the machine).
WAIT_SECONDS = 60.0


def _slack_params(query: str, content_type: str, raw: bytes) -> dict[str, Any]:
    """Query-string, form and JSON parameters merged into one dict (the body wins on a clash)."""
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if raw:
        if content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        elif content_type in ("", "application/x-www-form-urlencoded"):
            params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    for name in _SLACK_JSON_FIELDS & params.keys():
        value = params[name]
        if isinstance(value, str):  # form fields carry structures as JSON strings; decode them for asserts
            try:
                params[name] = json.loads(value)
            except ValueError:
                pass
    return params


class _SlackHandler(JSONHandler):
    """Serves one connection of the Slack mock; reuses the stub's body reading and exact writes."""

    server: _SlackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.mock._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.mock._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self._read_body())

    def _dispatch(self, raw: bytes) -> None:
        mock = self.server.mock
        if mock._stopping.is_set():  # a kept-alive connection outliving stop() gets no answer
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        method = path[len("/api/"):] if path.startswith("/api/") else ""
        if not method:  # anything under /api/ is recorded, so a response_url of url + "respond/U1" works
            self._send_json(404, {"ok": False, "error": "unknown_method"})
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        auth = self.headers.get("Authorization") or ""
        params = _slack_params(query, content_type, raw)
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else str(params.get("token") or "")
        mock._answer(self, method, params, token)


class _SlackHTTPServer(QuietHTTPServer):
    """The stub's prompt-stopping, hang-up-tolerant server, serving the Slack handler instead."""

    request_queue_size = 128  # load tests open many connections at once; 5 would cost SYN retries

    def __init__(self, mock: MockSlackAPI) -> None:
        # Skips QuietHTTPServer.__init__ only because that one hard-wires JSONHandler.
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _SlackHandler)
        self.mock = mock


class MockSlackAPI(LoopbackServer):
    """A Slack Web API on 127.0.0.1 that records calls and answers like Slack.

    ``calls`` holds ``(method, params)`` in arrival order and ``tokens`` the bearer token of each;
    ``fail()`` scripts error answers (``"ratelimited"`` is a real HTTP 429 with Retry-After), and
    ``delay`` slows every answer down, for load tests against a slow Slack. A message over one of
    Slack's limits (``harness.slack_limits``) is refused as Slack would and kept in ``breaches``.
    """

    def __init__(self, *, team_id: str = "T1", bot_user_id: str = "UBOT", bot_id: str = "BBOT", delay: float = 0.0) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.delay = delay
        self._calls: list[tuple[str, dict]] = []
        self._tokens: list[str] = []
        self._failures: dict[str, list[str]] = {}
        self.breaches: list[str] = []
        self._ts = 0
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[Any] = set()
        self._httpd: _SlackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base_url to hand to slack_sdk's clients (``http://127.0.0.1:<port>/api/``)."""
        if self._httpd is None:
            raise RuntimeError("MockSlackAPI is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/api/"

    def _new_server(self) -> ThreadingHTTPServer:
        return _SlackHTTPServer(self)

    def _after_close(self) -> None:
        with self._changed:
            connections, self._connections = list(self._connections), set()
        for connection in connections:  # handlers parked on a kept-alive socket read EOF and exit
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- what arrived ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, dict]]:
        """``(method, params)`` of every call so far, in arrival order (a snapshot)."""
        with self._changed:
            return list(self._calls)

    @property
    def tokens(self) -> list[str]:
        """The bearer token of every call, in the same order as ``calls`` ("" when none was sent)."""
        with self._changed:
            return list(self._tokens)

    def of(self, method: str) -> list[dict]:
        """The params of every call of ``method``, e.g. ``mock.of("chat.postMessage")``."""
        with self._changed:
            return [params for name, params in self._calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[dict]:
        """Block until ``count`` calls of ``method`` arrived, then return their params."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._count(method) >= count, timeout):
                raise AssertionError(self._timeout_message(method, count, timeout))
        return self.of(method)

    async def wait_for_async(self, method: str, count: int = 1, timeout: float = WAIT_SECONDS) -> list[dict]:
        """``wait_for`` for a test running on an event loop: polls, never blocks the loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._changed:
                if self._count(method) >= count:
                    break
                if loop.time() >= deadline:
                    raise AssertionError(self._timeout_message(method, count, timeout))
            await asyncio.sleep(0.01)
        return self.of(method)

    def reset(self) -> None:
        """Forget recorded calls and tokens (scripted failures and the ts counter stay)."""
        with self._changed:
            self._calls.clear()
            self._tokens.clear()

    # -- scripting ---------------------------------------------------------------------------------

    def fail(self, method: str, error: str = "internal_error", times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        if times < 0:
            raise ValueError("times must be >= 0")
        with self._changed:
            self._failures.setdefault(method, []).extend([error] * times)

    # -- serving -----------------------------------------------------------------------------------

    def _count(self, method: str) -> int:
        return sum(1 for name, _ in self._calls if name == method)

    def _timeout_message(self, method: str, count: int, timeout: float) -> str:
        seen: dict[str, int] = {}
        for name, _ in self._calls:
            seen[name] = seen.get(name, 0) + 1
        listing = ", ".join(f"{name} x{n}" for name, n in seen.items()) or "none"
        return (f"timed out after {timeout}s waiting for {count} {method} call(s), got {seen.get(method, 0)}; "
                f"methods seen: {listing}")

    def _track(self, connection: Any, *, add: bool) -> None:
        with self._changed:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _next_ts(self) -> str:
        with self._changed:
            self._ts += 1
            micros = _SLACK_TS_BASE + self._ts
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _record(self, method: str, params: dict, token: str) -> str | None:
        """Record the call and wake waiters; return the scripted error for it, if any."""
        with self._changed:
            self._calls.append((method, params))
            self._tokens.append(token)
            self._changed.notify_all()
            queued = self._failures.get(method)
            if queued:
                return queued.pop(0)
            broken = breaches(method, params)
            self.breaches += [what for _, what in broken]
            return broken[0][0] if broken else None

    def _respond(self, method: str, params: dict) -> dict[str, Any]:
        """The ``ok`` answer Slack would give; missing required arguments answer invalid_arguments."""
        try:
            if method == "auth.test":
                return {"ok": True, "url": "https://mock.slack.test/", "team": "Mock Team", "user": "interviewer",
                        "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                        "is_enterprise_install": False}
            if method == "chat.postMessage":
                ts = self._next_ts()
                message = {"text": params.get("text"), "ts": ts, "thread_ts": params.get("thread_ts"),
                           "user": self.bot_user_id, "bot_id": self.bot_id}
                return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}
            if method == "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            if method == "chat.update":
                return {"ok": True, "channel": params.get("channel"), "ts": params["ts"]}
            if method == "conversations.open":
                if "users" not in params and params.get("channel"):
                    return {"ok": True, "channel": {"id": str(params["channel"])}}
                users = [u.strip() for u in str(params["users"]).split(",") if u.strip()]
                prefix = "D" if len(users) == 1 else "G"  # several users: a multi-person DM
                return {"ok": True, "channel": {"id": prefix + "".join(users)}}
            if method == "users.info":
                user = str(params["user"])
                return {"ok": True, "user": {"id": user, "name": user.lower(), "real_name": "User " + user}}
            return {"ok": True}
        except KeyError:
            return {"ok": False, "error": "invalid_arguments"}

    def _answer(self, handler: _SlackHandler, method: str, params: dict, token: str) -> None:
        """Record, wait out the delay, then write the answer; a vanished client is not an error."""
        error = self._record(method, params, token)
        try:
            if self.delay and self._stopping.wait(self.delay):
                handler.close_connection = True
                return
            if error == "ratelimited":
                handler._send_json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            elif error is not None:
                handler._send_json(200, {"ok": False, "error": error})
            else:
                handler._send_json(200, self._respond(method, params))
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True
