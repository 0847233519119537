"""What a WhatsApp Cloud API webhook says, read as the crew's ``Incoming``.

Texts, reply and template buttons (as the command they stand for), media with their
caption, and edits: a person's correction of a message they sent arrives as an edit
(``Incoming.edited``), as on Telegram and Slack. What a person forwarded
(``context.forwarded``, ``frequently_forwarded``) is read as ``Forwarded``, not as their
text. Statuses, reactions, locations and other types are dropped.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from equipage.chat import Attachment, Forwarded, Incoming

__all__ = ["incoming"]

log = logging.getLogger("channels.whatsapp")

_MEDIA = ("image", "document", "video", "audio")


def incoming(payload: dict[str, Any], phone_number_id: str) -> list[Incoming]:
    """The people's messages in one webhook body to ``phone_number_id``."""
    if payload.get("object") != "whatsapp_business_account":
        return []
    found: list[Incoming] = []
    for entry in _list(payload.get("entry")):
        for change in _list(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            to = _dict(value.get("metadata")).get("phone_number_id", phone_number_id)
            if to != phone_number_id:  # another number of the same app
                continue
            for message in _list(value.get("messages")):
                try:
                    found += [m for m in [_message(message)] if m is not None]
                except (AttributeError, KeyError, TypeError, ValueError):
                    log.warning("malformed whatsapp message %s skipped", message.get("id"))
    return found


def _message(message: dict[str, Any]) -> Incoming | None:
    edited = message["type"] == "edit"
    if edited:
        # Meta's edit webhook (developers.facebook.com/documentation/business-messaging/
        # whatsapp/webhooks/reference/messages/edit): ``type: "edit"``, and under ``edit``
        # the ``original_message_id`` and the whole ``message`` as it now reads (a text, or
        # a media with its caption), within 15 minutes of sending. The edit has its own id,
        # so dedupe keeps it apart from the original.
        edit = message["edit"]
        log.info(
            "whatsapp message %s edited by its sender (edit %s)",
            edit["original_message_id"],
            message["id"],
        )
        said = _content(edit["message"])
    else:
        said = _content(message)
    if said is None:
        return None
    text, attachments, forwarded = said
    user = str(message["from"])
    return Incoming(
        channel="whatsapp",
        chat=user,
        user=user,
        text=text,
        message_id=message["id"],
        edited=edited,
        attachments=attachments,
        forwarded=forwarded,
    )


def _content(
    message: dict[str, Any],
) -> tuple[str, tuple[Attachment, ...], tuple[Forwarded, ...]] | None:
    """What a message (or an edit's new version) holds; None for a type the crew ignores."""
    kind = message["type"]
    text = ""
    attachments: tuple[Attachment, ...] = ()
    if kind == "text":
        text = message["text"]["body"]
    elif kind == "interactive" and message["interactive"]["type"] == "button_reply":
        reply = message["interactive"]["button_reply"]
        text = _command(reply["id"]) or reply["title"]
    elif kind == "button":  # a template's quick-reply button
        text = _command(message["button"]["payload"]) or message["button"]["text"]
    elif kind in _MEDIA:
        media = message[kind]
        name = media.get("filename") or f"{kind}-{media['id']}"
        text = media.get("caption", "")
        spoken = _spoken(kind, media)
        if spoken == "voice":
            name = media.get("filename") or f"voice-{media['id']}.ogg"
        attachments = (
            Attachment(name=name, mime=media["mime_type"], ref=media["id"], spoken=spoken),
        )
    else:
        return None
    forwarded: tuple[Forwarded, ...] = ()
    context = _dict(message.get("context"))
    if context.get("forwarded") or context.get("frequently_forwarded"):
        # WhatsApp never says from whom, but the words are not the person's own.
        said = Forwarded(
            text=text, kind="caption" if attachments else "message", platform="WhatsApp"
        )
        # A forwarded voice note has no words yet: ``channels.hearing`` adds what it said.
        voice = any(a.spoken == "voice" for a in attachments)
        forwarded, text = ((said,) if text or voice else ()), ""
    return text, attachments, forwarded


def _command(button_id: str) -> str | None:
    verb, _, question_id = button_id.partition(":")
    return f"/{verb} {question_id}" if verb in ("approve", "reject") and question_id else None


def _spoken(kind: str, media: dict[str, Any]) -> Literal["voice", "audio"] | None:
    """A voice note recorded in WhatsApp (``voice: true``, or Opus from older payloads)."""
    if kind != "audio":
        return None
    said = media.get("voice")
    recorded = said is True or (said is None and "opus" in str(media.get("mime_type")))
    return "voice" if recorded else "audio"


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
