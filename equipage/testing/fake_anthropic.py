"""A fake Anthropic Messages API on 127.0.0.1 that the real ``anthropic`` SDK talks to.

Tests script its answers, then read what it received::

    async with FakeAnthropic([text("Bonjour"), tool_use("reply", {"text": "Hi"})]) as fake:
        client = anthropic.AsyncAnthropic(base_url=fake.url, api_key="test")
        ...
        fake.requests[0].body["messages"]

It serves ``POST /v1/messages`` over real HTTP, as JSON or as SSE in the live API's event
order, answers errors in Anthropic's error shape, and accounts prompt caching as the API
documents it: breakpoints in the order tools, system, messages; a prefix is cached only
from the model's minimum length; entries live 5 minutes, refreshed on each read; a
breakpoint also finds entries up to 20 blocks before it. Token counts are estimates,
ceil(len(canonical JSON) / 4), not Anthropic's tokenizer: compare them with each other,
never with the live API's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from equipage.testing.fake_server import FakeServer

__all__ = [
    "DEFAULT_TEXT",
    "FakeAnthropic",
    "RecordedRequest",
    "Step",
    "delay",
    "error",
    "streamed",
    "text",
    "tool_use",
]

DEFAULT_TEXT = "(fake anthropic: nothing scripted)"
CACHE_TTL = 300.0  # seconds an ephemeral cache entry lives after its last write or read
LOOKBACK = 20  # blocks before a breakpoint where the API still looks for a cached prefix
Json = Any  # parsed wire JSON, checked by the fake where it matters


@dataclass(frozen=True)
class Step:
    """One scripted answer: text and tool calls, or an HTTP error; sent after ``delay`` s."""

    text: str = ""
    tools: tuple[tuple[str, dict[str, Json]], ...] = ()
    status: int = 200
    error_type: str = ""
    message: str = ""
    retry_after: float | None = None
    in_stream: bool = False
    delay: float = 0.0
    pace: float = 0.0  # seconds before each streamed text delta: a model writing


def text(content: str) -> Step:
    """Answer with text; ``stop_reason`` is ``end_turn``."""
    return Step(text=content)


def streamed(content: str, *, over: float) -> Step:
    """Answer with text whose pieces (a word and its space each) stream over ``over`` s."""
    pieces = max(len(re.findall(r"\S+\s*|\s+", content)), 1)
    return Step(text=content, pace=over / pieces)


def tool_use(name: str, arguments: dict[str, Json], *, text: str = "") -> Step:
    """Answer with a call of ``name`` (after ``text`` if given); stop_reason ``tool_use``."""
    return Step(text=text, tools=((name, arguments),))


def error(
    status: int,
    type: str,
    message: str,
    retry_after: float | None = None,
    *,
    in_stream: bool = False,
    text: str = "",
    pace: float = 0.0,
) -> Step:
    """Answer ``status`` with Anthropic's error body, e.g. 429 rate_limit_error, 529
    overloaded_error, 500 api_error; ``retry_after`` sets the ``retry-after`` header.
    ``in_stream``: a streamed request gets 200, ``message_start``, then an ``error`` event,
    after ``text`` streamed first if given (at ``pace`` seconds a piece)."""
    return Step(text, (), status, type, message, retry_after, in_stream, pace=pace)


def delay(seconds: float, then: Step | None = None) -> Step:
    """Wait ``seconds`` before answering ``then`` (the default text if None)."""
    return replace(then or text(DEFAULT_TEXT), delay=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake received: when (``time.monotonic()``), the headers without the API
    key or Authorization value (``has_key`` says whether one was sent), the JSON body."""

    time: float
    headers: dict[str, str]
    has_key: bool
    body: dict[str, Json]


Responder = Callable[[RecordedRequest], Step]


