"""One model call through litellm, with the resilience an interview needs.

Timeouts, rate limits (honouring Retry-After), 5xx answers and dropped connections are retried
with backoff; errors that a retry cannot fix (a bad key, an unknown model) fail at once. Either
way the caller gets a ``ModelCallError`` whose ``reason`` is short and safe to show: it never
contains the key or the request. litellm's own retries are switched off so that every request
the server sees is one we decided to send. A ``RequestLimit`` caps how many requests are in
flight at once, so replicas sharing a gateway queue locally instead of drawing 429s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from interviewer.safe_text import hide_credentials

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list at import

log = logging.getLogger(__name__)

LOCAL_PROVIDERS = {"ollama", "ollama_chat", "hosted_vllm", "vllm", "lm_studio", "llamafile", "openai_like"}
MAX_RETRY_AFTER = 10.0
DeltaSink = Callable[[str], None]


class ModelCallError(Exception):
    """The model could not give an answer; ``reason`` is for the transcript and the user."""

    def __init__(self, reason: str, *, kind: str, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.attempts = attempts


@dataclass(frozen=True)
class ModelConfig:
    """Which model to call and how patiently. ``api_key`` comes from the environment only."""

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    retries: int = 2
    backoff: float = 0.5
    stream: bool = True
    temperature: float = 0.0
    max_parallel: int = 0  # requests in flight at once from this process (0 = no limit); see RequestLimit
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. litellm's mock_response in tests

    def __repr__(self) -> str:  # the key is never printed
        return f"ModelConfig(model={self.model!r}, api_base={self.api_base!r}, timeout={self.timeout})"


@dataclass
class CallResult:
    """One answer and what it cost.

    ``latency_ms`` is what the candidate waited: every attempt, the backoff between them and
    the time spent queued for a request slot; ``queued_ms`` is the queued part alone.
    """

    content: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    latency_ms: float = 0.0
    queued_ms: float = 0.0
    attempts: int = 1
    failures: list[str] = field(default_factory=list)  # the reason of each failed attempt before this answer


class RequestLimit:
    """At most ``size`` model requests in flight at once over every client sharing it (0 = no limit).

    Replicas sharing a gateway each take a share of its parallel limit; requests over the share
    wait here, first come first served, instead of drawing 429s. Not an ``asyncio.Semaphore``:
    a semaphore belongs to one event loop, and a client outlives loops (the REPL and the tests
    call ``asyncio.run`` again and again; loops may also run at once in threads). So the count
    is guarded by a thread lock and each waiter is a future woken on its own loop.
    """

    def __init__(self, size: int = 0) -> None:
        if size < 0:
            raise ValueError(f"a request limit cannot be negative (got {size})")
        self.size = size
        self._lock = threading.Lock()
        self._busy = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        with self._lock:
            return self._busy

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold one slot for one request; yields the seconds spent waiting for it."""
        if self.size <= 0:
            yield 0.0
            return
        started = time.perf_counter()
        await self._acquire()
        try:
            yield time.perf_counter() - started
        finally:
            self._release()

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._busy < self.size:  # there are waiters only while every slot is busy
                self._busy += 1
                return
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, waiter))
        try:
            await waiter
        except BaseException:  # cancelled: leave the queue, or pass on a slot handed over meanwhile
            with self._lock:
                handed_over = (loop, waiter) not in self._waiters
                if not handed_over:
                    self._waiters.remove((loop, waiter))
            if handed_over:
                self._release()
            raise

    def _release(self) -> None:
        """Hand the slot to the first waiter whose loop is alive, else free it."""
        with self._lock:
            while self._waiters:
                loop, waiter = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, waiter)
                except RuntimeError:  # its loop is closed: nobody waits there any more
                    continue
                return
            self._busy -= 1


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@lru_cache(maxsize=1)
def litellm_module() -> Any:
    """Import and configure litellm once (its import takes about two seconds, so on first use)."""
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.drop_params = True  # a provider that lacks an option (response_format, ...) just ignores it
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    return litellm


def provider_of(model: str) -> str:
    """The litellm provider of a model string, or raise ValueError with a usable message."""
    litellm = litellm_module()
    try:
        return litellm.get_llm_provider(model)[1]
    except Exception:
        raise ValueError(
            f"unknown model {model!r}: name it as provider/model, e.g. openai/gpt-4o-mini, "
            "anthropic/claude-3-5-haiku-latest, ollama_chat/llama3.1 or openai/<name> with INTERVIEWER_API_BASE"
        ) from None


