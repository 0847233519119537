"""A scripted model for tests: answers from a list, records every call, can fail on cue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pydantic import JsonValue

from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec

__all__ = ["ScriptedModel", "call"]

Step = Completion | Exception | Callable[[Sequence[Message]], Completion]


def call(tool: str, call_id: str, /, **arguments: JsonValue) -> Completion:
    """A completion that asks for one tool call."""
    return Completion(
        tool_calls=(ToolCall(id=call_id, name=tool, arguments=dict(arguments)),),
        model="scripted",
        stop_reason="tool_use",
    )


class ScriptedModel:
    """Plays ``steps`` in order; an Exception step is raised, a callable is called."""

    name = "scripted"

    def __init__(self, steps: Sequence[Step], *, name: str = "scripted") -> None:
        self.name = name  # e.g. "anthropic:claude-sonnet-4-5" to be priced and budgeted
        self.steps = list(steps)
        self.calls: list[list[Message]] = []

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        self.calls.append(list(messages))
        if len(self.calls) > len(self.steps):
            raise AssertionError(
                f"scripted model called {len(self.calls)} times, script has {len(self.steps)}"
            )
        step = self.steps[len(self.calls) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step):
            return step(messages)
        return step
