"""What Slack sends, read: a request's signature, its body, and the Incoming it stands for.

Pure functions shared by both ways in (signed HTTP requests and Socket Mode envelopes):
``verify`` checks a request's v0 signature, ``parse`` reads a body the way Slack sends
it, and ``incoming`` translates an event, a button press or a slash command into the
crew's ``Incoming``. Fields of the wrong type raise MalformedWebhook, naming only the
error's type: a field's value may be a person's words.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from channels.slack_files import attachments
from channels.slack_shares import shared
from equipage.chat import Incoming
from equipage.errors import MalformedWebhook

__all__ = ["MAX_AGE", "incoming", "parse", "verify"]

MAX_AGE = 5 * 60  # Slack's replay window for signed requests, in seconds
_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>\s*")


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, now: float) -> bool:
    """True when ``body`` carries Slack's v0 signature made with ``secret`` less than 5 min ago.

    Over the bytes: slack_sdk's ``SignatureVerifier`` (what slack-bolt checks with) signs
    the body as text, so it fails on bytes that are not UTF-8 and raises on a stamp like "²".
    """
    stamp = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not (stamp.isascii() and stamp.isdigit()) or abs(now - int(stamp)) > MAX_AGE:
        return False
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.encode())


def parse(body: bytes) -> dict[str, Any]:
    """A request body as a dict: Events API JSON, a slash command form, or a button payload.

    Raises MalformedWebhook for anything else.
    """
    try:
        text = body.decode()  # not json.loads(bytes), which reads UTF-16 and UTF-32 too
        if text.lstrip().startswith("{"):
            payload = json.loads(text)
        else:
            form = dict(parse_qsl(text, strict_parsing=True))
            payload = json.loads(form["payload"]) if "payload" in form else form
    except RecursionError:  # not a ValueError: json gives up on deep nesting this way
        raise MalformedWebhook("the body is JSON nested too deep") from None
    except ValueError:  # UnicodeDecodeError included
        raise MalformedWebhook("the body is neither JSON in UTF-8 nor a form") from None
    if not isinstance(payload, dict) or not payload:
        raise MalformedWebhook("the body is not a JSON object or a form")
    return payload


def incoming(payload: dict[str, Any]) -> Incoming | None:
    """The Incoming a request stands for (event, slash command, button), or None.

    Raises MalformedWebhook when a field the crew reads is not of the type Slack sends.
    """
    try:
        return _incoming(payload)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as err:
        # Only the error's type: its message may quote the payload, a person's words.
        raise MalformedWebhook(f"a field has the wrong type ({type(err).__name__})") from None


def _incoming(payload: dict[str, Any]) -> Incoming | None:
    kind = payload.get("type")
    if kind == "event_callback":
        return _event(payload)
    if kind == "block_actions":
        return _action(payload)
    if "command" in payload and "user_id" in payload:
        text = str(payload.get("text") or "").strip() or "/help"
        return Incoming(
            channel="slack",
            chat=_id(payload["channel_id"]),
            user=_id(payload["user_id"]),
            text=text,
            message_id=payload.get("trigger_id"),
        )
    return None


def _event(payload: dict[str, Any]) -> Incoming | None:
    event = payload.get("event") or {}
    edited = event.get("subtype") == "message_changed"
    if event.get("type") == "app_mention" and not event.get("subtype"):
        message = event
    elif event.get("type") == "message" and event.get("channel_type") == "im":
        if edited:
            message = event.get("message") or {}
            if message.get("text") == (event.get("previous_message") or {}).get("text"):
                return None  # an unfurl or a reaction changed it, not its author
        elif event.get("subtype") not in (None, "file_share"):
            return None
        else:
            message = event
    else:
        return None
    if message.get("bot_id") or "user" not in message or "channel" not in event:
        return None  # our own posts and other bots' come back as events too
    return Incoming(
        channel="slack",
        chat=_id(event["channel"]),
        user=_id(message["user"]),
        text=_MENTION.sub("", _id(message.get("text") or ""), count=1),
        message_id=payload.get("event_id"),
        thread=message.get("thread_ts") or message.get("ts"),
        edited=edited,
        attachments=attachments(message),
        forwarded=shared(message),  # messages shared with it: not the person's words
    )


def _action(payload: dict[str, Any]) -> Incoming | None:
    actions = payload.get("actions") or [{}]
    verb, _, question = str(actions[0].get("value") or "").partition(":")
    user = (payload.get("user") or {}).get("id")
    container = payload.get("container") or {}
    chat = (payload.get("channel") or {}).get("id") or container.get("channel_id")
    if verb not in ("approve", "reject") or not question or not user or not chat:
        return None
    return Incoming(
        channel="slack",
        chat=_id(chat),
        user=_id(user),
        text=f"/{verb} {question}",
        message_id=payload.get("trigger_id"),
        thread=container.get("thread_ts") or container.get("message_ts"),
    )


def _id(value: object) -> str:
    """A field Slack always sends as a string; TypeError for anything else."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
