"""The model interface and the registry that finds a provider by name, importing it lazily."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from equipage.errors import ConfigError
from equipage.llm.messages import Completion, Message, ToolSpec

__all__ = ["PROVIDERS", "ChatModel", "load_model"]


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: messages and tools in; content, tool calls and usage out."""

    name: str

    async def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Completion:
        """Answer the conversation, possibly with tool calls."""
        ...


#: provider name -> "module:factory"; factories take the model id after the colon.
PROVIDERS: dict[str, str] = {
    "offline": "equipage.llm.offline:OfflineModel",
}


def load_model(spec: str) -> ChatModel:
    """Build a model from a ``provider[:model]`` spec such as ``offline``."""
    provider, _, model_id = spec.partition(":")
    target = PROVIDERS.get(provider)
    if target is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(
            f"unknown model provider {provider!r} in {spec!r}; known providers: {known}"
        )
    module_name, _, factory_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), factory_name)
    model: ChatModel = factory(model_id) if model_id else factory()
    return model
