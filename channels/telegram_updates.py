"""Telegram Updates read: what a person wrote, edited, sent as a file or pressed, as Incoming.

An Update arrives as the Bot API's JSON (a webhook body, or a polled ``Update.to_dict()``).
``incoming`` turns messages, edited messages, documents, voice notes (``Attachment.spoken``)
and approval-button presses into ``Incoming``; ``pressed`` finds the message whose button
was pressed, so the adapter can mark it answered. Anything else (joins, service messages,
malformed updates) is None; ``check_shape`` tells a webhook body of the wrong shape (a 400)
from one merely not for us, since polled updates come already parsed by python-telegram-bot
but webhooks do not. The text of a message the person forwarded is someone else's: it goes
in ``Incoming.forwarded`` (``channels.telegram_forwards``), never in their ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from channels.telegram_forwards import forward_of, is_forward
from equipage.chat import Attachment, Forwarded, Incoming
from equipage.httpserver import shaped

__all__ = ["ALLOWED_UPDATES", "Pressed", "check_shape", "incoming", "pressed"]

#: The updates the channel reads; Telegram sends no other kind to the webhook.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


class _Shape(BaseModel):
    # Strict: Telegram sends ids as numbers and texts as strings, never one for the other.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Id(_Shape):
    id: int


class _Document(_Shape):
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


class _Message(_Shape):
    message_id: int
    chat: _Id
    sender: _Id | None = Field(None, alias="from")
    text: str | None = None
    caption: str | None = None
    document: _Document | None = None
    voice: _Document | None = None  # file_name is absent there; the other fields match
    audio: _Document | None = None
    video_note: _Document | None = None
    message_thread_id: int | None = None
    is_topic_message: bool | None = None


class _Callback(_Shape):
    id: str
    sender: _Id = Field(alias="from")
    data: str | None = None
    message: _Message | None = None  # an inaccessible message still has these fields


class _Update(_Shape):
    """The fields of an Update the channel reads, as the Bot API types them."""

    update_id: int
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _Callback | None = None


def check_shape(update: dict[str, Any]) -> None:
    """Raise MalformedWebhook when a field the channel reads has the wrong type."""
    shaped(_Update, update)


def incoming(update: dict[str, Any]) -> Incoming | None:
    """The Incoming an Update stands for, or None for updates people did not write."""
    try:
        return _translate(update)
    except (KeyError, TypeError, ValueError):
        return None  # malformed: retrying would not make it readable


def _translate(update: dict[str, Any]) -> Incoming | None:
    update_id = str(update.get("update_id", ""))
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        action, _, question = str(callback.get("data") or "").partition(":")
        sender = callback.get("from") or {}
        if action not in ("approve", "reject") or not question or "id" not in sender:
            return None
        message = callback.get("message") or {}
        user = str(sender["id"])
        # An inline-mode button has no message: the presser's private chat answers.
        chat = str(message["chat"]["id"]) if "chat" in message else user
        return Incoming(
            channel="telegram",
            chat=chat,
            user=user,
            text=f"/{action} {question}",
            message_id=update_id,
            thread=_topic(message),
        )
    edited = "edited_message" in update
    message = update.get("edited_message") or update.get("message")
    if not isinstance(message, dict) or "id" not in (message.get("from") or {}):
        return None
    attachments = _files(message)
    text = message.get("text") or message.get("caption") or ""
    forwarded: tuple[Forwarded, ...] = ()
    if is_forward(message):
        # Another's words, as they wrote them: neither the person's request nor a command.
        voice = any(a.spoken == "voice" for a in attachments)
        passed_on = forward_of(message, text, voice=voice)
        forwarded, text = ((passed_on,) if passed_on else ()), ""
    if not text and not attachments and not forwarded:
        return None
    return Incoming(
        channel="telegram",
        chat=str(message["chat"]["id"]),
        user=str(message["from"]["id"]),
        text=text,
        message_id=update_id,
        thread=_topic(message),
        edited=edited,
        attachments=attachments,
        forwarded=forwarded,
    )


# Kind of file -> its name when it has none, its type when Telegram gives none, and
# whether the person recorded it in the app (a voice or round video note: their words).
_FILES: dict[str, tuple[str, str, Literal["voice", "audio"] | None]] = {
    "document": ("document", "application/octet-stream", None),
    "voice": ("voice.ogg", "audio/ogg", "voice"),
    "video_note": ("video_note.mp4", "video/mp4", "voice"),
    "audio": ("audio", "audio/mpeg", "audio"),
}


def _files(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """The file a message carries (Telegram allows one), as an Attachment."""
    for kind, (name, mime, spoken) in _FILES.items():
        file = message.get(kind)
        if isinstance(file, dict):
            attachment = Attachment(
                name=file.get("file_name") or name,
                mime=file.get("mime_type") or mime,
                size=file.get("file_size") or 0,
                ref=file["file_id"],
                spoken=spoken,
            )
            return (attachment,)
    return ()


def _topic(message: dict[str, Any]) -> str | None:
    # Replies in plain supergroups carry a thread id too; only forum topics are threads.
    return str(message["message_thread_id"]) if message.get("is_topic_message") else None


@dataclass(frozen=True)
class Pressed:
    """The message whose approval button was pressed, as the callback query gives it."""

    chat: str
    message_id: int
    question: str
    text: str  # as sent (plain text); empty when Telegram no longer shows it to the bot


def pressed(update: dict[str, Any]) -> Pressed | None:
    """The message of an approval button's press, or None when there is none to edit."""
    callback = update.get("callback_query")
    if not isinstance(callback, dict):
        return None
    action, _, question = str(callback.get("data") or "").partition(":")
    message = callback.get("message")
    # An inline-mode button has no message; we never send those, so nothing to edit.
    if action not in ("approve", "reject") or not question or not isinstance(message, dict):
        return None
    try:
        chat, message_id = str(message["chat"]["id"]), int(message["message_id"])
    except (KeyError, TypeError, ValueError):
        return None
    return Pressed(chat, message_id, question, str(message.get("text") or ""))
