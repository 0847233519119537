"""The model interface, and ``load_model``: a provider found by name, imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from equipage.errors import ConfigError
from equipage.llm.messages import Completion, Message, ToolSpec
from equipage.llm.options import ProviderOptions
from equipage.llm.providers import PROVIDERS

__all__ = ["ChatModel", "TextSink", "close_model", "load_model"]

#: Receives text deltas as a streaming model produces them (forwarded to the founder).
TextSink = Callable[[str], Awaitable[None]]


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: messages and tools in; content, tool calls and usage out."""

    name: str

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: TextSink | None = None,
    ) -> Completion:
        """Answer the conversation, possibly with tool calls.

        A provider that streams passes each text delta to ``on_text`` as it arrives; the
        returned Completion is the whole answer either way.
        """
        ...


async def close_model(model: ChatModel) -> None:
    """Close a model's connections if its provider holds any (``aclose``)."""
    closer = getattr(model, "aclose", None)
    if closer is not None:
        await closer()


def load_model(spec: str, options: ProviderOptions | None = None) -> ChatModel:
    """Build a model from a ``provider[:model]`` spec such as ``anthropic:claude-haiku-4-5``."""
    name, _, model_id = spec.partition(":")
    provider = PROVIDERS.get(name)
    if provider is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(f"unknown model provider {name!r} in {spec!r}; known providers: {known}")
    module_name, _, factory_name = provider.factory.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    model: ChatModel = factory(model_id, options or ProviderOptions())
    return model
