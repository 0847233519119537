"""Slack's side of an Outgoing: escaped text cut under Slack's limits, Block Kit buttons.

``posts`` gives the ``chat.postMessage`` arguments for one message: plain text in pieces
of at most 40,000 characters, or, for a question, section blocks of at most 3,000
characters with the Approve and Reject buttons on the last message. Once the question is
answered, ``update`` gives the ``chat.update`` arguments that put a context line saying
who decided in place of the buttons of the message they were ``pressed`` on.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from channels import delivery
from channels.delivery import Break
from channels.wording import words_for
from equipage.chat import Outgoing

__all__ = ["MAX_SECTION", "MAX_TEXT", "Pressed", "posts", "pressed", "split", "update"]

MAX_TEXT = 40_000  # chat.postMessage truncates text longer than this
MAX_SECTION = 3_000  # a section block's text may not be longer
_SECTIONS = MAX_TEXT // MAX_SECTION  # per message, so the fallback text fits too


def split(text: str, limit: int) -> list[str]:
    """Cut escaped ``text`` into non-blank pieces of at most ``limit`` characters.

    Cuts at a line break or a space when there is one, and never inside an entity (&amp;).
    """
    return delivery.split(text, limit, (Break(("\n", " "), limit // 4),), fallback=_before_entity)


def _before_entity(head: str) -> int:
    """How much of ``head`` to keep so that it does not end inside an entity (&amp;)."""
    amp = head.rfind("&", max(len(head) - 4, 0))
    return amp if amp > 0 and ";" not in head[amp:] else len(head)


def _escape(text: str) -> str:
    # Slack reads <...> as links and mentions; the crew's text is plain.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def posts(message: Outgoing) -> list[dict[str, Any]]:
    """chat.postMessage arguments for ``message``: text, or sections then the buttons."""
    text = _escape(message.text)
    if message.question is None:
        return [{"text": piece} for piece in split(text, MAX_TEXT)]
    sections = split(text, MAX_SECTION) or [_escape(message.question.text) or "?"]
    groups = [sections[i : i + _SECTIONS] for i in range(0, len(sections), _SECTIONS)]
    qid = message.question.id
    yes, no = words_for(message).labels(message.question.topic)
    buttons = {
        "type": "actions",
        "elements": [
            _button(yes, "approve", "primary", f"approve:{qid}"),
            _button(no, "reject", "danger", f"reject:{qid}"),
        ],
    }
    calls = []
    for number, group in enumerate(groups, start=1):
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in group
        ]
        if number == len(groups):
            blocks.append(buttons)
        calls.append({"text": "".join(group), "blocks": blocks})
    return calls


class Pressed(BaseModel):
    """The message whose Approve or Reject button was pressed, from the block_actions payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    ts: str
    question: str
    text: str
    blocks: tuple[dict[str, JsonValue], ...]


def pressed(payload: dict[str, Any]) -> Pressed | None:
    """The pressed message of a block_actions payload, when it is one of our questions."""
    if payload.get("type") != "block_actions":
        return None
    try:
        action = (payload.get("actions") or [{}])[0]
        verb, _, question = str(action.get("value") or "").partition(":")
        container = payload.get("container") or {}
        message = payload.get("message") or {}
        channel = container.get("channel_id") or (payload.get("channel") or {}).get("id")
        ts = container.get("message_ts") or message.get("ts")
        if verb not in ("approve", "reject") or not question or not channel or not ts:
            return None
        # No blocks given (an ephemeral message, a trimmed payload): nothing to rebuild.
        blocks = message.get("blocks")
        if not isinstance(blocks, list):
            return None
        text = str(message.get("text") or "")
        return Pressed(channel=channel, ts=ts, question=question, text=text, blocks=blocks)
    except (AttributeError, TypeError, ValueError):  # malformed: no message to mark
        return None


def update(message: Pressed, line: str) -> dict[str, Any] | None:
    """chat.update arguments: ``message`` with a context ``line`` in place of its buttons.

    None when the message holds none of the question's buttons (nothing to replace).
    """
    ours = {f"{verb}:{message.question}" for verb in ("approve", "reject")}
    marked = {"type": "context", "elements": [{"type": "plain_text", "text": line}]}
    blocks = [marked if _holds(block, ours) else block for block in message.blocks]
    if marked not in blocks:
        return None
    # The text is the notification's and the fallback's: the question, then the verdict.
    text = f"{message.text}\n\n{_escape(line)}" if message.text else _escape(line)
    return {"channel": message.channel, "ts": message.ts, "text": text, "blocks": blocks}


def _holds(block: dict[str, JsonValue], values: set[str]) -> bool:
    elements = block.get("elements")
    if block.get("type") != "actions" or not isinstance(elements, list):
        return False
    return any(isinstance(e, dict) and e.get("value") in values for e in elements)


def _button(label: str, action: str, style: str, value: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": label}
    return {"type": "button", "text": text, "action_id": action, "style": style, "value": value}
