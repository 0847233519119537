"""The farm's ``/crew`` commands in chat: anyone picks among their own crews, admins run the farm.

``/crew`` alone shows a person's crews and the one in use; ``/crew use NAME`` picks one of
their own (never another's: the index decides, not what they typed). The admins' verbs
(``new``, ``list``, ``pause``, ``resume``, ``delete``, ``export``, ``pair``) are refused to
anyone not in ``FarmKeys.admins``, before anything is read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from channels.farm_wording import FarmWording
from equipage.errors import ConfigError, CrewRefused
from equipage.farm import Crew, CrewState, Farm, Owner, crew_config, export_path
from equipage.farm.archive import export_crew
from equipage.farm.pairing import FarmPairings, member_id_for

__all__ = ["ADMIN_VERBS", "CrewCommands", "join"]

log = logging.getLogger(__name__)

ADMIN_VERBS = frozenset({"new", "list", "pause", "resume", "delete", "export", "pair"})
_LANGUAGES = ("fr", "en")


class CrewCommands:
    """Answers ``/crew ...`` for one person (``person``: their ``<platform>:<user>``)."""

    def __init__(
        self,
        farm: Farm,
        pairings: FarmPairings,
        *,
        forget: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.farm = farm
        self.people = farm.people
        self.pairings = pairings
        # Tells whoever keeps crews' gateways that one paused, resumed or went away.
        self.forget = forget

    async def run(self, person: str, rest: str, say: FarmWording) -> str:
        verb, _, args = rest.strip().partition(" ")
        verb = verb.lower()
        words = args.split()
        if not verb:
            return await self.mine(person, say)
        if verb == "use":
            return await self.use(person, words[0] if words else "", say)
        if verb not in ADMIN_VERBS:
            return say.usage
        if not await self.people.is_admin(person):
            log.warning("%s refused /crew %s: not a farm admin", person, verb)
            return say.admin_only.format(verb=verb)
        try:
            return await self._admin(verb, words, say)
        except (CrewRefused, ConfigError) as err:
            return say.refused.format(error=str(err))

    async def mine(self, person: str, say: FarmWording) -> str:
        crews = await self.people.crews_of(person)
        if not crews:
            return say.none_yours
        current = await self.people.choice(person)
        if current not in crews:
            current = crews[0] if len(crews) == 1 else say.no_pick
        return say.yours.format(crews=", ".join(crews), current=current)

    async def use(self, person: str, name: str, say: FarmWording) -> str:
        if name and await self.people.use(person, name):
            return say.using.format(crew=name)
        crews = await self.people.crews_of(person)
        return say.not_yours.format(crew=name or "?", crews=", ".join(crews) or say.none)

    async def _admin(self, verb: str, words: list[str], say: FarmWording) -> str:
        if verb == "list":
            return await self._list(say)
        if verb == "pair":
            return await self.pair(words, say)
        if not words:
            return say.usage
        name = words[0]
        if verb == "new":
            return await self._new(words, say)
        if verb == "pause":
            await self.farm.registry.pause(name)
            await self._forget(name)
            return say.held.format(crew=name)
        if verb == "resume":
            await self.farm.registry.resume(name)
            await self._forget(name)
            return say.served.format(crew=name)
        if verb == "export":
            return await self.export(name, say)
        # delete: the archive first, then everything (Farm.delete_crew)
        deleted = await self.farm.delete_crew(name)
        await self._forget(name)
        if deleted.archive is None:
            return say.deleted_again.format(crew=name, removed=deleted.removed)
        return say.deleted.format(crew=name, removed=deleted.removed, archive=deleted.archive)

    async def _new(self, words: list[str], say: FarmWording) -> str:
        if len(words) < 2:
            return say.usage
        name, owner, *more = words
        language = next((w for w in more if w in _LANGUAGES), "en")
        template = next((w for w in more if w not in _LANGUAGES), None)
        person = Owner.parse(owner)
        if template is None:
            crew = await self.farm.new_crew(name, owner=person, language=language)
        else:
            crew = await self.farm.new_crew(
                name, owner=person, language=language, template=template
            )
        await self.farm.welcome(crew)
        return say.created.format(crew=crew.name, owner=str(crew.owner))

    async def export(self, name: str, say: FarmWording) -> str:
        """``/crew export NAME``: the crew's archive in ``exports/``, as a delete writes it."""
        try:
            crew = await self.farm.registry.get(name)
        except CrewRefused:
            return say.no_such_crew.format(crew=name)
        if crew.state is CrewState.DELETING:
            return say.deleting.format(crew=name)  # what is left is no longer the whole crew
        archive = export_path(self.farm.root, name)
        archive.parent.mkdir(parents=True, exist_ok=True)
        folder = crew_config(self.farm.root, name).parent
        count = await export_crew(self.farm.registry, folder, name, archive)
        log.info("crew %s exported to %s (%d keys)", name, archive, count)
        # Relative: the admin reads it in chat, and the farm's absolute path is no one's business.
        relative = archive.relative_to(self.farm.root).as_posix()
        return say.exported.format(crew=name, archive=relative, keys=count)

    async def _list(self, say: FarmWording) -> str:
        crews = await self.farm.registry.crews()
        if not crews:
            return say.no_crews
        lines = [_listed(crew, say) for crew in crews]
        return say.listing.format(crews="\n".join(lines))

    async def pair(self, words: list[str], say: FarmWording) -> str:
        """``/crew pair CODE NAME``: the admin lets a stranger into crew NAME only."""
        if len(words) < 2:
            pending = await self.pairings.pending()
            listing = "; ".join(f"{p.code} ({p.platform} {p.user})" for p in pending)
            return say.pending.format(listing=listing or say.none)
        code, name = words[0], words[1]
        crew = await self.farm.registry.get(name)
        if crew.state is CrewState.DELETING:
            return say.deleting.format(crew=name)
        return await join(self.farm, self.pairings, code, name, say)

    async def _forget(self, name: str) -> None:
        if self.forget is not None:
            await self.forget(name)


async def join(
    farm: Farm,
    pairings: FarmPairings,
    code: str,
    crew: str,
    say: FarmWording,
    *,
    as_member: str | None = None,
) -> str:
    """Let the stranger behind farm ``code`` into ``crew``: its identities, then the index."""
    pairing = await pairings.get(code)
    if pairing is None:
        return say.no_code.format(code=code.strip().upper())
    await pairings.join(pairing.code, farm.keys(crew), as_member=as_member)
    await farm.people.add(f"{pairing.platform}:{pairing.user}", crew)
    await pairings.done(pairing)
    log.info("%s user %s joins crew %s", pairing.platform, pairing.user, crew)
    member = as_member or member_id_for(pairing)
    return say.paired.format(platform=pairing.platform, user=pairing.user, crew=crew, member=member)


def _listed(crew: Crew, say: FarmWording) -> str:
    state = say.states.get(crew.state.value, crew.state.value)
    return say.listed.format(crew=crew.name, state=state, owner=str(crew.owner))
