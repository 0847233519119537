"""A farm crew's quota of messages a minute, held at whichever bot a message came through.

``admit`` counts a person's message against the crew's quota (``equipage.farm.inbound``)
before anything of the crew is loaded. Past it, the person is told their message was not
kept and when to send it again; the first message refused in a window also tells the
owner what was hit and how to raise it: in the answer when the owner wrote it, else on
the crew's outbox, in the crew's language. Commands are the callers' to leave uncounted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.farm_wording import farm_wording
from equipage.chat import Incoming, Outgoing
from equipage.farm.crews import Crew
from equipage.farm.inbound import Counted, InboundRate, tell_owner
from equipage.farm.people import identity
from equipage.keys import Keys
from equipage.language import language_of

__all__ = ["admit"]

log = logging.getLogger(__name__)


async def admit(
    rate: InboundRate,
    keys: Keys,
    crew: Crew,
    incoming: Incoming,
    *,
    person: str,
    spoken: str,
    gateway_for: Callable[[str], Awaitable[Any]],
) -> Outgoing | None:
    """None if ``crew`` takes this message; else the answer to send instead (not kept).

    ``person`` is the sender's identity, ``spoken`` their words (empty for a command) and
    ``gateway_for`` gives the crew's gateway, whose bus and config reach the owner.
    """
    counted = await rate.count(keys, crew.quotas.messages_per_minute)
    if counted.accepted:
        return None
    say = farm_wording((language_of(spoken) if spoken else None) or crew.language)
    text = say.too_many.format(crew=crew.name, limit=counted.limit, seconds=counted.resets_in)
    log.info("%s wrote to crew %s past its messages quota: not kept", person, crew.name)
    if not counted.first_over:
        return _say(incoming, text)
    raise_to = _raise_to(counted)
    if person == identity(crew.owner.platform, crew.owner.id):
        # The owner is told in their own answer, once a window: later ones are short.
        hint = say.raise_hint.format(crew=crew.name, raise_to=raise_to)
        return _say(incoming, f"{text}\n{hint}")
    owners = farm_wording(crew.language)
    told = owners.quota_hit.format(crew=crew.name, limit=counted.limit)
    hint = owners.raise_hint.format(crew=crew.name, raise_to=raise_to)
    gateway = await gateway_for(crew.name)
    await tell_owner(crew, gateway.bus, f"{told}\n{hint}", member=gateway.config.owner.id)
    return _say(incoming, text)


def _raise_to(counted: Counted) -> int:
    """A quota to suggest: twice the one hit, and at least ten more."""
    return max(2 * counted.limit, counted.limit + 10)


def _say(incoming: Incoming, text: str) -> Outgoing:
    return Outgoing(channel=incoming.channel, chat=incoming.chat, text=text, thread=incoming.thread)
