"""The ``anthropic`` provider: Claude through the official SDK, always streamed, with prompt
caching on the stable prefix and retries that honour ``retry-after``.

Retries are this module's own loop, not the SDK's (the client gets ``max_retries=0``):
anthropic 2.12 waits exactly what ``retry-after`` says, however long (up to ~50 days),
with no jitter, and cannot retry an ``error`` event that arrives inside a stream. Here a
retryable failure (429, 529, other 5xx, a timeout, a lost connection; ``x-should-retry``
overrides) waits ``retry-after`` (else 0.5 s doubling up to 8 s) plus up to 25% jitter,
at most ``max_retries`` times. An answer whose text already reached ``on_text`` is never
retried, and a ``retry-after`` over :data:`MAX_WAIT` fails at once, naming the wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from equipage.errors import ConfigError, MissingExtraError, ModelError
from equipage.llm import deprecation, pricing
from equipage.llm.base import TextSink
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, Usage
from equipage.llm.options import ProviderOptions

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import (
        MessageParam,
        TextBlockParam,
        ToolParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )

    Block: TypeAlias = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam

__all__ = ["DEFAULT_BASE_URL", "MAX_WAIT", "AnthropicModel"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
MAX_WAIT = 60.0  # seconds: the longest retry-after worth holding a worker for
_TRANSIENT = ("rate_limit_error", "overloaded_error", "api_error")  # also as stream events
log = logging.getLogger(__name__)


class AnthropicModel:
    """Claude behind the Messages API, streamed, with the conversation prefix cached."""

    def __init__(self, model_id: str, options: ProviderOptions) -> None:
        try:
            import anthropic
        except ImportError as err:
            raise MissingExtraError("the anthropic model provider", "anthropic") from err
        if not model_id:
            raise ConfigError("name the model after 'anthropic:', e.g. anthropic:claude-sonnet-4-5")
        if not options.anthropic_api_key:
            raise ConfigError(
                "the anthropic provider needs an API key: set ANTHROPIC_API_KEY (create one at "
                "https://console.anthropic.com), or use the offline model.",
                field="ANTHROPIC_API_KEY",
            )
        self.name = f"anthropic:{model_id}"
        self.model_id = model_id
        self._key = options.anthropic_api_key
        self._options = options
        self._anthropic = anthropic
        # base_url is always given: the SDK would otherwise read ANTHROPIC_BASE_URL itself.
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key,
            base_url=options.anthropic_base_url or DEFAULT_BASE_URL,
            timeout=options.timeout,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"AnthropicModel({self.model_id!r}, base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: TextSink | None = None,
    ) -> Completion:
        system, turns = _to_api(messages)
        specs = _tools(tools)
        if not self._options.prompt_caching:
            _drop_cache_control(system, turns, specs)
        anthropic = self._anthropic
        for attempt in range(1, self._options.max_retries + 2):
            streamed = False
            # Built apart from the request it sends, so a deprecation warning the SDK
            # raises here is caught in synchronous code, never across an await.
            manager = deprecation.logged(
                lambda: self._client.messages.stream(
                    model=self.model_id,
                    max_tokens=self._options.max_tokens,
                    system=system or anthropic.omit,
                    messages=turns,
                    tools=specs or anthropic.omit,
                ),
                vendor="Anthropic",
                model_id=self.model_id,
                log=log,
            )
            try:
                # The SDK's timeout bounds each read; this bounds a stream that trickles.
                async with asyncio.timeout(self._options.timeout), manager as stream:
                    async for delta in stream.text_stream:
                        if on_text is not None:
                            streamed = True
                            await on_text(delta)
                    final = await stream.get_final_message()
                return self._completion(final)
            except (anthropic.APIError, TimeoutError) as err:
                wait = None if streamed else self._retry_wait(err, attempt)
                if wait is None or wait > MAX_WAIT or attempt > self._options.max_retries:
                    raise ModelError(self._explain(err, attempt, wait)) from err
                wait *= 1 + 0.25 * random.random()  # jitter, never shorter than asked
                log.info("%s: %s; retry %d in %.2f s", self.name, type(err).__name__, attempt, wait)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _completion(self, final: anthropic.types.Message) -> Completion:
        text = "".join(block.text for block in final.content if block.type == "text")
        calls = tuple(
            ToolCall.model_validate({"id": b.id, "name": b.name, "arguments": b.input})
            for b in final.content
            if b.type == "tool_use"
        )
        u = final.usage
        usage = Usage(
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_input_tokens or 0,
            cache_write_tokens=u.cache_creation_input_tokens or 0,
        )
        return Completion(
            content=text,
            tool_calls=calls,
            usage=usage.model_copy(update={"cost": pricing.cost(self.name, usage)}),
            model=f"anthropic:{final.model}",
            stop_reason=final.stop_reason or "",
        )

    def _retry_wait(self, err: Exception, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None if ``err`` is not worth retrying."""
        backoff = min(0.5 * 2.0 ** (attempt - 1), 8.0)
        if isinstance(err, self._anthropic.APIStatusError):
            should = err.response.headers.get("x-should-retry")
            transient = err.status_code in (429, 529) or err.status_code >= 500
            if should == "false" or not (should == "true" or transient or err.type in _TRANSIENT):
                return None
            return _retry_after(err.response.headers) or backoff
        if isinstance(err, self._anthropic.APIConnectionError | TimeoutError):
            return backoff
        return None  # e.g. a malformed stream: the same request would fail the same way

    def _explain(self, err: Exception, attempts: int, wait: float | None) -> str:
        tries = f"after {attempts} attempt{'s' * (attempts > 1)}"
        if isinstance(err, self._anthropic.APIStatusError):
            # An error event inside a stream arrives on a 200 response: only its type counts.
            code = f"{err.status_code} " if err.status_code != 200 else ""
            said = f"{self.name} answered {code}{err.type or 'an error'} {tries}"
            detail = self._redact(err.api_message or "")
            said = f"{said}: {detail.rstrip('.')}" if detail else said
            return f"{said}. {_advice(err.status_code, err.type or '', wait, self.name)}"
        if isinstance(err, TimeoutError | self._anthropic.APITimeoutError):
            return (
                f"{self.name} did not answer within {self._options.timeout:g} s {tries}; try "
                "again, or raise the model timeout if long answers are expected."
            )
        if isinstance(err, self._anthropic.APIConnectionError):
            return (
                f"could not reach {self._client.base_url} for {self.name} {tries}; check the "
                "network (and ANTHROPIC_BASE_URL if set), then try again."
            )
        return f"{self.name} failed while answering {tries}: {self._redact(str(err))}. Try again."

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***")


