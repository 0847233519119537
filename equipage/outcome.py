"""What a tool call gives back to the runtime: a text for the model and effects to commit.

Its own module because both the crew's tools (``equipage.tools``) and the tools of MCP
servers (``equipage.mcp``) answer with it, and the toolbox dispatches to MCP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from equipage.envelope import Envelope

__all__ = ["ToolOutcome"]


@dataclass
class ToolOutcome:
    text: str
    envelopes: list[Envelope] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)
    untrusted: bool = False  # the result carries content from outside
