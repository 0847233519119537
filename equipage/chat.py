"""What crosses between people's chat platforms and the crew: Incoming, Outgoing, Channel."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from equipage.envelope import Attachment, Envelope, Forwarded, Question

__all__ = [
    "LOCAL_CHANNELS",
    "Attachment",
    "Channel",
    "Downloader",
    "Forwarded",
    "Incoming",
    "Outgoing",
    "PlatformChannel",
    "Receiver",
    "outgoing",
]

#: Channels of the machine's own terminal (``equipage up``'s console, ``equipage send``):
#: their person is named by a console identity, or by member id when they have none.
LOCAL_CHANNELS = frozenset({"console", "cli"})


class Incoming(BaseModel):
    """A person's message, as an adapter read it from its platform.

    A button press arrives as the command it stands for (``/approve 3f9a1c2e``). ``text``
    holds only what the person typed: what they forwarded or shared goes in ``forwarded``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str
    chat: str
    user: str
    text: str
    message_id: str | None = None  # platform id, for dropping duplicate deliveries
    thread: str | None = None  # platform thread (Slack thread_ts, Telegram topic)
    edited: bool = False  # a correction of an earlier message
    attachments: tuple[Attachment, ...] = ()
    forwarded: tuple[Forwarded, ...] = ()


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


class Receiver(Protocol):
    """Where adapters hand what people say: the gateway, which owns access control."""

    async def receive(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message; returns what to answer right away (commands, refusals)."""
        ...


@runtime_checkable
class PlatformChannel(Channel, Protocol):
    """A chat platform's adapter: it translates, and nothing else.

    ``run`` receives from the platform (long polling, a socket) until ``stop`` is set,
    handing each message to ``receiver`` and sending back its immediate answers; an
    adapter fed by webhooks returns from ``run`` at once and serves ``routes`` instead,
    mounted on the one HTTP server of ``equipage up``.
    """

    async def run(self, receiver: Receiver, stop: asyncio.Event) -> None: ...

    def routes(self, receiver: Receiver) -> list[Any]:
        """Starlette routes for this platform's webhooks (empty when none)."""
        ...


@runtime_checkable
class Downloader(Protocol):
    """An adapter that can fetch the bytes of a file a person sent (``Attachment.ref``)."""

    async def download(self, attachment: Attachment, *, limit: int) -> bytes:
        """The file's bytes; raise ``errors.DocumentRefused`` past ``limit`` bytes.

        Refusals read ``"<name>: <reason>"`` (``documents.refusal``, ``size_refusal``): the
        gateway tells the person "I could not read <name>: <reason>". Other errors mean the
        download failed; their messages must not quote tokens or signed URLs.
        """
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
