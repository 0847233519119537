"""What a WhatsApp Cloud API webhook body must look like, and which of its messages are stale.

Meta signs a body but puts no time in the signature, so a captured request stays valid
forever; only the ``seen`` marker (``equipage.keys.SEEN_FOR``) stops a replay, and only
while it lives. ``stale`` therefore refuses a message whose own ``timestamp`` is older than
the marker's lifetime (less a day for clocks that disagree), or more than a day ahead.
``read`` checks the fields the channel reads, strictly typed: a body of another shape is
:class:`MalformedWebhook` (a 400), whatever its signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from equipage.httpserver import shaped
from equipage.keys import SEEN_FOR

__all__ = ["SKEW", "Payload", "read", "stale"]

#: How far our clock and Meta's may disagree, in seconds.
SKEW = 24 * 3600


class _Shape(BaseModel):
    # Strict: Meta sends ids, numbers and timestamps as strings, never as JSON numbers.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Text(_Shape):
    body: str


class _Reply(_Shape):
    id: str
    title: str


class _Interactive(_Shape):
    type: str
    button_reply: _Reply | None = None


class _Button(_Shape):
    payload: str
    text: str


class _Media(_Shape):
    id: str
    mime_type: str
    caption: str | None = None
    filename: str | None = None


class _Context(_Shape):
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None


class _Content(_Shape):
    """What a message says: its type and the field of that type."""

    type: str
    text: _Text | None = None
    interactive: _Interactive | None = None
    button: _Button | None = None
    image: _Media | None = None
    document: _Media | None = None
    video: _Media | None = None
    audio: _Media | None = None
    context: _Context | None = None


class _Edit(_Shape):
    """A correction: the id of the message corrected and the message as it now reads."""

    original_message_id: str
    message: _Content


class Message(_Content):
    """One message a person sent, with the fields the channel reads."""

    sender: str = Field(alias="from")
    id: str
    timestamp: str = Field(pattern=r"^[0-9]{1,12}$")  # Unix seconds, as a string
    edit: _Edit | None = None  # with ``type: "edit"``


class _Metadata(_Shape):
    phone_number_id: str | None = None


class _Value(_Shape):
    metadata: _Metadata | None = None
    messages: list[Message] = []


class _Change(_Shape):
    field: str
    value: _Value


class _Entry(_Shape):
    changes: list[_Change] = []


class Payload(_Shape):
    """A webhook body: entries of changes, some of them holding messages."""

    object: str
    entry: list[_Entry]

    def messages(self) -> Iterator[Message]:
        for entry in self.entry:
            for change in entry.changes:
                yield from change.value.messages


def read(payload: dict[str, Any]) -> Payload:
    """``payload`` checked; MalformedWebhook naming the first fields of the wrong type."""
    return shaped(Payload, payload)


def stale(message: Message, now: float) -> str | None:
    """Why ``message`` must not reach the crew (a replay past its marker), or None."""
    age = now - int(message.timestamp)
    if age > SEEN_FOR - SKEW:
        return (
            f"sent {age / 86400:.1f} days ago, too old to tell from a replay "
            f"(duplicates are remembered {SEEN_FOR / 86400:g} days)"
        )
    if age < -SKEW:
        return f"dated {-age / 86400:.1f} days ahead of this server's clock (check its time)"
    return None
