"""Telegram messages a person forwarded: someone else's words, with who wrote them.

A forwarded message carries ``forward_origin`` (Bot API 7.0 and later: a user, a user who
hides their account, a chat, or a channel), or the ``forward_*`` fields of older updates.
Its text or caption is the original author's, however it reached the bot: ``forward_of``
turns it into ``Forwarded`` so that it never counts as the person's own words.
"""

from __future__ import annotations

from typing import Any

from equipage.chat import Forwarded

__all__ = ["forward_of", "is_forward"]

_OLD_FIELDS = ("forward_from", "forward_from_chat", "forward_sender_name", "forward_date")


def is_forward(message: dict[str, Any]) -> bool:
    """True when the message was forwarded from elsewhere, whatever its origin."""
    return "forward_origin" in message or any(field in message for field in _OLD_FIELDS)


def forward_of(message: dict[str, Any], text: str, *, voice: bool = False) -> Forwarded | None:
    """``text`` (the message's text or caption) as someone else's; None when there is none.

    A forwarded ``voice`` note has no words yet: its Forwarded says who spoke, and
    ``channels.hearing`` puts the words it heard in it.
    """
    if not text and not voice:
        return None
    origin = message.get("forward_origin")
    if not isinstance(origin, dict):
        origin = _old_origin(message)
    kind = origin.get("type")
    author = None
    if kind == "user":
        author = _person(origin.get("sender_user"))
    elif kind == "hidden_user":
        author = str(origin.get("sender_user_name") or "").strip() or None
    elif kind in ("chat", "channel"):
        chat = origin.get("chat" if kind == "channel" else "sender_chat")
        author = _chat(chat) if isinstance(chat, dict) else None
    return Forwarded(
        text=text,
        kind="message" if "text" in message or not text else "caption",
        platform="Telegram",
        author=author,
        author_kind=kind if author and kind in ("user", "hidden_user", "chat", "channel") else None,
    )


def _old_origin(message: dict[str, Any]) -> dict[str, Any]:
    """The ``forward_origin`` that the fields of updates before Bot API 7.0 stand for."""
    if isinstance(message.get("forward_from"), dict):
        return {"type": "user", "sender_user": message["forward_from"]}
    chat = message.get("forward_from_chat")
    if isinstance(chat, dict):
        kind = "channel" if chat.get("type") == "channel" else "chat"
        return {"type": kind, "chat" if kind == "channel" else "sender_chat": chat}
    return {"type": "hidden_user", "sender_user_name": message.get("forward_sender_name")}


def _person(user: object) -> str | None:
    if not isinstance(user, dict):
        return None
    return " ".join(p for p in (_name(user), _handle(user)) if p) or None


def _chat(chat: dict[str, Any]) -> str | None:
    return str(chat.get("title") or "").strip() or _name(chat) or _handle(chat) or None


def _name(who: dict[str, Any]) -> str:
    parts = (who.get("first_name"), who.get("last_name"))
    return " ".join(str(p).strip() for p in parts if p).strip()


def _handle(who: dict[str, Any]) -> str:
    username = str(who.get("username") or "").strip()
    return f"@{username}" if username else ""
