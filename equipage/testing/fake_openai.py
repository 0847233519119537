"""A fake OpenAI-compatible Chat Completions server on 127.0.0.1, for the real SDK.

Tests push scripted steps (text, tool calls, errors, delays); the server answers with
real HTTP, JSON or server-sent events, and records every request it receives::

    async with FakeOpenAI() as fake:
        fake.push_text("Bon", "jour")
        client = openai.AsyncOpenAI(base_url=fake.url, api_key="test")

``RecordedRequest.messages`` reads a request's messages as typed values.

Simplifications: one choice per answer, no logprobs, token counts are scripted, not
computed; only ``POST /v1/chat/completions`` exists. ``tool_call_indexes`` mimics servers
that omit the index of streamed tool calls or send 0 for all of them (Ollama did both).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, NotRequired

from pydantic import ConfigDict, JsonValue, TypeAdapter, with_config
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

# pydantic validates typing.TypedDict only from Python 3.12; typing_extensions comes with it.
from typing_extensions import TypedDict

from equipage.testing.fake_server import FakeServer

__all__ = ["ChatMessage", "FakeCall", "FakeOpenAI", "RecordedRequest", "SentToolCall"]

Json = dict[str, JsonValue]
_ERROR_TYPES = {404: "not_found", 429: "rate_limit_exceeded"}  # else by status class


@dataclass(frozen=True)
class FakeCall:
    """A tool call the fake model makes; ``arguments`` is sent verbatim, valid JSON or not."""

    name: str
    arguments: str = "{}"
    id: str = ""
    pieces: int = 3  # streamed arguments arrive split in this many deltas


# A request's messages as the client sends them; extra keys are kept, not dropped.
@with_config(ConfigDict(extra="allow"))
class _Function(TypedDict):
    name: str
    arguments: str  # JSON text, as the model wrote it


@with_config(ConfigDict(extra="allow"))
class SentToolCall(TypedDict):
    """A tool call of an assistant message sent back to the server."""

    id: str
    type: Literal["function"]
    function: _Function


@with_config(ConfigDict(extra="allow"))
class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[JsonValue] | None  # text, or parts
    tool_calls: NotRequired[list[SentToolCall]]
    tool_call_id: NotRequired[str]


_MESSAGES = TypeAdapter(list[ChatMessage])


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: monotonic time, JSON body, whether a bearer token came."""

    at: float
    body: Json
    authorized: bool

    @property
    def messages(self) -> list[ChatMessage]:
        """The ``messages`` of the body, checked and typed."""
        return _MESSAGES.validate_python(self.body["messages"])


@dataclass(frozen=True)
class _Reply:
    pieces: tuple[str, ...]
    calls: tuple[FakeCall, ...]
    usage: tuple[int, int] | None
    finish_reason: str


@dataclass(frozen=True)
class _Error:
    status: int
    message: str
    retry_after: float | None


@dataclass(frozen=True)
class _Delay:
    seconds: float


_Step = _Reply | _Error | _Delay