class FakeAnthropic(FakeServer):
    """The fake server; ``async with`` starts it on a free port and stops it."""

    def __init__(
        self,
        script: Iterable[Step] | Responder = (),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._responder = script if callable(script) else None
        self._queue: deque[Step] = deque() if callable(script) else deque(script)
        self._cache = _Cache(clock)
        self.requests: list[RecordedRequest] = []

    @property
    def url(self) -> str:
        """The base URL to give the SDK (empty until the server is started)."""
        return self.origin if self.started else ""

    def push(self, *steps: Step) -> None:
        """Queue more answers; they are used once each, in order."""
        self._queue.extend(steps)

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/messages", self._messages, methods=["POST"])]

    async def _messages(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        secret = ("x-api-key", "authorization")
        headers = {k: v for k, v in request.headers.items() if k not in secret}
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        has_key = bool(request.headers.get("x-api-key") or bearer)
        record = RecordedRequest(time.monotonic(), headers, has_key, body or {})
        self.requests.append(record)
        if not has_key:
            return _error_response(401, "authentication_error", "x-api-key header is required")
        problem = _invalid(body)
        if not request.headers.get("anthropic-version"):
            problem = "anthropic-version: header is required"
        if problem:
            return _error_response(400, "invalid_request_error", problem)
        step = self._responder(record) if self._responder else None
        step = step or (self._queue.popleft() if self._queue else text(DEFAULT_TEXT))
        if step.delay:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(step.delay):
                    await self._closing.wait()
        streamed = bool(body.get("stream"))
        if step.status != 200 and not (step.in_stream and streamed):
            return _error_response(step.status, step.error_type, step.message, step.retry_after)
        message = self._answer(body, step)
        events = list(_events(message))
        if step.status != 200:
            failure = {"type": step.error_type, "message": step.message}
            # Text scripted with the error streams first: a model that fails midway.
            written = [e for e in events if e.get("delta", {}).get("type") == "text_delta"]
            opened = events[1:2] if written else []
            events = [events[0], *opened, *written, {"type": "error", "error": failure}]
        request_id = {"request-id": f"req_{secrets.token_hex(12)}"}
        if streamed:
            return StreamingResponse(
                _sse(events, step.pace),
                media_type="text/event-stream; charset=utf-8",
                headers={**request_id, "cache-control": "no-cache"},
            )
        return JSONResponse(message, headers=request_id)

    def _answer(self, body: dict[str, Json], step: Step) -> dict[str, Json]:
        content: list[Json] = [{"type": "text", "text": step.text}] if step.text else []
        for name, arguments in step.tools:
            tool_id, caller = f"toolu_{secrets.token_hex(12)}", {"type": "direct"}
            call = {"type": "tool_use", "id": tool_id, "name": name, "input": arguments}
            content.append(call | {"caller": caller})
        content = content or [{"type": "text", "text": ""}]
        fresh, written, read = self._cache.account(body)
        return {
            "model": body["model"],
            "id": f"msg_{secrets.token_hex(12)}",
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": "tool_use" if step.tools else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": fresh,
                "cache_creation_input_tokens": written,
                "cache_read_input_tokens": read,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": written,
                    "ephemeral_1h_input_tokens": 0,
                },
                "output_tokens": max(1, _estimate(_canonical(content))),
                "service_tier": "standard",
                "inference_geo": "not_available",
            },
        }


def _estimate(canonical: str) -> int:
    """The fake's token count of a canonical JSON text: ceil(characters / 4)."""
    return math.ceil(len(canonical) / 4)


