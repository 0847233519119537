"""Slack's side of an Outgoing: escaped text cut under Slack's limits, Block Kit buttons.

``posts`` gives the ``chat.postMessage`` arguments for one message: plain text in pieces
of at most 40,000 characters, or, for a question, section blocks of at most 3,000
characters with the Approve and Reject buttons on the last message.
"""

from __future__ import annotations

from typing import Any

from equipage.chat import Outgoing

__all__ = ["MAX_SECTION", "MAX_TEXT", "posts", "split"]

MAX_TEXT = 40_000  # chat.postMessage truncates text longer than this
MAX_SECTION = 3_000  # a section block's text may not be longer
_SECTIONS = MAX_TEXT // MAX_SECTION  # per message, so the fallback text fits too
_BUTTONS = {"budget": ("Resume", "Stop")}


def split(text: str, limit: int) -> list[str]:
    """Cut escaped ``text`` into non-blank pieces of at most ``limit`` characters.

    Cuts at a line break or a space when there is one, and never inside an entity (&amp;).
    """
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", limit // 4, limit), text.rfind(" ", limit // 4, limit)) + 1
        if cut <= 0:
            amp = text.rfind("&", limit - 4, limit)
            cut = amp if amp > 0 and ";" not in text[amp:limit] else limit
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return [piece for piece in pieces if piece.strip()]


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
    yes, no = _BUTTONS.get(message.question.topic, ("Approve", "Reject"))
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


def _button(label: str, action: str, style: str, value: str) -> dict[str, Any]:
    text = {"type": "plain_text", "text": label}
    return {"type": "button", "text": text, "action_id": action, "style": style, "value": value}
