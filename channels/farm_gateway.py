"""The farm's one way in: each person goes to their own crew's gateway, found by who they are.

A person is ``<platform>:<user id>``; the farm's people index (``equipage.farm.people``)
says which crews let them in. One crew: the message goes to that crew's ``Gateway``
(access control, commands and the bus stay the crew's own). Several: to the one they
picked with ``/crew use``, else they are told how to pick. A paused crew gets nothing:
the person is told that, and that their message was not kept. A stranger to every crew
gets a farm pairing code, which the owner of one crew approves from their crew's chat
(``/pair CODE``: the stranger joins THAT crew only) or a farm admin with ``/crew pair
CODE NAME``. ``/crew`` is the farm's (``channels.farm_commands``).

Each crew takes at most its quota of messages a minute (``channels.farm_quota``;
commands are not counted): past it, the person is told their message was not kept, and
the crew's owner is told once per minute what was hit and how to raise it. A company
served on its own (``equipage up``) has no such quota: it has no farm gateway.

Nothing here reads another crew's data on a person's behalf: the crew is chosen from the
index before anything of it is touched, and the crew's own gateway answers the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from channels.farm_commands import CrewCommands, join
from channels.farm_quota import admit
from channels.farm_wording import FarmWording, farm_wording
from channels.gateway import Gateway
from equipage.chat import LOCAL_CHANNELS, Incoming, Outgoing
from equipage.errors import CrewRefused
from equipage.farm import Crew, CrewState, Farm
from equipage.farm.inbound import InboundRate
from equipage.farm.pairing import FarmPairings
from equipage.farm.people import identity
from equipage.language import language_of
from equipage.members import MAX_PENDING

__all__ = ["FarmGateway", "GatewayFor"]

log = logging.getLogger(__name__)

#: Gives the ready ``Gateway`` of a crew by its name (built once, kept by the caller).
GatewayFor = Callable[[str], Awaitable[Gateway]]


class FarmGateway:
    """Routes every person of the farm to their own crew's gateway."""

    def __init__(
        self,
        farm: Farm,
        gateway_for: GatewayFor,
        *,
        language: str = "en",
        forget: Callable[[str], Awaitable[None]] | None = None,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.farm = farm
        self.people = farm.people
        self.gateway_for = gateway_for
        # Strangers and admins with no crew: the language the farm answers them in.
        self.language = language
        self.pairings = FarmPairings(
            farm.redis, farm.registry.keys.namespace, max_pending=max_pending
        )
        self.commands = CrewCommands(farm, self.pairings, forget=forget)
        self.rate = InboundRate(farm.redis)

    async def receive(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message from a person; returns what to answer right away."""
        text = incoming.text.strip()
        command, _, rest = text.partition(" ")
        command = command.lower().split("@", 1)[0]  # Telegram appends @botname
        # The machine's own terminal (``equipage send`` too) names people by console identity.
        platform = "console" if incoming.channel in LOCAL_CHANNELS else incoming.channel
        person = identity(platform, incoming.user)
        crews = await self.people.crews_of(person)
        spoken = "" if command.startswith("/") else text
        if command == "/crew":
            say = await self._wording(spoken, crews[0] if len(crews) == 1 else None)
            return [_say(incoming, await self.commands.run(person, rest, say))]
        if not crews:
            return [await self._stranger(incoming, person, spoken)]
        name = await self._pick(person, crews)
        if name is None:
            say = await self._wording(spoken, None)
            return [_say(incoming, say.choose.format(crews=", ".join(crews)))]
        crew = await self._crew(name)
        if crew is None or crew.state is not CrewState.ACTIVE:
            say = farm_wording(language_of(spoken) if spoken else _language_of(crew, self))
            held = say.paused if crew is not None and crew.state is CrewState.PAUSED else None
            log.info("%s wrote to crew %s, which is not active: not kept", person, name)
            return [_say(incoming, (held or say.deleting).format(crew=name))]
        if not command.startswith("/"):  # commands are not counted
            refused = await admit(
                self.rate,
                self.farm.keys(name),
                crew,
                incoming,
                person=person,
                spoken=spoken,
                gateway_for=self.gateway_for,
            )
            if refused is not None:
                return [refused]
        gateway = await self.gateway_for(name)
        if command == "/pair" and (answer := await self._pair(gateway, incoming, crew, rest)):
            return [_say(incoming, answer)]
        return await gateway.receive(incoming)

    async def _pick(self, person: str, crews: list[str]) -> str | None:
        """The crew a person's message goes to: their only one, else their pick among theirs."""
        if len(crews) == 1:
            return crews[0]
        chosen = await self.people.choice(person)
        return chosen if chosen in crews else None

    async def _crew(self, name: str) -> Crew | None:
        try:
            return await self.farm.registry.get(name)
        except CrewRefused:
            return None  # gone from the registry: its delete is finishing

    async def _wording(self, spoken: str, crew_name: str | None) -> FarmWording:
        """The person's language: their words', else their crew's, else the farm's."""
        told: str | None = language_of(spoken) if spoken else None
        if told is None and crew_name is not None:
            crew = await self._crew(crew_name)
            told = crew.language if crew is not None else None
        return farm_wording(told or self.language)

    async def _stranger(self, incoming: Incoming, person: str, spoken: str) -> Outgoing:
        """No crew hears a stranger; they get a farm code a crew's owner or an admin approves."""
        say = farm_wording((language_of(spoken) if spoken else None) or self.language)
        if await self.people.is_admin(person):
            return _say(incoming, say.admin_help)
        if incoming.channel in LOCAL_CHANNELS:
            return _say(incoming, say.stranger_local)
        pairing = await self.pairings.request(incoming.channel, incoming.user, incoming.chat)
        if pairing is None:
            log.warning("unknown %s user %s refused; too many codes pending", *_who(incoming))
            return _say(incoming, say.stranger_crowded)
        log.warning(
            "unknown %s user %s refused; farm pairing code %s", *_who(incoming), pairing.code
        )
        return _say(incoming, say.stranger.format(code=pairing.code))

    async def _pair(
        self, gateway: Gateway, incoming: Incoming, crew: Crew, rest: str
    ) -> str | None:
        """``/pair CODE [member]`` with a farm code, by the crew's owner: into this crew only.

        None hands the command to the crew's own gateway: a code of the crew's own, no
        code, or a person who is not the owner (the crew's gateway refuses them).
        """
        code, _, member = rest.strip().partition(" ")
        if not code or await self.pairings.get(code) is None:
            return None
        found = await gateway.members.find(incoming.channel, incoming.user)
        if found is None or found.role != "owner":
            return None
        say = farm_wording(crew.language)
        as_member = member.strip() or None
        ids = [m.id for m in gateway.config.members]
        if as_member is not None and as_member not in ids:
            return say.not_member.format(member=as_member, members=", ".join(ids))
        return await join(self.farm, self.pairings, code, crew.name, say, as_member=as_member)


def _language_of(crew: Crew | None, gateway: FarmGateway) -> str:
    return crew.language if crew is not None else gateway.language


def _who(incoming: Incoming) -> tuple[str, str]:
    return incoming.channel, incoming.user


def _say(incoming: Incoming, text: str) -> Outgoing:
    return Outgoing(channel=incoming.channel, chat=incoming.chat, text=text, thread=incoming.thread)