def _canonical(value: Json) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _Cache:
    """Prompt-cache entries by hash of (model, prefix without cache_control markers)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def account(self, body: dict[str, Json]) -> tuple[int, int, int]:
        """(input, cache write, cache read) tokens of a request; stores what it writes."""
        model = str(body["model"])
        minimum = 2048 if "haiku" in model else 1024
        blocks = _blocks(body)
        marks = [i + 1 for i, b in enumerate(blocks) if b.get("cache_control")]
        # keys[n] and sizes[n] describe the prefix of the first n blocks; length is that of
        # its canonical JSON list, so sizes[n] is _estimate() of it.
        hasher, keys, sizes, length = hashlib.sha256(model.encode()), [""], [1], 2
        for n, block in enumerate(blocks, start=1):
            item = _canonical({k: v for k, v in block.items() if k != "cache_control"})
            hasher.update(item.encode() + b"\x00")
            length += len(item) + (n > 1)
            keys.append(hasher.hexdigest())
            sizes.append(math.ceil(length / 4))
        total, now = sizes[-1], self._clock()
        hits = {
            n
            for mark in marks
            for n in range(max(1, mark - LOOKBACK), mark + 1)
            if sizes[n] >= minimum and self._expiry.get(keys[n], 0.0) > now
        }
        read_at = max(hits, default=0)
        read = sizes[read_at] if read_at else 0
        last = marks[-1] if marks else 0
        written = sizes[last] - read if last > read_at and sizes[last] >= minimum else 0
        for n in [read_at, *marks]:
            if n and n >= read_at and sizes[n] >= minimum:
                self._expiry[keys[n]] = now + CACHE_TTL
        return total - read - written, written, read


def _blocks(body: dict[str, Json]) -> list[dict[str, Json]]:
    """Every cacheable block of a request, in cache order, tagged with where it sits."""
    out: list[dict[str, Json]] = [{"at": "tools", **t} for t in body.get("tools") or []]
    system = body.get("system") or []
    system = [{"type": "text", "text": system}] if isinstance(system, str) else system
    out += [{"at": "system", **b} for b in system]
    for message in body.get("messages") or []:
        content = message.get("content")
        content = [{"type": "text", "text": content}] if isinstance(content, str) else content
        out += [{"at": message.get("role"), **b} for b in content or []]
    return out


def _invalid(body: Json) -> str | None:
    """Why the API would answer 400 to this body, for the mistakes a provider can make."""
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not isinstance(body.get("max_tokens"), int):
        return "model: Field required; max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    asked: set[str] = set()
    for i, message in enumerate(messages):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        answered = [b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"]
        if set(answered) - asked:
            return f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks"
        if asked - set(answered):
            return f"messages.{i}: `tool_use` ids were found without `tool_result` blocks"
        if answered and any(b.get("type") != "tool_result" for b in blocks[: len(answered)]):
            return f"messages.{i}: tool_result blocks must come first in the content"
        asked = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    return None


def _error_response(
    status: int, type: str, message: str, retry_after: float | None = None
) -> JSONResponse:
    headers = {"request-id": f"req_{secrets.token_hex(12)}"}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    body = {"type": "error", "error": {"type": type, "message": message}}
    return JSONResponse(body | {"request_id": headers["request-id"]}, status, headers)


async def _sse(events: list[dict[str, Json]], pace: float = 0.0) -> AsyncIterator[bytes]:
    for data in events:
        if pace and data.get("delta", {}).get("type") == "text_delta":
            await asyncio.sleep(pace)
        yield f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _events(message: dict[str, Json]) -> Iterator[dict[str, Json]]:
    """The SSE events of a streamed answer, in the order the live API sends them."""
    usage = message["usage"]
    start = message | {"content": [], "stop_reason": None, "usage": usage | {"output_tokens": 1}}
    yield {"type": "message_start", "message": start}
    for index, block in enumerate(message["content"]):
        empty: dict[str, Json] = {"text": ""} if block["type"] == "text" else {"input": {}}
        yield {"type": "content_block_start", "index": index, "content_block": block | empty}
        if index == 0:
            yield {"type": "ping"}
        if block["type"] == "text":
            pieces = re.findall(r"\S+\s*|\s+", block["text"])
            deltas = [{"type": "text_delta", "text": p} for p in pieces]
        else:
            raw = json.dumps(block["input"])
            pieces = [""] + [raw[i : i + 8] for i in range(0, len(raw), 8)]
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in pieces]
        for delta in deltas:
            yield {"type": "content_block_delta", "index": index, "delta": delta}
        yield {"type": "content_block_stop", "index": index}
    counted = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {k: usage[k] for k in (*counted, "output_tokens")},
    }
    yield {"type": "message_stop"}
