"""Test doubles shipped with the package (as errbot and Rasa do), for our tests and for yours.

``ScriptedEngine`` grades without any model: each call takes the next scripted verdict map (or
a rule deciding from the answer text). ``CollectingResponder`` records every reply an adapter
would have sent. ``StubLLMServer`` is an OpenAI-compatible HTTP server on 127.0.0.1 for testing
the LLM engine through litellm, and ``grading_rule`` makes it answer like a well-behaved grader.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from interviewer.engines.base import AssessContext
from interviewer.domain import Assessment, PointVerdict, Question, Verdict
from interviewer.replies import Reply
from interviewer.scoring import score_verdicts

VerdictMap = dict[str, str]


def keyword_rule(question: Question, answer: str) -> VerdictMap:
    """A transparent stand-in grader: a point is covered when its id's words appear in the answer."""
    lowered = answer.lower()
    verdicts: VerdictMap = {}
    for point in question.points:
        words = point.id.replace("_", "-").split("-")
        present = sum(w in lowered for w in words)
        verdicts[point.id] = "covered" if present == len(words) else "partial" if present else "missed"
    return verdicts


def _closest_sentence(answer: str, point_text: str) -> str:
    """The answer's sentence sharing most words with the point: verbatim evidence, as a grader gives."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.strip()) if s.strip()] or [answer.strip()]
    wanted = set(re.findall(r"\w+", point_text.lower()))
    return max(sentences, key=lambda s: len(wanted & set(re.findall(r"\w+", s.lower()))))[:300]


@dataclass
class ScriptedEngine:
    """An engine whose verdicts come from a script; records what it was asked to grade."""

    script: list[VerdictMap] = field(default_factory=list)
    rule: Callable[[Question, str], VerdictMap] | None = None
    delay: float = 0.0
    fail_times: int = 0
    name: str = "scripted"
    model: str | None = "scripted"
    wants_context: bool = False
    calls: list[tuple[str, str, tuple[str, ...] | None]] = field(default_factory=list)

    def warm_up(self) -> None:
        return None

    def prepare(self, question: Question) -> None:
        return None

    async def assess(
        self, question: Question, answer: str, *, focus: Sequence[str] | None = None, context: AssessContext | None = None
    ) -> Assessment:
        self.calls.append((question.id, answer, tuple(focus) if focus else None))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("scripted failure")
        if self.script:
            verdict_map = self.script.pop(0)
        elif self.rule is not None:
            verdict_map = self.rule(question, answer)
        else:
            verdict_map = {}
        wanted = [p for p in question.points if focus is None or p.id in focus]
        verdicts = [
            PointVerdict(
                point_id=p.id,
                verdict=Verdict(verdict_map.get(p.id, "missed")),
                evidence=_closest_sentence(answer, p.text) if verdict_map.get(p.id, "missed") != "missed" else None,
            )
            for p in wanted
        ]
        return Assessment(
            question_id=question.id,
            verdicts=verdicts,
            score=score_verdicts(question, verdicts, []),
            engine=self.name,
            model=self.model,
            rubric_hash=question.content_hash,
            latency_ms=0.0,
        )


@dataclass
class CollectingResponder:
    """Collects replies the way a channel's output would send them."""

    replies: list[Reply] = field(default_factory=list)

    async def send(self, reply: Reply) -> None:
        self.replies.append(reply)

    @property
    def kinds(self) -> list[str]:
        return [m.kind for r in self.replies for m in r.messages]

    @property
    def texts(self) -> list[str]:
        return [m.text for r in self.replies for m in r.messages]


# --- An OpenAI-compatible chat-completions stub server ------------------------------------------
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