def missing_keys(config: ModelConfig) -> list[str]:
    """Provider API-key variables the model needs and the environment lacks."""
    if config.api_key or config.api_base:
        return []
    try:
        report = litellm_module().validate_environment(config.model)
    except Exception:
        return []
    return [k for k in report.get("missing_keys", []) if k.endswith("_API_KEY")]


def _retry_after(exc: Exception) -> float | None:
    """The server's Retry-After in seconds (capped), from litellm's copy of the headers."""
    value = None
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None), "headers", None)):
        if headers is not None and hasattr(headers, "get") and headers.get("retry-after") is not None:
            value = headers.get("retry-after")
            break
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: litellm reports a refused connection as an HTTP 500."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _transport_problem(exc: Exception) -> tuple[str, str, bool] | None:
    """A dropped connection or an unreadable body hidden under a status code the server never sent."""
    import httpx

    causes = _causes(exc)[1:]
    if any(isinstance(c, (ConnectionError, httpx.ConnectError, httpx.RemoteProtocolError)) for c in causes):
        return "connection", "the model endpoint could not be reached", True
    if any(isinstance(c, json.JSONDecodeError) for c in causes):
        return "malformed", "the model endpoint sent a reply that is not valid JSON", True
    return None


def _classify(exc: Exception, timeout: float) -> tuple[str, str, bool]:
    """(kind, short reason, retryable) for an exception from litellm."""
    litellm = litellm_module()
    status = getattr(exc, "status_code", None)
    if isinstance(exc, (asyncio.TimeoutError, litellm.Timeout)):
        return "timeout", f"the model did not answer within {timeout:g} s", True
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limit", "the model's rate limit was hit (HTTP 429)", True
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)) or status in (401, 403):
        return "auth", "the model rejected the API key (check the provider's *_API_KEY variable)", False
    if isinstance(exc, litellm.NotFoundError) or status == 404:
        return "not_found", "the model or endpoint was not found (check INTERVIEWER_MODEL and INTERVIEWER_API_BASE)", False
    if isinstance(exc, litellm.ContextWindowExceededError):
        return "context", "the prompt is longer than the model's context window", False
    if isinstance(exc, litellm.APIConnectionError) and not isinstance(exc, litellm.InternalServerError):
        return "connection", "the model endpoint could not be reached", True
    transport = _transport_problem(exc)
    if transport is not None:
        return transport
    if isinstance(exc, (litellm.InternalServerError, litellm.ServiceUnavailableError, litellm.BadGatewayError)) or (
        isinstance(status, int) and status >= 500
    ):
        return "server", f"the model endpoint failed (HTTP {status or '5xx'})", True
    if isinstance(exc, litellm.BadRequestError):
        return "bad_request", "the model refused the request as invalid", False
    return "error", f"the model call failed ({type(exc).__name__})", False


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    text = hide_credentials(text)
    return re.sub(r"(sk|xox[abp]|key)-[A-Za-z0-9_-]{8,}", r"\1-***", text)


