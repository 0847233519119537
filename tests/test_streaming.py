"""A reply's draft, from the worker's writer to the platform: Slack updates one message,
WhatsApp (no edits) gets the final text only, and the outbox stays the source of truth."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from rich.console import Console

from channels.console import ConsoleChannel
from channels.gateway import Gateway
from channels.slack import SlackChannel
from channels.whatsapp import WhatsAppChannel
from equipage.bus import Bus
from equipage.chat import Channel, Outgoing
from equipage.drafts import Drafting, Drafts, DraftWriter
from equipage.envelope import Envelope, Kind, Origin, new_id
from equipage.keys import Keys
from equipage.testing import wait_until
from equipage.testing.fake_graph import FakeGraph
from equipage.testing.fake_slack import FakeSlack
from tests.test_channels_e2e import company

WORDS = [f"word{n} " for n in range(60)]
WHOLE = "".join(WORDS).strip()


@asynccontextmanager
async def delivering(bus: Bus, channel: Channel) -> AsyncIterator[None]:
    """The gateway's outbound side running for ``channel``, drafts followed."""
    gateway = Gateway(company(), bus, channels={channel.name: channel})
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.deliver("gateway-1", stop, block_ms=50))
    try:
        yield
    finally:
        stop.set()
        await task
        await gateway.aclose()


async def write(bus: Bus, origin: Origin, *, seconds: float) -> Envelope:
    """Stream ``WORDS`` over ``seconds`` as a worker's model would, then put the reply out."""
    cause = new_id()
    writer = DraftWriter(bus.redis, bus.keys, cause=cause, origin=origin, sender="ceo")
    for word in WORDS:
        await writer(word)
        await asyncio.sleep(seconds / len(WORDS))  # the model's pace, not a wait for state
    await writer.close()
    reply = Envelope(kind=Kind.REPLY, company=bus.keys.company, to="human", sender="ceo",
                     thread=f"{origin.channel}:{origin.chat}", text=WHOLE, origin=origin,
                     cause=cause)  # fmt: skip
    await bus.publish(reply)
    return reply


async def test_slack_reply_grows_in_one_message_updated_at_a_paced_rate(bus: Bus) -> None:
    origin = Origin(channel="slack", chat="C0FOUNDER", member="camille", thread="1767400000.1")
    async with FakeSlack("xoxb-test") as fake:
        channel = SlackChannel("xoxb-test", signing_secret="s", base_url=fake.base_url)
        async with delivering(bus, channel):
            await write(bus, origin, seconds=3.5)

            async def whole() -> bool:
                return any(u.text == WHOLE for u in fake.updated)

            await wait_until(whole, timeout=10, what="the whole reply")
    [post] = fake.posted
    assert post.body["thread_ts"] == origin.thread and post.text.endswith("…")
    assert {u.ts for u in fake.updated} == {post.ts}
    assert len(fake.updated) >= 3 and fake.updated[-1].text == WHOLE
    assert fake.message("C0FOUNDER", post.ts)["text"] == WHOLE
    gaps = [b.at - a.at for a, b in itertools.pairwise(fake.updated)]
    assert min(gaps) >= 0.9, gaps


async def test_whatsapp_cannot_edit_so_it_gets_the_final_text_only(bus: Bus) -> None:
    origin = Origin(channel="whatsapp", chat="33600000000", member="camille")
    async with FakeGraph(token="wa") as graph:
        channel = WhatsAppChannel("wa", phone_number_id="1122334455667", app_secret="s",
                                  verify_token="v", base_url=graph.base_url)  # fmt: skip
        await channel.windows.set(origin.chat, time.time())  # the founder wrote just now
        try:
            async with delivering(bus, channel):
                await write(bus, origin, seconds=1.5)

                async def sent() -> bool:
                    return bool(graph.sent)

                await wait_until(sent, timeout=10, what="the reply")
        finally:
            await channel.aclose()
    [body] = graph.sent
    assert body["text"]["body"] == WHOLE


async def test_a_redelivered_reply_edits_its_draft_again_never_a_second_message(
    redis: aioredis.Redis, keys: Keys
) -> None:
    drafts = Drafts(redis, keys, every=0.0)
    origin = Origin(channel="telegram", chat="1", member="camille")
    writer = DraftWriter(redis, keys, cause="c1", origin=origin, sender="ceo", every=0.0)
    await writer("Hello")
    claim = await drafts.claim("c1")
    assert (claim.action, claim.text) == ("start", "Hello")
    await writer(" there")
    assert (await drafts.claim("c1")).action == "wait"  # its first message is on its way
    await drafts.started("c1", "77")
    assert (await drafts.close("c1", "reply-1")).ref == "77"
    again = await drafts.close("c1", "reply-1")  # the reply's delivery retried
    assert (again.action, again.ref) == ("edit", "77")
    await writer(" world")  # its run is over: nothing more of it shows
    assert (await drafts.claim("c1")).action == "none"
    assert (await drafts.close("c1", "notice-2")).action == "send"


async def test_a_retried_turn_starts_a_new_message_after_its_failure_was_told(
    redis: aioredis.Redis, keys: Keys
) -> None:
    drafts = Drafts(redis, keys, every=0.0)
    origin = Origin(channel="telegram", chat="1", member="camille")
    failed = DraftWriter(redis, keys, cause="c1", origin=origin, sender="ceo", every=0.0)
    await failed("Half an ans")
    assert (await drafts.claim("c1")).action == "start"
    await drafts.started("c1", "77")
    assert (await drafts.close("c1", "notice-1")).ref == "77"  # the failure, told in place
    retried = DraftWriter(redis, keys, cause="c1", origin=origin, sender="ceo", every=0.0)
    await retried("The whole answer")
    claim = await drafts.claim("c1")
    assert (claim.action, claim.text, claim.ref) == ("start", "The whole answer", None)


async def test_console_shows_a_live_preview_that_gives_way_to_the_whole_reply() -> None:
    screen = io.StringIO()
    console = ConsoleChannel(Console(file=screen, force_terminal=True, width=60))
    partial = Outgoing(channel="console", chat="local", text="Half of it", sender="ceo")
    ref = await console.draft(partial, None)
    assert await console.draft(partial.model_copy(update={"text": "Half of it, more"}), ref) == ref
    assert "Half of it, more" in screen.getvalue()
    await console.settle(partial.model_copy(update={"text": "The whole reply."}), ref)
    assert "The whole reply." in screen.getvalue()
    assert isinstance(console, Drafting)
