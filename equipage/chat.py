"""What crosses between people's chat platforms and the crew: Incoming, Outgoing, Channel."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from equipage.envelope import Envelope, Question

__all__ = ["LOCAL_CHANNELS", "Channel", "Incoming", "Outgoing", "outgoing"]

#: Channels of the machine's own terminal (``equipage up``'s console, ``equipage send``):
#: their person is named by a console identity, or by member id when they have none.
LOCAL_CHANNELS = frozenset({"console", "cli"})


class Incoming(BaseModel):
    """A person's message, as an adapter read it from its platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    chat: str
    user: str
    text: str
    message_id: str | None = None  # platform id, for dropping duplicate deliveries
    thread: str | None = None


class Outgoing(BaseModel):
    """Text (and possibly a question with buttons) for a person on a platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    chat: str
    text: str
    sender: str = ""
    thread: str | None = None
    question: Question | None = None


@runtime_checkable
class Channel(Protocol):
    """A platform adapter's sending side; receiving calls ``Gateway.receive``."""

    name: str

    async def send(self, message: Outgoing) -> None:
        """Deliver one message; raise to have the gateway retry it later."""
        ...


def outgoing(envelope: Envelope) -> Outgoing:
    """The platform message for an outbox envelope (which must have an origin)."""
    if envelope.origin is None:
        raise ValueError(f"envelope {envelope.id} has no origin: nobody to send it to")
    return Outgoing(
        channel=envelope.origin.channel,
        chat=envelope.origin.chat,
        text=envelope.text,
        sender=envelope.sender,
        thread=envelope.origin.thread,
        question=envelope.question,
    )