class ModelClient:
    """Sends chat requests for one configured model.

    ``limit`` caps the requests in flight; clients that must share one cap (an engine's grading
    and coaching clients) are given the same one. Without it the client has its own, of
    ``config.max_parallel``.
    """

    def __init__(self, config: ModelConfig, *, limit: RequestLimit | None = None) -> None:
        self.config = config
        self.limit = limit if limit is not None else RequestLimit(config.max_parallel)
        self._provider: str | None = None
        self._json_schema: bool | None = None

    @property
    def provider(self) -> str:
        if self._provider is None:
            self._provider = provider_of(self.config.model)
        return self._provider

    def supports_json_schema(self) -> bool:
        """Whether the provider takes a strict JSON schema (else JSON mode plus our parsing)."""
        if self._json_schema is None:
            try:
                self._json_schema = bool(litellm_module().supports_response_schema(model=self.config.model))
            except Exception:
                self._json_schema = False
        return self._json_schema

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        response_format: dict[str, Any] | None = None,
        on_delta: DeltaSink | None = None,
    ) -> CallResult:
        """One answer for ``messages``, retrying what is worth retrying.

        Each attempt holds a request slot only while it talks to the model: the wait for a slot
        is outside the timeout, and the backoff between attempts leaves the slot to others.
        """
        started = time.perf_counter()
        queued = 0.0
        attempts = 0
        failures: list[str] = []
        while True:
            attempts += 1
            try:
                async with self.limit.slot() as waited:
                    queued += waited
                    result = await self._once(messages, response_format, on_delta)
                result.attempts = attempts
                result.failures = failures
                result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
                result.queued_ms = round(queued * 1000, 1)
                return result
            except Exception as exc:  # classified below; nothing escapes unclassified
                kind, reason, retryable = _classify(exc, self.config.timeout)
                log.warning("model call failed (%s, attempt %d): %s", kind, attempts, _scrub(str(exc), self.config.api_key)[:300])
                if not retryable or attempts > self.config.retries:
                    tried = f" after {attempts} attempts" if attempts > 1 else ""
                    raise ModelCallError(f"{reason}{tried}", kind=kind, attempts=attempts) from None
                failures.append(reason)
                wait = _retry_after(exc)
                if wait is None:
                    wait = self.config.backoff * (2 ** (attempts - 1)) * (1 + random.random() / 4)
                await self._pause(wait)

    async def _pause(self, seconds: float) -> None:
        """The backoff before the next attempt, holding no request slot (a seam for tests)."""
        await asyncio.sleep(seconds)

    def _kwargs(self, messages: list[dict[str, str]], response_format: dict[str, Any] | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "timeout": self.config.timeout,
            "temperature": self.config.temperature,
            "num_retries": 0,
            "max_retries": 0,
            **self.config.extra,
        }
        if response_format is not None:
            kwargs["response_format"] = response_format
        if self.config.api_base:
            kwargs["api_base"] = self.config.api_base
        if self.config.api_key:
            kwargs["api_key"] = self.config.api_key
        elif self.config.api_base and self.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers accept any key
        return kwargs

    async def _once(
        self, messages: list[dict[str, str]], response_format: dict[str, Any] | None, on_delta: DeltaSink | None
    ) -> CallResult:
        litellm = litellm_module()
        kwargs = self._kwargs(messages, response_format)
        hard_limit = self.config.timeout + 1.0  # in case a provider ignores the timeout
        if on_delta is not None and self.config.stream and "mock_response" not in kwargs:
            return await asyncio.wait_for(self._streamed(litellm, kwargs, on_delta), hard_limit * 2)
        response = await asyncio.wait_for(litellm.acompletion(**kwargs), hard_limit)
        content = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        if on_delta is not None and content:
            on_delta(content)  # not streamed: the whole reply is one delta
        return CallResult(
            content=content,
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            cost=self._cost(litellm, response),
        )

    async def _streamed(self, litellm: Any, kwargs: dict[str, Any], on_delta: DeltaSink) -> CallResult:
        stream = await litellm.acompletion(**kwargs, stream=True, stream_options={"include_usage": True})
        chunks: list[Any] = []
        pieces: list[str] = []
        async for chunk in stream:
            chunks.append(chunk)
            choices = getattr(chunk, "choices", None) or []
            delta = getattr(choices[0], "delta", None) if choices else None
            text = getattr(delta, "content", None) if delta is not None else None
            if text:
                pieces.append(text)
                on_delta(text)
        content = "".join(pieces)
        try:
            full = litellm.stream_chunk_builder(chunks, messages=kwargs["messages"])
        except Exception:
            full = None
        usage = getattr(full, "usage", None)
        return CallResult(
            content=content,
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            cost=self._cost(litellm, full) if full is not None else None,
        )

    def _cost(self, litellm: Any, response: Any) -> float | None:
        """Dollar cost from litellm's price list; None for local models and unknown prices."""
        if self.provider in LOCAL_PROVIDERS:
            return None
        hidden = getattr(response, "_hidden_params", None) or {}
        if "response_cost" in hidden:  # litellm priced the reply already: don't price it twice
            cost = hidden["response_cost"]
            return float(cost) if cost else None
        try:
            cost = litellm.completion_cost(completion_response=response, model=self.config.model)
        except Exception:
            return None
        return float(cost) if cost else None
