"""Questions sent with buttons, remembered so that an answer from anywhere marks them.

A question answered by its own button is marked by the adapter that got the press
(``channels.answered``). One answered from the web console, or by a typed ``/approve``,
would keep live buttons: so when the outbound side hands a question to an adapter that is
``Marking``, the adapter says which message holds its buttons (``Sent``), kept in Redis
beside the open question (``Keys.asked``) and gone with it. The gateway's accepted answer
takes that record (atomically: of two answers to one question, one finds it) and has the
adapter edit the message as a press does, in the background, after the answer is stored:
a failed edit costs the mark only, never the answer. A platform that cannot edit is not
``Marking``: its people get the answer's line, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, JsonValue
from redis.exceptions import RedisError

from channels.answered import Answered
from equipage.chat import Channel, Outgoing
from equipage.keys import Keys

__all__ = ["Asked", "Marking", "Sent"]

log = logging.getLogger(__name__)

# Kept only while the question is open: one answered before its message went out (a
# delayed delivery) would otherwise leave its record behind for good.
_KEEP_IF_OPEN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


class Sent(BaseModel):
    """The message that holds a question's buttons, as its platform got it: enough to mark it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str  # the platform's name, as the gateway's channels know it
    chat: str  # where the message is, in the platform's own terms
    ref: str  # the platform's id of the message
    question: str
    text: str  # its text as sent, to put the verdict under
    layout: tuple[dict[str, JsonValue], ...] = ()  # its rich layout, where the platform has one


@runtime_checkable
class Marking(Protocol):
    """An adapter that can mark a question it sent once it is answered anywhere."""

    async def ask(self, message: Outgoing) -> Sent | None:
        """Send the question ``message`` as ``send`` does; the message holding its buttons."""
        ...

    async def mark(self, sent: Sent, answer: Answered) -> None:
        """Take the buttons off ``sent`` and say who decided (``answer.line``), as a press does."""
        ...


class Asked:
    """Sends questions keeping where their buttons are; marks them when answered elsewhere."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, channels: Mapping[str, Channel]) -> None:
        self.redis = redis
        self.keys = keys
        self.channels = channels
        self._keep = redis.register_script(_KEEP_IF_OPEN)
        self._marking: set[asyncio.Task[None]] = set()

    async def send(self, channel: Channel, message: Outgoing) -> None:
        """Send the question ``message``; where ``channel`` can mark it later, keep its message.

        The record is a courtesy: once the question is out, a failure to keep it is logged,
        not raised, or the question would be sent again.
        """
        if message.question is None or not isinstance(channel, Marking):
            await channel.send(message)
            return
        sent = await channel.ask(message)
        if sent is None:
            return
        try:
            await self._keep(
                keys=[self.keys.approvals, self.keys.asked],
                args=[sent.question, sent.model_dump_json()],
            )
        except RedisError as err:
            log.warning("question %s sent, but its buttons will stay: %s", sent.question, err)

    async def answered(self, answer: Answered) -> Answered:
        """Mark ``answer``'s question where it was sent; ``answer``, ``marked`` when under way.

        Called once the answer is stored. The edit runs in the background so the answer's
        reply never waits on the platform; an adapter that got the press leaves a marked
        answer's question alone (``channels.answered.mark``).
        """
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hget(self.keys.asked, answer.question_id)
                pipe.hdel(self.keys.asked, answer.question_id)
                raw, _ = await pipe.execute()
        except RedisError as err:
            log.warning("question %s answered, not marked: %s", answer.question_id, err)
            return answer
        if not raw:  # not sent with buttons, or another answer took it first
            return answer
        sent = Sent.model_validate_json(raw)
        channel = self.channels.get(sent.channel)
        if not isinstance(channel, Marking):
            return answer
        task = asyncio.create_task(self._mark(channel, sent, answer))
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)
        return answer.model_copy(update={"marked": True})

    async def _mark(self, channel: Marking, sent: Sent, answer: Answered) -> None:
        try:
            await channel.mark(sent, answer)
        except Exception as err:  # the answer went through; only its mark is missing
            log.warning(
                "%s question %s not marked answered: %s: %s",
                sent.channel,
                sent.question,
                type(err).__name__,
                err,
            )

    async def aclose(self) -> None:
        """Wait for the marks under way."""
        if self._marking:
            await asyncio.gather(*self._marking, return_exceptions=True)
