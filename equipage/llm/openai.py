"""The ``openai`` provider: any OpenAI-compatible Chat Completions endpoint, the sovereign option.

Mistral (``https://api.mistral.ai/v1``), Scaleway Generative APIs
(``https://api.scaleway.ai/v1``), vLLM and Ollama all speak it: set OPENAI_BASE_URL.
Retries are the SDK's own: on 408, 409, 429 and 5xx, honouring ``retry-after`` up to two
minutes, at most ``max_retries`` times; this module maps messages and reads the stream.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import JsonValue

from equipage.errors import ConfigError, MissingExtraError, ModelError
from equipage.llm import pricing
from equipage.llm.base import TextSink
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec, Usage
from equipage.llm.options import ProviderOptions

if TYPE_CHECKING:
    from openai.types.chat import (
        ChatCompletionChunk,
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageParam,
    )

__all__ = ["DEFAULT_BASE_URL", "OpenAIModel"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY = "no-key"  # vLLM and Ollama ignore the key, but the SDK insists on one


class OpenAIModel:
    """A model behind an OpenAI-compatible endpoint, always streamed."""

    def __init__(self, model_id: str, options: ProviderOptions) -> None:
        try:
            import openai
        except ImportError as err:
            raise MissingExtraError("the openai model provider", "openai") from err
        if not model_id:
            raise ConfigError("name the model after 'openai:', e.g. openai:mistral-small-latest")
        base_url = options.openai_base_url or DEFAULT_BASE_URL
        self._host = urlsplit(base_url).hostname or base_url
        key = options.openai_api_key or (_NO_KEY if _is_local(self._host) else None)
        if key is None:
            raise ConfigError(
                f"the openai provider needs an API key for {self._host}: set OPENAI_API_KEY. "
                "For another OpenAI-compatible endpoint also set OPENAI_BASE_URL, e.g. "
                "https://api.mistral.ai/v1 (Mistral) or https://api.scaleway.ai/v1 (Scaleway).",
                field="OPENAI_API_KEY",
            )
        self.name = f"openai:{model_id}"
        self.model_id = model_id
        self._key = key
        self._options = options
        self._openai = openai
        # base_url is always given: the SDK would otherwise read OPENAI_BASE_URL itself.
        self._client = openai.AsyncOpenAI(
            api_key=key, base_url=base_url, timeout=options.timeout, max_retries=options.max_retries
        )

    def __repr__(self) -> str:
        return f"OpenAIModel({self.model_id!r}, host={self._host!r})"

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
        openai, answer = self._openai, _Answer()
        try:
            # max_tokens, not max_completion_tokens: Mistral, Scaleway, vLLM and Ollama all
            # take it, and only OpenAI's own reasoning models refuse it.
            stream = await self._client.chat.completions.create(
                model=self.model_id,
                messages=[_message(m) for m in messages],
                tools=[_tool(t) for t in tools] if tools else openai.omit,
                max_tokens=self._options.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            # The SDK's timeout bounds each read; this bounds a stream that trickles forever.
            async with asyncio.timeout(self._options.timeout), stream:
                async for chunk in stream:
                    await answer.add(chunk, on_text)
        except openai.APIStatusError as err:
            raise ModelError(self._explain(err.status_code, _server_message(err))) from err
        except (openai.APITimeoutError, TimeoutError) as err:
            raise ModelError(
                f"{self.name} at {self._host} did not answer within {self._options.timeout:g}s; "
                "check that the endpoint is up, then try again."
            ) from err
        except openai.APIConnectionError as err:
            raise ModelError(
                f"could not reach {self._host} for {self.name}; check OPENAI_BASE_URL and the "
                "network, then try again."
            ) from err
        except openai.APIError as err:  # an error event in the middle of the stream
            raise ModelError(
                f"{self.name} failed while answering: {self._redact(err.message)}. Try again."
            ) from err
        usage = Usage(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens)
        return Completion(
            content="".join(answer.text),
            tool_calls=tuple(call.finish(i) for i, call in enumerate(answer.calls)),
            usage=usage.model_copy(update={"cost": pricing.cost(self.name, usage)}),
            model=answer.model or self.model_id,
            stop_reason=answer.stop_reason,
        )

    def _explain(self, status: int, detail: str) -> str:
        said = f"{self._host} answered {status} to {self.name}: {self._redact(detail).rstrip('. ')}"
        if status in (401, 403):
            return (
                f"{said}. Check OPENAI_API_KEY, and OPENAI_BASE_URL if the key is for another host."
            )
        if status == 404:
            return f"{said}. Check the model name after 'openai:' and OPENAI_BASE_URL."
        if status in (408, 409, 429) or status >= 500:
            retries = self._options.max_retries
            return f"{said} ({retries} retries allowed). Wait a minute, then try again."
        return f"{said}. The endpoint refused the request."

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***")


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""

    def finish(self, index: int) -> ToolCall:
        try:
            parsed = json.loads(self.arguments or "{}")
        except ValueError:
            parsed = None
        # A model may write broken JSON: the tool layer reports it instead of this crashing.
        arguments: dict[str, JsonValue] = (
            parsed if isinstance(parsed, dict) else {"_raw": self.arguments}
        )
        return ToolCall(id=self.id or f"call_{index}", name=self.name, arguments=arguments)


class _Answer:
    """What the stream said so far; tool calls accumulate by their index."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: list[_PartialCall] = []
        self._slots: dict[int | None, int] = {}  # index on the wire -> its latest call
        self.input_tokens = self.output_tokens = 0
        self.model = self.stop_reason = ""

    async def add(self, chunk: ChatCompletionChunk, on_text: TextSink | None) -> None:
        self.model = chunk.model or self.model
        if chunk.usage is not None:  # some compatible servers never send it: usage stays 0
            self.input_tokens = chunk.usage.prompt_tokens
            self.output_tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:  # one: we never ask for n > 1
            self.stop_reason = choice.finish_reason or self.stop_reason
            if choice.delta.content:
                self.text.append(choice.delta.content)
                if on_text is not None:
                    await on_text(choice.delta.content)
            for delta in choice.delta.tool_calls or ():
                # Some servers omit the index (None) or send 0 for every call (Ollama did
                # both): a new id under a known index starts a new call.
                slot = self._slots.get(delta.index)
                if slot is None or (delta.id and self.calls[slot].id not in ("", delta.id)):
                    slot = self._slots[delta.index] = len(self.calls)
                    self.calls.append(_PartialCall())
                call = self.calls[slot]
                call.id = delta.id or call.id
                if delta.function is not None:
                    call.name = call.name or delta.function.name or ""
                    call.arguments += delta.function.arguments or ""


def _is_local(host: str) -> bool:
    """Self-hosted servers (Ollama, vLLM) here, on a compose network or a LAN need no key."""
    try:
        return ipaddress.ip_address(host).is_private  # loopback included
    except ValueError:
        return host == "localhost" or host.endswith(".localhost") or "." not in host


def _server_message(err: Exception) -> str:
    body = getattr(err, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or err)


def _message(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "user":
        return {"role": "user", "content": message.content}
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or "",
            "content": message.content,
        }
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content}
    return {
        "role": "assistant",
        "content": message.content or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments(call)},
            }
            for call in message.tool_calls
        ],
    }


def _arguments(call: ToolCall) -> str:
    raw = call.arguments.get("_raw")
    # Give back what the model wrote when it was not JSON, rather than our wrapper.
    if isinstance(raw, str) and len(call.arguments) == 1:
        return raw
    return json.dumps(call.arguments, ensure_ascii=False)


def _tool(tool: ToolSpec) -> ChatCompletionFunctionToolParam:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": dict(tool.parameters),
        },
    }