class FakeOpenAI(FakeServer):
    """Serves scripted answers in order; answers ``default_text`` once the script is empty."""

    def __init__(
        self,
        default_text: str = "(fake openai: nothing scripted)",
        *,
        tool_call_indexes: Literal["counted", "omitted", "zero"] = "counted",
    ) -> None:
        super().__init__()
        self.default_text = default_text
        self.tool_call_indexes = tool_call_indexes
        self.requests: list[RecordedRequest] = []
        self._steps: deque[_Step] = deque()

    @property
    def url(self) -> str:
        """The base URL to give the SDK, ending in ``/v1``."""
        return f"{self.origin}/v1"

    def push_text(self, *pieces: str, usage: tuple[int, int] | None = (11, 7)) -> None:
        """Answer with text streamed in these pieces; ``usage=None`` sends no usage at all."""
        self._steps.append(_Reply(pieces, (), usage, "stop"))

    def push_tool_calls(
        self, *calls: FakeCall, text: str = "", usage: tuple[int, int] | None = (11, 7)
    ) -> None:
        """Answer with these tool calls (in parallel), after optional text."""
        numbered = tuple(
            call if call.id else FakeCall(call.name, call.arguments, f"call_{i}", call.pieces)
            for i, call in enumerate(calls)
        )
        self._steps.append(_Reply((text,) if text else (), numbered, usage, "tool_calls"))

    def push_error(self, status: int, message: str, *, retry_after: float | None = None) -> None:
        """Answer the next request with an OpenAI-style error body and status."""
        self._steps.append(_Error(status, message, retry_after))

    def push_delay(self, seconds: float) -> None:
        """Wait this long before answering the next request (with the step after this one)."""
        self._steps.append(_Delay(seconds))

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/chat/completions", self._chat, methods=["POST"])]

    async def _chat(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        authorized = scheme.lower() == "bearer" and bool(token.strip())
        body: Json = await request.json()
        self.requests.append(RecordedRequest(time.monotonic(), body, authorized))
        if not authorized:
            return _error(_Error(401, "You didn't provide an API key.", None))
        step = self._next()
        if isinstance(step, _Delay):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), step.seconds)
            step = self._next()
        if isinstance(step, _Error):
            return _error(step)
        assert isinstance(step, _Reply)
        model = str(body.get("model", ""))
        if not body.get("stream"):
            return JSONResponse(_completion(step, model))
        options = body.get("stream_options")
        usage = isinstance(options, dict) and options.get("include_usage") is True
        events = _chunks(step, model, with_usage=usage, indexes=self.tool_call_indexes)
        return StreamingResponse(events, media_type="text/event-stream")

    def _next(self) -> _Step:
        if self._steps:
            return self._steps.popleft()
        return _Reply((self.default_text,), (), (11, 7), "stop")


def _error(step: _Error) -> JSONResponse:
    fallback = "server_error" if step.status >= 500 else "invalid_request_error"
    kind = _ERROR_TYPES.get(step.status, fallback)
    headers = {} if step.retry_after is None else {"retry-after": f"{step.retry_after:g}"}
    body = {"error": {"message": step.message, "type": kind, "param": None, "code": kind}}
    return JSONResponse(body, status_code=step.status, headers=headers)


def _usage(usage: tuple[int, int]) -> Json:
    return {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}


def _completion(step: _Reply, model: str) -> Json:
    message: Json = {"role": "assistant", "content": "".join(step.pieces) or None}
    if step.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in step.calls
        ]
    choice: Json = {"index": 0, "message": message, "finish_reason": step.finish_reason}
    answer: Json = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time())}
    answer |= {"model": model, "choices": [choice]}
    if step.usage is not None:
        answer["usage"] = _usage(step.usage)
    return answer


async def _chunks(
    step: _Reply, model: str, *, with_usage: bool, indexes: str
) -> AsyncIterator[str]:
    head: Json = {"id": "chatcmpl-fake", "object": "chat.completion.chunk"}
    head |= {"created": int(time.time()), "model": model}

    def event(delta: Json, finish: str | None = None) -> str:
        choice: Json = {"index": 0, "delta": delta, "finish_reason": finish}
        return f"data: {json.dumps(head | {'choices': [choice]})}\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in step.pieces:
        yield event({"content": piece})
    for number, call in enumerate(step.calls):
        index: Json = (
            {} if indexes == "omitted" else {"index": number if indexes == "counted" else 0}
        )
        function: Json = {"name": call.name, "arguments": ""}
        yield event(
            {"tool_calls": [index | {"id": call.id, "type": "function", "function": function}]}
        )
        size = max(1, -(-len(call.arguments) // max(1, call.pieces)))
        for start in range(0, len(call.arguments), size):
            part: Json = {"arguments": call.arguments[start : start + size]}
            yield event({"tool_calls": [index | {"function": part}]})
    yield event({}, step.finish_reason)
    if with_usage and step.usage is not None:
        yield f"data: {json.dumps(head | {'choices': [], 'usage': _usage(step.usage)})}\n\n"
    yield "data: [DONE]\n\n"