def _advice(status: int, kind: str, wait: float | None, name: str) -> str:
    if wait is not None and wait > MAX_WAIT:
        return f"It asked to wait {wait:.0f} s, longer than Equipage waits; try again later."
    if status == 401:
        return "The API key was refused: check ANTHROPIC_API_KEY."
    if status in (403, 404):
        return f"Check that your Anthropic account can use the model in {name!r}."
    if status == 429 or kind == "rate_limit_error":
        return "You hit a rate limit: wait a minute, run fewer roles at once, or raise your limit."
    if status == 529 or kind == "overloaded_error":
        return (
            "Anthropic is overloaded: try again in a few minutes, or give the role another model."
        )
    if status >= 500 or kind == "api_error":
        return "Anthropic had an internal error: try again later (https://status.anthropic.com)."
    return "The request was refused; if it persists, report it with this message."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a response asks for: retry-after-ms, then retry-after in seconds or as a date."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(float(headers[name]) * scale, 0.0)
        except (KeyError, ValueError):
            continue
    when = email.utils.parsedate_tz(headers.get("retry-after", ""))
    return max(email.utils.mktime_tz(when) - time.time(), 0.0) if when else None


def _to_api(messages: Sequence[Message]) -> tuple[list[TextBlockParam], list[MessageParam]]:
    """System blocks and Messages API turns, with cache breakpoints on the stable prefix."""
    system: list[TextBlockParam] = [
        {"type": "text", "text": m.content} for m in messages if m.role == "system" and m.content
    ]
    turns: list[tuple[str, list[Block]]] = []
    for m in messages:
        blocks: list[Block] = []
        if m.role == "tool":
            blocks.append(
                {"type": "tool_result", "tool_use_id": m.tool_call_id or "", "content": m.content}
            )
        elif m.role in ("user", "assistant") and m.content:
            blocks.append({"type": "text", "text": m.content})
        for c in m.tool_calls:
            arguments: dict[str, object] = dict(c.arguments)
            blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": arguments})
        if not blocks:
            continue  # a system message, or an empty turn the API would refuse
        role = "assistant" if m.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    for _, blocks in turns:  # the API wants tool results first in a user turn
        blocks.sort(key=lambda b: b["type"] != "tool_result")
    if system:
        system[-1]["cache_control"] = {"type": "ephemeral"}
    if turns:
        turns[-1][1][-1]["cache_control"] = {"type": "ephemeral"}
    return system, [_turn(role, blocks) for role, blocks in turns]


def _turn(role: str, blocks: list[Block]) -> MessageParam:
    if role == "assistant":
        return {"role": "assistant", "content": blocks}
    return {"role": "user", "content": blocks}


def _tools(tools: Sequence[ToolSpec]) -> list[ToolParam]:
    specs: list[ToolParam] = [
        {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
        for t in tools
    ]
    if specs:
        specs[-1]["cache_control"] = {"type": "ephemeral"}
    return specs


def _drop_cache_control(system: list[Any], turns: list[Any], specs: list[Any]) -> None:
    """Remove the cache breakpoints, for a run without prompt caching."""
    blocks = [*system, *specs]
    for turn in turns:
        content = turn["content"]
        blocks.extend(content if isinstance(content, list) else [])
    for block in blocks:
        block.pop("cache_control", None)