class _StubHandler(BaseHTTPRequestHandler):
    """Serves one connection; all decisions are delegated to the owning StubLLMServer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stall
    server: _StubHTTPServer

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


class _StubHTTPServer(ThreadingHTTPServer):
    """A threading server that never waits for its handlers, so stop() is prompt."""

    daemon_threads = True
    block_on_close = False  # otherwise server_close() joins every handler thread
    allow_reuse_address = True

    def __init__(self, stub: StubLLMServer) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.stub = stub

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test) is expected; anything else is still reported."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class _LoopbackServer:
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


class StubLLMServer(_LoopbackServer):
    """An OpenAI-compatible /v1/chat/completions server on 127.0.0.1 for offline tests."""

    def __init__(self, rule: Responder | None = None) -> None:
        self.rule = rule
        self.requests: list[dict] = []
        self._queue: list[StubReply] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0  # most requests being answered at once (arrival until the reply goes out)
        self._stopping = threading.Event()
        self._httpd: _StubHTTPServer | None = None
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
        return _StubHTTPServer(self)

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

    def _answer(self, handler: _StubHandler, request: dict) -> None:
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
    def _write(handler: _StubHandler, reply: StubReply, request: dict) -> None:
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


# --- A stub "model" that answers the interviewer's own prompts -----------------------------------

_ANSWER_BLOCK = re.compile(r"<candidate_answer>\n(.*?)\n</candidate_answer>", re.DOTALL)
_GRADE_THESE = re.compile(r"Grade these points: (.+)")


def prompt_answer(request: dict) -> str:
    """The candidate's answer in a request from the assess prompt (the last delimited block)."""
    last = str(request["messages"][-1]["content"])
    found = _ANSWER_BLOCK.findall(last)
    return found[-1] if found else ""


def prompt_points(request: dict) -> list[str]:
    last = str(request["messages"][-1]["content"])
    found = _GRADE_THESE.findall(last)
    return [p.strip() for p in found[-1].split(",")] if found else []


_RUBRIC_LINE = re.compile(r"^\[([^\]]+)\] \(weight [^)]*\) (.+)$", re.MULTILINE)


def prompt_rubric(request: dict) -> dict[str, str]:
    """Point id -> point text, from the rubric block of an assess request."""
    rubric: dict[str, str] = {}
    for message in request["messages"][:2]:  # the system message and the rubric, before any few-shot pair
        rubric.update(_RUBRIC_LINE.findall(str(message["content"])))
    return rubric


def _quotable(sentence: str) -> str:
    return sentence if len(sentence) <= 200 else sentence[:200].rsplit(" ", 1)[0]  # never cut mid-word


def _evidence_for(sentences: list[str], point_text: str | None) -> str:
    """The answer's sentence sharing most content words with the point (the first one without a
    rubric): a whole sentence, as a careful grader quotes."""
    if not sentences:
        return ""
    if not point_text:
        return _quotable(sentences[0])
    from interviewer.text import content_words

    wanted = set(content_words(point_text))
    return _quotable(max(sentences, key=lambda s: len(wanted & set(content_words(s)))))


def grading_reply(
    request: dict,
    verdict: Callable[[str, str], str] | str = "covered",
    utterance: str = "Thanks. What would you add about the part you skipped?",
) -> str:
    """A valid grading JSON for an assess request: each credited point quotes the answer's sentence
    closest to it (whole sentences: the engine's quote check rejects fragments and unrelated text)."""
    answer = prompt_answer(request)
    sentences = [s for s in re.split(r"(?<=[.!?])\s", answer.strip()) if s.strip()] if answer.strip() else []
    rubric = prompt_rubric(request)
    points = []
    for point_id in prompt_points(request):
        chosen = verdict(point_id, answer) if callable(verdict) else verdict
        quote = _evidence_for(sentences, rubric.get(point_id))
        evidence = quote if chosen != "missed" and quote else None
        points.append({"point_id": point_id, "reasoning": f"stub reasoning for {point_id}", "evidence": evidence,
                       "verdict": chosen if evidence or chosen == "missed" else "missed"})
    gaps = [p["point_id"] for p in points if p["verdict"] != "covered"]
    allowed = "Follow-up allowed: yes" in str(request["messages"][-1]["content"])
    return json.dumps({
        "analysis": "stub analysis",
        "points": points,
        "misconceptions": [],
        "follow_up_point": gaps[0] if gaps and allowed else None,
        "utterance": utterance if gaps and allowed else "Good, that answers the question.",
    })


