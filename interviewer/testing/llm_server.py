"""An OpenAI-compatible chat-completions server on 127.0.0.1, for testing the LLM engine through
litellm: scripted replies (good, malformed, slow, 429/500, streamed) or a rule deciding from the
request. ``LoopbackServer`` and ``JSONHandler`` are the pieces to build another stub from."""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#
# A real HTTP endpoint on 127.0.0.1 so an LLM engine can be tested offline through litellm,
# including the failure modes mocks hide: rate limits, timeouts, truncated or huge bodies.


_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS_PATHS = frozenset({"/v1/models", "/models"})
_STREAM_CHUNK_CHARS = 12
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


@dataclass
class StubReply:
    """One scripted answer of the stub server."""

    content: str | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    prompt_tokens: int = 120
    completion_tokens: int = 30


Responder = Callable[[dict], "StubReply | str"]


def _as_reply(reply: StubReply | str) -> StubReply:
    """A bare string is shorthand for a normal reply with that content."""
    return StubReply(content=reply) if isinstance(reply, str) else reply


def _error_json(status: int, message: str) -> dict[str, Any]:
    """The error envelope OpenAI (and so litellm's error mapping) expects."""
    kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "code": code}}


def _usage(reply: StubReply) -> dict[str, int]:
    """Token counts as the client will read them for cost and budget tracking."""
    total = reply.prompt_tokens + reply.completion_tokens
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens, "total_tokens": total}


def _completion(reply: StubReply, model: str) -> dict[str, Any]:
    """A non-streaming chat.completion object."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply.content}, "finish_reason": "stop"}
        ],
        "usage": _usage(reply),
    }


def _stream_chunks(reply: StubReply, model: str) -> list[dict[str, Any]]:
    """The chat.completion.chunk objects of a streamed reply, the last one carrying usage."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}
    text = reply.content or ""
    pieces = [text[i:i + _STREAM_CHUNK_CHARS] for i in range(0, len(text), _STREAM_CHUNK_CHARS)] or [""]
    chunks: list[dict[str, Any]] = []
    for n, piece in enumerate(pieces):
        delta: dict[str, Any] = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
        chunks.append({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    final = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": _usage(reply)}
    return [*chunks, final]


class JSONHandler(BaseHTTPRequestHandler):
    """Serves one connection; all decisions are delegated to the owning StubLLMServer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall
    server: QuietHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Stay silent: test output should not fill with access logs."""

    def do_GET(self) -> None:
        if self.path.split("?")[0] in _MODELS_PATHS:
            self._send_json(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        else:
            self._send_json(404, _error_json(404, f"no route for GET {self.path}"))

    def do_POST(self) -> None:
        raw = self._read_body()
        if self.path.split("?")[0] not in _CHAT_PATHS:
            self._send_json(404, _error_json(404, f"no route for POST {self.path}"))
            return
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, _error_json(400, "request body is not valid JSON"))
            return
        self.server.stub._answer(self, request if isinstance(request, dict) else {"_body": request})

    def _read_body(self) -> bytes:
        """Always drain the body so a kept-alive connection stays in sync."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Write a complete response with an exact Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_stream(self, chunks: list[dict[str, Any]], headers: dict[str, str]) -> None:
        """Server-sent events, flushed one by one, then [DONE]; the connection closes after."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading server that never waits for its handlers, so stop() is prompt."""

    daemon_threads = True
    block_on_close = False  # otherwise server_close() joins every handler thread
    allow_reuse_address = True

    def __init__(self, stub: StubLLMServer) -> None:
        super().__init__(("127.0.0.1", 0), JSONHandler)
        self.stub = stub

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is expected; anything else is still reported."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class LoopbackServer:
    """Start/stop of a test server on 127.0.0.1: a free port, a daemon thread, a prompt stop."""

    _httpd: ThreadingHTTPServer | None
    _thread: threading.Thread | None
    _stopping: threading.Event

    def _new_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def _after_close(self) -> None:
        """Anything left to release once the port is closed."""

    def start(self) -> Any:
        """Bind a free port and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._stopping.clear()
        self._httpd = self._new_server()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting and release the port without waiting for slow handlers."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a delay; they then drop their reply
        httpd.shutdown()
        httpd.server_close()
        self._after_close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class StubLLMServer(LoopbackServer):
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1 for offline tests."""

    def __init__(self, rule: Responder | None = None) -> None:
        self.rule = rule
        self.requests: list[dict] = []
        self._queue: list[StubReply] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0  # most requests being answered at once (arrival until the reply goes out)
        self._stopping = threading.Event()
        self._httpd: QuietHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def push(self, *replies: StubReply | str) -> None:
        """Queue scripted replies; they are used, in order, before the rule."""
        with self._lock:
            self._queue.extend(_as_reply(r) for r in replies)

    @property
    def url(self) -> str:
        """The api_base to hand to the client (ends in /v1)."""
        if self._httpd is None:
            raise RuntimeError("StubLLMServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        """How many chat-completion requests arrived so far."""
        with self._lock:
            return len(self.requests)


    def _new_server(self) -> ThreadingHTTPServer:
        return QuietHTTPServer(self)

    def _next_reply(self, request: dict) -> StubReply:
        """Record the request, then take the queue's head, else ask the rule, else a 500."""
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.pop(0)
        if self.rule is None:
            return StubReply(status=500, content="stub server has no scripted reply")
        try:
            return _as_reply(self.rule(request))
        except Exception as exc:  # surface a broken rule to the client instead of a dropped socket
            return StubReply(status=500, content=f"stub server rule failed: {exc!r}")

    def _answer(self, handler: JSONHandler, request: dict) -> None:
        """Turn the chosen reply into an HTTP response; a vanished client is not an error."""
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            reply = self._next_reply(request)
            stopped = bool(reply.delay) and self._stopping.wait(reply.delay)
        finally:  # counted out before writing, so a client's next request can never overlap this one
            with self._lock:
                self._in_flight -= 1
        if stopped:
            handler.close_connection = True
            return
        try:
            self._write(handler, reply, request)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True

    @staticmethod
    def _write(handler: JSONHandler, reply: StubReply, request: dict) -> None:
        """Pick the response form: raw bytes, error envelope, event stream or plain completion."""
        model = str(request.get("model") or "stub")
        if reply.body is not None:
            handler._send(reply.status, reply.body, "application/json", reply.headers)
        elif reply.status != 200:
            message = reply.content or f"stub server error {reply.status}"
            handler._send_json(reply.status, _error_json(reply.status, message), reply.headers)
        elif request.get("stream") is True:
            handler._send_stream(_stream_chunks(reply, model), reply.headers)
        else:
            handler._send_json(200, _completion(reply, model), reply.headers)
