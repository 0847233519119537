"""What a farm crew's own bot hears goes to that crew, and to no other.

A crew of a farm may have a bot of its own (``equipage.farm.ownbots``). Its messages skip
the farm's routing by identity: the crew's own ``Gateway`` answers them, with the crew's
own rules (a stranger gets the crew's pairing code, which its owner approves with
``/pair``). The rest is as the farm's gateway does for that crew, in the same words: a
crew paused by the farm or being deleted keeps nothing and says so, and the crew's quota
of messages a minute holds whichever bot they came through.
"""

from __future__ import annotations

import logging

from channels.farm_gateway import GatewayFor
from channels.farm_quota import admit
from channels.farm_wording import farm_wording
from equipage.chat import Incoming, Outgoing
from equipage.errors import CrewRefused
from equipage.farm import Crew, CrewState, Registry
from equipage.farm.inbound import InboundRate
from equipage.farm.people import identity
from equipage.keys import Keys
from equipage.language import language_of

__all__ = ["CrewBot"]

log = logging.getLogger(__name__)


class CrewBot:
    """The receiver of crew ``name``'s own bot: its gateway, loaded on the first message."""

    def __init__(self, name: str, registry: Registry, gateway_for: GatewayFor) -> None:
        self.name = name
        self.registry = registry
        self.gateway_for = gateway_for
        self.rate = InboundRate(registry.redis)

    async def receive(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message to the crew's bot; returns what to answer right away."""
        text = incoming.text.strip()
        spoken = "" if text.startswith("/") else text
        crew = await self._crew()
        if crew is None or crew.state is not CrewState.ACTIVE:
            return [self._held(incoming, crew, spoken)]
        if not text.startswith("/"):  # commands are not counted, as on the farm's bots
            refused = await admit(
                self.rate,
                Keys(self.name, self.registry.keys.namespace),
                crew,
                incoming,
                person=identity(incoming.channel, incoming.user),
                spoken=spoken,
                gateway_for=self.gateway_for,
            )
            if refused is not None:
                return [refused]
        try:
            gateway = await self.gateway_for(self.name)
        except LookupError:
            return [self._held(incoming, None, spoken)]
        # Update ids count per bot: the farm's bot and this one may both send number 7.
        own = incoming.model_copy(update={"message_id": _own_id(incoming.message_id)})
        return await gateway.receive(own)

    async def _crew(self) -> Crew | None:
        try:
            return await self.registry.get(self.name)
        except CrewRefused:
            return None  # gone from the registry: its delete is finishing

    def _held(self, incoming: Incoming, crew: Crew | None, spoken: str) -> Outgoing:
        """A crew not served now: nothing is kept, and the person is told why."""
        say = farm_wording(language_of(spoken) or (crew.language if crew else "en"))
        paused = crew is not None and crew.state is CrewState.PAUSED
        log.info("crew %s's own bot got a message while it is not active: not kept", self.name)
        return _say(incoming, (say.paused if paused else say.deleting).format(crew=self.name))


def _own_id(message_id: str | None) -> str | None:
    return f"own:{message_id}" if message_id else None


def _say(incoming: Incoming, text: str) -> Outgoing:
    return Outgoing(channel=incoming.channel, chat=incoming.chat, text=text, thread=incoming.thread)