def grading_rule(verdict: Callable[[str, str], str] | str = "covered", coaching: str = "Stub coaching: revise the gaps.") -> Responder:
    """A responder for StubLLMServer that grades, coaches and writes questions like a real model would."""

    def respond(request: dict) -> str:
        text = str(request["messages"][-1]["content"])
        if "<candidate_answer>" in text:
            return grading_reply(request, verdict)
        if text.startswith("Results, question by question"):
            return coaching
        ideas = _material_sentences(text)
        return json.dumps({
            "question": "How would you explain the idea in this material to a colleague?",
            "difficulty": 2,
            "points": [
                {"id": f"idea-{n}", "text": ideas[n - 1] if n <= len(ideas) else f"The material's idea number {n} is stated correctly.",
                 "weight": 2, "keywords": _idea_keywords(ideas[n - 1]) if n <= len(ideas) else ["idea"],
                 "follow_up": f"Tell me more about idea {n}.", "hint": f"Think of idea {n}."}
                for n in (1, 2, 3)
            ],
            "model_answer": "A stub model answer.",
        })

    return respond


_MATERIAL_PASSAGE = re.compile(r"^\[\d+\] [^\n]*\n(.+?)(?=\n\n\[\d+\] |\Z)", re.MULTILINE | re.DOTALL)


def _material_sentences(prompt: str) -> list[str]:
    """The sentences of the study material in a question-generation prompt: what a model would
    write its rubric points from (a rubric unrelated to the material would grade nothing)."""
    material = prompt.split("Study material", 1)[-1]
    sentences: list[str] = []
    for passage in _MATERIAL_PASSAGE.findall(material):
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", passage.strip()) if len(s.split()) >= 4]
    return sentences


def _idea_keywords(sentence: str) -> list[str]:
    from interviewer.text import content_words

    return list(dict.fromkeys(content_words(sentence)))[:2] or ["idea"]


# --- A Slack Web API mock -------------------------------------------------------------------------
#
# A real HTTP endpoint on 127.0.0.1 speaking just enough of https://slack.com/api/ for a Slack Bolt
# app to run offline: hand ``mock.url`` to ``WebClient``/``AsyncWebClient`` as ``base_url`` and
# assert on what the app sent. Standard library only: the package core must not depend on the SDKs.

_SLACK_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
_SLACK_TS_BASE = 1_700_000_000_000_100  # microseconds; the first ts handed out is 1700000000.000101


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


class _SlackHandler(_StubHandler):
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


class _SlackHTTPServer(_StubHTTPServer):
    """The stub's prompt-stopping, hang-up-tolerant server, serving the Slack handler instead."""

    request_queue_size = 128  # load tests open many connections at once; 5 would cost SYN retries

    def __init__(self, mock: MockSlackAPI) -> None:
        # Skips _StubHTTPServer.__init__ only because that one hard-wires _StubHandler.
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _SlackHandler)
        self.mock = mock


