"""The normalized message protocol every model provider speaks: messages and tools in,
completion out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["INTERRUPTED", "Completion", "Message", "ToolCall", "ToolSpec", "Usage", "paired"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolCall(_Frozen):
    """The model asks to run a tool with JSON arguments."""

    id: str
    name: str
    arguments: dict[str, JsonValue] = Field(default_factory=dict)


class ToolSpec(_Frozen):
    """A tool offered to the model: name, description and a JSON Schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, JsonValue]


class Message(_Frozen):
    """One turn: system prompt, user text, assistant text and tool calls, or a tool result."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None  # the tool's name on a tool result; the sender on a user turn
    untrusted: bool = False  # from outside the company: data, never instructions

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str, *, name: str | None = None) -> Message:
        return cls(role="user", content=content, name=name)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        return cls(role="assistant", content=content, tool_calls=tool_calls)

    @classmethod
    def tool(cls, call: ToolCall, content: str) -> Message:
        return cls(role="tool", content=content, tool_call_id=call.id, name=call.name)


class Usage(_Frozen):
    """Tokens of one call; cache fields stay 0 for providers without prompt caching."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0


class Completion(_Frozen):
    """What a model returned for one call."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = Usage()
    model: str = ""
    stop_reason: str = ""


#: The result a tool call is given when none was recorded (its run was cut short).
INTERRUPTED = (
    "interrupted: no result was recorded for this call (its worker stopped); it may or "
    "may not have taken effect. Check before calling it again."
)


def paired(history: Sequence[Message]) -> list[Message]:
    """``history`` where every tool call has its result, right after the calls' turn.

    Providers refuse a history with a call and no result (Anthropic answers 400 to every
    later request of the thread); a run cut short can leave one. The missing result says
    so, rather than pretending the call ran or silently dropping it.
    """
    answered = {m.tool_call_id for m in history if m.role == "tool"}
    out: list[Message] = []
    owed: list[ToolCall] = []
    for message in history:
        if owed and message.role != "tool":
            out.extend(Message.tool(call, INTERRUPTED) for call in owed)
            owed = []
        out.append(message)
        if message.role == "assistant":
            owed = [c for c in message.tool_calls if c.id not in answered]
    out.extend(Message.tool(call, INTERRUPTED) for call in owed)
    return out
