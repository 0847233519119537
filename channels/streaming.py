"""Replies that grow in the chat while the crew writes them, on platforms that can edit.

The gateway's side of ``equipage.drafts``: ``follow`` reads the wake-ups the workers write
on the drafts stream and shows each draft with its platform's adapter, when that adapter
is ``Drafting`` (a first message, then edits at most one per ``Drafts.every`` seconds per
reply; a platform that cannot edit ignores drafts). ``send`` is how the outbound side hands
a reply over: a reply whose draft is shown becomes that message (the final edit carries the
whole text), any other goes out as before. A question with buttons is never streamed: it
is sent whole, as a new message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError

from equipage.bus import Bus
from equipage.chat import Channel, Outgoing
from equipage.drafts import Claim, Drafting, Drafts
from equipage.envelope import Envelope

__all__ = ["Streaming"]

log = logging.getLogger(__name__)

_CLOSE_WAIT = 12.0  # longest wait for a draft's first message before the reply goes anew


class Streaming:
    """Shows the crew's drafts on the running channels, and closes them with their reply."""

    def __init__(
        self,
        bus: Bus,
        channels: Mapping[str, Channel],
        *,
        relay_only: frozenset[str],
        drafts: Drafts | None = None,
    ) -> None:
        self.bus = bus
        self.channels = channels
        self.relay_only = relay_only
        self.drafts = drafts or Drafts(bus.redis, bus.keys)
        self._showing: dict[str, asyncio.Task[None]] = {}  # cause -> its showing task
        self._again: set[str] = set()  # woken while its showing was under way

    def _drafting(self, name: str) -> Drafting | None:
        channel = self.channels.get(name)
        if name in self.relay_only or not isinstance(channel, Drafting):
            return None
        return channel

    async def follow(self, stop: asyncio.Event, *, block_ms: int = 500) -> None:
        """Show drafts as their wake-ups arrive, until ``stop`` is set."""
        redis, stream = self.bus.redis, self.bus.keys.drafts
        last = "$"  # a draft written before this gateway started shows from its next write
        try:
            while not stop.is_set():
                try:
                    read: Any = await redis.xread({stream: last}, count=100, block=block_ms)
                except RedisError as err:
                    log.warning("drafts not followed for now: %s", err)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)
                    continue
                for _name, entries in read or []:
                    for entry_id, fields in entries:
                        last = _text(entry_id)
                        self._wake(fields)
        finally:
            tasks = list(self._showing.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _wake(self, fields: Mapping[bytes | str, bytes | str]) -> None:
        values = {_text(k): _text(v) for k, v in fields.items()}
        cause, channel = values.get("cause", ""), values.get("channel", "")
        if not cause or self._drafting(channel) is None:
            return
        if cause in self._showing:
            self._again.add(cause)
            return
        task = asyncio.create_task(self._show(cause), name=f"draft {cause}")
        self._showing[cause] = task
        task.add_done_callback(lambda _: self._showing.pop(cause, None))

    async def _show(self, cause: str) -> None:
        """Show the draft's text until nothing newer is left to show."""
        while True:
            try:
                claim = await self.drafts.claim(cause)
                if claim.action == "wait":
                    await asyncio.sleep(min(claim.wait, self.drafts.every))
                    continue
                if claim.action == "none":
                    if cause not in self._again:
                        return
                    self._again.discard(cause)
                    continue
                await self._put(cause, claim)
            except RedisError as err:
                log.warning("draft %s not shown: %s", cause, err)
                return

    async def _put(self, cause: str, claim: Claim) -> None:
        assert claim.origin is not None
        channel = self._drafting(claim.origin.channel)
        if channel is None:
            return
        origin = claim.origin
        message = Outgoing(
            channel=origin.channel,
            chat=origin.chat,
            text=claim.text,
            sender=claim.sender,
            thread=origin.thread,
        )
        if claim.action == "start":
            ref: str | None = None
            try:
                ref = await channel.draft(message, None)
            except Exception as err:  # a courtesy: the reply itself still goes
                log.info("draft on %s not shown: %s", origin.channel, err)
            await self.drafts.started(cause, ref)
        else:
            try:
                await channel.draft(message, claim.ref)
            except Exception as err:
                log.info("draft on %s not edited: %s", origin.channel, err)
        await self.drafts.shown(cause)

    async def send(self, channel: Channel, envelope: Envelope, message: Outgoing) -> None:
        """Send ``message``, the reply ``envelope``: into its shown draft where it has one.

        Called again for the same envelope (its delivery retried), it edits the same
        message again: never a second message.
        """
        if (
            message.question is not None
            or envelope.cause is None
            or not isinstance(channel, Drafting)
        ):
            await channel.send(message)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _CLOSE_WAIT
        while True:
            closing = await self.drafts.close(envelope.cause, envelope.id)
            if closing.action != "pending" or loop.time() >= deadline:
                break
            # Its first message is on its way (another gateway process): edit that one.
            await asyncio.sleep(min(closing.wait, 0.1))
        if closing.action != "edit" or closing.ref is None:
            await channel.send(message)
            return
        # The final edit keeps the pace of the others: at most one a second per reply.
        await asyncio.sleep(min(closing.wait, self.drafts.every))
        await channel.settle(message, closing.ref)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