class MockSlackAPI(_LoopbackServer):
    """A Slack Web API on 127.0.0.1 that records calls and answers like Slack.

    ``calls`` holds ``(method, params)`` in arrival order and ``tokens`` the bearer token of each;
    ``fail()`` scripts error answers (``"ratelimited"`` is a real HTTP 429 with Retry-After), and
    ``delay`` slows every answer down, for load tests against a slow Slack.
    """

    def __init__(self, *, team_id: str = "T1", bot_user_id: str = "UBOT", bot_id: str = "BBOT", delay: float = 0.0) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.delay = delay
        self._calls: list[tuple[str, dict]] = []
        self._tokens: list[str] = []
        self._failures: dict[str, list[str]] = {}
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

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """Block until ``count`` calls of ``method`` arrived, then return their params."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._count(method) >= count, timeout):
                raise AssertionError(self._timeout_message(method, count, timeout))
        return self.of(method)

    async def wait_for_async(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict]:
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
            return queued.pop(0) if queued else None

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


# --- recorded interviews, for tests, benchmarks and demo reports ---------------------------------


def example_rule(bank_questions: dict[str, Question]) -> Callable[[Question, str], VerdictMap]:
    """A grader that gives a bank answer example exactly its human verdicts (others: keyword_rule)."""

    def rule(question: Question, answer: str) -> VerdictMap:
        for example in question.examples:
            if example.answer.strip() == answer.strip():
                return {point_id: verdict.value for point_id, verdict in example.verdicts.items()}
        return keyword_rule(question, answer)

    return rule


async def practise_from_examples(
    interviewer: Any, user_key: str, *, sessions: int, questions: int = 4, seed: int = 0,
    topics: Sequence[str] = (), channel: str = "repl",
) -> list[Any]:
    """Run whole interviews through the real core, answering with the bank's graded examples.

    The candidate improves over the sessions (weak answers early, strong ones late), asks for a
    hint now and then, skips now and then and answers follow-ups, so the transcripts look like a
    real practice history. Pair it with ``ScriptedEngine(rule=example_rule(...))``.
    """
    import random

    from interviewer.domain import SessionOptions, Turn

    rng = random.Random(seed)
    done = []
    for n in range(sessions):
        progress = n / max(1, sessions - 1)
        pool = [q.id for q in interviewer.bank.select(list(topics)) if q.examples]
        picked = rng.sample(pool, min(questions, len(pool)))  # from the seed, so a history is reproducible
        options = SessionOptions(question_ids=picked, questions=len(picked))
        session, reply = await interviewer.start(user_key=user_key, channel=channel, options=options, session_key=f"{user_key}:{n}")
        current = ""
        for _ in range(questions * 6):
            if reply.finished:
                break
            asked = [m for m in reply.messages if m.kind in ("question", "follow_up", "hint")]
            last = asked[-1] if asked else None
            current = (last.data.get("question_id") if last else None) or current  # a hint names no question
            question = interviewer.bank.questions.get(current)
            if last is not None and last.kind == "question" and question is not None:
                roll = rng.random()
                if roll < 0.06:
                    text = "skip"
                elif roll < 0.14:
                    text = "hint"
                else:
                    text = _example_answer(question, progress, rng)
            elif last is not None and last.kind == "hint" and question is not None:
                text = _example_answer(question, min(1.0, progress + 0.3), rng)
            elif last is not None and last.kind == "follow_up":
                text = "skip" if rng.random() < 0.3 else _a_sentence_of(question, rng) if question else "I am not sure."
            else:
                text = "end"
            reply = await interviewer.handle(Turn(session_key=session.session_key, user_key=user_key, text=text, channel=channel))
        if not reply.finished:
            await interviewer.handle(Turn(session_key=session.session_key, user_key=user_key, text="end", channel=channel))
        done.append(session)
    return done


def _a_sentence_of(question: Question, rng: Any) -> str:
    """A follow-up answer: one sentence of the question's strongest example."""
    strong = next((e.answer for e in question.examples if e.label == "strong"), question.model_answer or question.text)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", strong.strip()) if s]
    return rng.choice(sentences) if sentences else strong


def _example_answer(question: Question, progress: float, rng: Any) -> str:
    by_label = {e.label: e.answer for e in question.examples}
    weights = {"weak": 1 - progress, "partial": 0.8, "fluent_wrong": 0.3, "strong": 0.2 + progress}
    labels = [label for label in weights if label in by_label]
    if not labels:
        return question.model_answer or question.text
    return by_label[rng.choices(labels, weights=[weights[label] for label in labels])[0]]


def backdate(store: Any, session_id: str, start: Any, *, step_seconds: float = 40.0) -> None:
    """Move a stored session to ``start`` (its turns ``step_seconds`` apart), for a history over weeks."""
    from datetime import timedelta

    from sqlalchemy import update

    from interviewer.tables import SessionRow, TurnRow

    turns = store.turns(session_id)
    with store.engine.begin() as db:
        for n, turn in enumerate(turns):
            db.execute(
                update(TurnRow).where(TurnRow.session_id == session_id, TurnRow.seq == turn.seq)
                .values(created_at=start + timedelta(seconds=step_seconds * n))
            )
        end = start + timedelta(seconds=step_seconds * max(0, len(turns) - 1))
        db.execute(update(SessionRow).where(SessionRow.id == session_id).values(created_at=start, updated_at=end))
