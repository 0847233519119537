"""The gateway's outbound half: outbox messages handed to the platform of their conversation.

It reads the outbox in its own consumer group (``GATEWAY_GROUP``), so the workers' groups
never see people's messages, and sends each with the adapter of the platform the
conversation came from, a question's hint and buttons in its person's language. A message
the platform refuses for good (``DeliveryRefused``: a closed delivery window) is held,
not retried, and goes out when that person writes again (``release_held``). A reply the
crew streamed while writing it becomes the message that showed it (``channels.streaming``).
A question sent with buttons is remembered, so that an answer given anywhere else marks it
there as its own button would (``answered``, ``channels.asked``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from channels.answered import Answered
from channels.asked import Asked
from channels.languages import Languages
from channels.presence import Presence
from channels.streaming import Streaming
from channels.wording import Worded
from equipage import metrics
from equipage.bus import Bus, Delivery
from equipage.chat import Channel, Outgoing, outgoing
from equipage.entries import envelope_fields
from equipage.envelope import Envelope
from equipage.errors import DeliveryRefused
from equipage.keys import GATEWAY_GROUP
from equipage.replication import replicated

__all__ = ["Outbound"]

log = logging.getLogger(__name__)


class Outbound:
    """Delivery of the outbox to the running channels."""

    def __init__(
        self,
        bus: Bus,
        channels: Mapping[str, Channel],
        *,
        presence: Presence,
        languages: Languages,
        relay_only: frozenset[str],
    ) -> None:
        self.bus = bus
        self.channels = channels
        self.presence = presence
        self.languages = languages
        self.relay_only = relay_only
        self.streaming = Streaming(bus, channels, relay_only=relay_only)
        self.asked = Asked(bus.redis, bus.keys, channels)

    async def deliver(self, consumer: str, stop: asyncio.Event, *, block_ms: int = 500) -> None:
        """Send outbox messages to their platforms until ``stop`` is set."""
        bus = self.bus
        await bus.ensure_groups(())
        reader = self._reader
        next_reclaim = 0.0
        loop = asyncio.get_running_loop()
        drafts = asyncio.create_task(self.streaming.follow(stop, block_ms=block_ms))
        try:
            while not stop.is_set():
                deliveries: list[Delivery] = []
                if loop.time() >= next_reclaim:
                    deliveries += await reader.reclaim(bus.keys.outbox, consumer)
                    next_reclaim = loop.time() + max(bus.visibility_timeout / 4, 0.05)
                deliveries += await reader.read([bus.keys.outbox], consumer, block_ms=block_ms)
                for delivery in deliveries:
                    await self._deliver_one(reader, delivery)
        finally:
            # No answer leaves this gateway any more, so none would end the indicators.
            await self.presence.aclose()
            await self.asked.aclose()
            drafts.cancel()
            await asyncio.gather(drafts, return_exceptions=True)

    async def drain(self, consumer: str, *, count: int = 50, reclaim: bool = False) -> int:
        """Send what the outbox holds now, without waiting for more; return how many.

        A farm's pool calls it when told a crew's outbox has mail, instead of keeping a
        blocked read per crew; ``reclaim`` also takes over entries a dead process left.
        """
        reader = self._reader
        deliveries: list[Delivery] = []
        if reclaim:
            deliveries += await reader.reclaim(self.bus.keys.outbox, consumer, count=count)
        outbox = [self.bus.keys.outbox]
        deliveries += await reader.read(outbox, consumer, count=count, block_ms=None)
        for delivery in deliveries:
            await self._deliver_one(reader, delivery)
        return len(deliveries)

    @cached_property
    def _reader(self) -> Bus:
        """The bus as the gateway's consumer group reads the outbox."""
        bus = self.bus
        return Bus(
            bus.redis,
            bus.keys,
            max_attempts=bus.max_attempts,
            visibility_timeout=bus.visibility_timeout,
            events_maxlen=bus.events_maxlen,
            done_ttl=bus.done_ttl,
            group=GATEWAY_GROUP,
        )

    async def answered(self, **fields: Any) -> Answered:
        """The gateway's accepted answer (``Answered``'s fields), once stored; its question is
        marked where it was sent, as its own button would (``channels.asked``)."""
        return await self.asked.answered(Answered(**fields))

    async def release_held(self, channel: str, chat: str) -> None:
        """The person wrote again: what the platform refused before can go now."""
        key = self.bus.keys.held(channel, chat)
        async with self.bus.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            held, _ = await pipe.execute()
        for raw in held:
            await self.bus.redis.xadd(self.bus.keys.outbox, envelope_fields(raw))
        if held and self.bus.signal is not None:
            await self.bus.signal.after(self.bus.keys, [self.bus.keys.outbox])
        if held:
            log.info("%d held message(s) released to %s", len(held), channel)

    async def _deliver_one(self, reader: Bus, delivery: Delivery) -> None:
        envelope = delivery.envelope
        attempt = await reader.begin(delivery)
        if envelope is None or envelope.origin is None:
            error = delivery.error or "outbox envelope without an origin: nobody to send it to"
            await reader.dead_letter(delivery, error, attempt)
            return
        if envelope.origin.channel not in self.relay_only:
            channel = self.channels.get(envelope.origin.channel)
            if channel is None:
                await reader.dead_letter(
                    delivery, f"channel {envelope.origin.channel!r} is not running", attempt
                )
                return
            # The answer ends the indicator; stopped first so none is re-sent after it.
            self.presence.stop(envelope.origin.channel, envelope.origin.chat)
            # The turn that wrote it must outlive a failover, or it would be redone and
            # its answer sent a second time.
            await replicated(self.bus.redis, self.bus.keys.replication_mark)
            try:
                message = await self._worded(envelope)
                if message.question is not None:  # whole, and remembered to mark it
                    await self.asked.send(channel, message)
                else:
                    await self.streaming.send(channel, envelope, message)
            except DeliveryRefused as refused:
                # Retrying cannot help; the person writing again can. Held, acked.
                origin = envelope.origin
                await self.bus.redis.rpush(
                    self.bus.keys.held(origin.channel, origin.chat), delivery.raw
                )
                log.warning("held %s for %s: %s", envelope.id, origin.channel, refused)
                if await reader.commit(delivery, []):
                    metrics.envelope_handled("outbox")
                return
            except Exception as err:
                log.exception("sending %s on %s failed", envelope.id, channel.name)
                metrics.envelope_failed("outbox")
                await reader.fail(delivery, f"{type(err).__name__}: {err}", attempt)
                return
        if await reader.commit(delivery, []):
            metrics.envelope_handled("outbox")

    async def _worded(self, envelope: Envelope) -> Outgoing:
        """The platform message; a question's hint and buttons in its person's language."""
        message = outgoing(envelope)
        origin = envelope.origin
        if message.question is None or origin is None:
            return message
        shown = origin.language
        if shown is None:  # a question no message of theirs led to (a schedule, a budget)
            shown = await self.languages.known(origin.member)
        return Worded(**dict(message), language=self.languages.answer_in(shown))
