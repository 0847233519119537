"""What a person is told when a model's turn ends without a word for them.

A model may finish a turn with empty text: after tools whose results it saw fit to leave
unsaid, or with nothing done at all. Silence reads as a crew that lost the message, so
the thread says what it did instead (the tools it called in this turn, in order, each
once with how many times), or that it did nothing, in the person's language.
"""

from __future__ import annotations

from collections.abc import Sequence

from equipage.language import pick
from equipage.llm.messages import Message

__all__ = ["tools_called", "unsaid"]

_DID = {
    "en": "I finished without writing an answer. What I did: {done}.",
    "fr": "J'ai terminé sans rédiger de réponse. Ce que j'ai fait : {done}.",
}
_NOTHING = {
    "en": (
        "I finished without writing an answer, and without doing anything. "
        "Ask again, perhaps more precisely."
    ),
    "fr": (
        "J'ai terminé sans rédiger de réponse, et sans rien faire. "
        "Redemandez, peut-être plus précisément."
    ),
}


def tools_called(messages: Sequence[Message]) -> list[tuple[str, int]]:
    """The tools called since the last words a person or role sent, with their counts."""
    start = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1) + 1
    counts: dict[str, int] = {}
    for message in messages[start:]:
        for call in message.tool_calls:
            counts[call.name] = counts.get(call.name, 0) + 1
    return list(counts.items())


def unsaid(messages: Sequence[Message], language: str | None) -> str:
    """The reply for a turn that ended with empty text: what was done, or that nothing was."""
    done = tools_called(messages)
    if not done:
        return pick(language, _NOTHING["en"], _NOTHING["fr"])
    listed = ", ".join(name if count == 1 else f"{name} ×{count}" for name, count in done)
    return pick(language, _DID["en"], _DID["fr"]).format(done=listed)
