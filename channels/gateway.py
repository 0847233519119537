"""The gateway: the one place where people enter the crew, and where answers leave it.

Inbound, it drops duplicate deliveries, lets only known members through, answers the
commands (``/approve``, ``/reject``, ``/show`` the whole of a question, ``/status``,
``/help``...; an accepted answer comes back as ``channels.answered.Answered``), passes the
commands workflows declare (``equipage.commands``: a live call's, for one) to their
handlers and puts everything else on the entry role's inbox, with the text of the files
they sent (``channels.attachments``) and a typing indicator kept alive meanwhile
(``channels.presence``). Outbound (``channels.outbound``), it reads the outbox in its own
consumer group and hands each message to the adapter of the platform the conversation came
from. ``aclose`` ends the background work it started.

What the gateway says itself (command answers, refusals, notices) and what adapters add
to a question (its hint, its buttons, the mark once answered) follow the person's
language (``channels.wording``), decided in this order: the language of their message
when its words tell (``equipage.language.language_of``; a command's ids and codes tell
nothing, only the note of ``/approve`` and ``/reject`` is read); else the language the
member last wrote in, kept in Redis (``Keys.member_languages``) so every gateway process
knows it; else the company's first language (``profile.language``); else English.
Commands are the same in every language; ``/approuver`` and ``/refuser`` are accepted
for ``/approve`` and ``/reject``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from redis.exceptions import RedisError

from channels.attachments import notice, read_attachments
from channels.hearing import Hearing
from channels.languages import Languages
from channels.outbound import Outbound
from channels.presence import Presence
from channels.seen import CLAIMED, Seen
from channels.wording import EN, Wording, wording
from equipage.approvals import Approvals
from equipage.budget import Budget
from equipage.bus import Bus
from equipage.chat import LOCAL_CHANNELS, Channel, Downloader, Incoming, Outgoing
from equipage.commands import Command, Invocation, installed, table
from equipage.config import CompanyConfig, Member
from equipage.documents import Limits
from equipage.envelope import Envelope, Kind, Origin
from equipage.errors import ConfigError, StillHandling
from equipage.language import language_of
from equipage.llm.options import ProviderOptions
from equipage.llm.pricing import CURRENCY
from equipage.logs import logging_context
from equipage.members import Members
from equipage.replication import replicated

__all__ = ["HELP", "Gateway"]

log = logging.getLogger(__name__)

HELP = EN.help
# French founders may type the verb in French; the commands themselves stay the same.
_ALIASES = {"/approuver": "/approve", "/refuser": "/reject"}
_OWNER_ONLY = frozenset({"/approve", "/reject", "/show", "/stop", "/resume", "/pair"})
_OWN = _OWNER_ONLY | {"/help", "/status", "/budget", "/web", *_ALIASES}


class Gateway:
    """Access control, routing and delivery between people and the crew."""

    def __init__(
        self,
        config: CompanyConfig,
        bus: Bus,
        channels: Mapping[str, Channel] | None = None,
        *,
        relay_only: frozenset[str] = frozenset({"cli"}),
        budget: Budget | None = None,
        documents: Limits | None = None,
        typing_every: float = 4.0,
        typing_for: float = 120.0,
        claim_for: float = 60.0,
        commands: Iterable[Command] | None = None,
        options: ProviderOptions | None = None,
    ) -> None:
        self.config = config
        self.bus = bus
        self.budget = budget
        self.members = Members(config, bus.redis, bus.keys)
        self.channels = dict(channels or {})
        # Conversations whose replies are read straight from the outbox by their client
        # (``equipage send``): acknowledged here without sending.
        self.relay_only = relay_only
        self.approvals = Approvals(bus.redis, bus.keys)
        self.documents = documents or Limits(memory=config.runtime.document_memory_mb * 1024 * 1024)
        self.presence = Presence(every=typing_every, longest=typing_for)
        self.hearing = Hearing.of(config, options, budget, self.documents)  # voice notes
        self.languages = Languages(bus.redis, bus.keys, config.company.profile.language)
        self.seen = Seen(bus.redis, bus.keys, claim_for)
        # What workflows add (default: every installed workflow's), beside its own.
        self.commands = table(installed() if commands is None else commands, taken=_OWN)
        self.outbound = Outbound(
            bus,
            self.channels,
            presence=self.presence,
            languages=self.languages,
            relay_only=relay_only,
        )

    async def aclose(self) -> None:
        """End the background work: the typing indicators still running."""
        await asyncio.gather(self.presence.aclose(), self.hearing.aclose())

    # -- inbound --------------------------------------------------------------------------
    async def receive(self, incoming: Incoming) -> list[Outgoing]:
        """Handle one message from a person; returns what to answer right away."""
        with logging_context(crew=self.bus.keys.company):
            return await self._receive(incoming)

    async def _receive(self, incoming: Incoming) -> list[Outgoing]:
        channel, message_id = incoming.channel, str(incoming.message_id)
        if incoming.message_id and (found := await self.seen.claim(channel, message_id)):
            if found == CLAIMED:
                log.info("%s message %s sent again while being stored: later", channel, message_id)
                raise StillHandling(f"{channel} message {message_id}")
            log.info("duplicate %s message %s ignored", channel, message_id)
            return []
        try:
            answers = await self._handle(incoming)
        except Exception:
            self.presence.stop(incoming.channel, incoming.chat)
            if incoming.message_id:
                await self.seen.forget(channel, message_id)
            raise
        # What it wrote must outlive a failover: once answered, the platform never resends it.
        await replicated(self.bus.redis, self.bus.keys.replication_mark)
        if incoming.message_id:
            try:
                await self.seen.stored(channel, message_id)
            except RedisError as err:
                # Handled all the same: the platform must not send it again.
                log.warning(
                    "%s message %s handled, but marked seen for %gs only: %s",
                    channel,
                    message_id,
                    self.seen.claim_for,
                    err,
                )
        return answers

    async def _handle(self, incoming: Incoming) -> list[Outgoing]:
        text = incoming.text.strip()
        command, _, rest = text.partition(" ")
        command = command.lower().split("@", 1)[0]  # Telegram appends @botname
        command = _ALIASES.get(command, command)
        member = await self._member(incoming)
        spoken = _words(text, command, rest) if command not in self.commands else ""
        if member is None:
            guessed = language_of(spoken) if spoken else None
            return [await self._stranger(incoming, wording(self.languages.answer_in(guessed)))]
        await self.outbound.release_held(incoming.channel, incoming.chat)
        if not text and not incoming.attachments and not incoming.forwarded:
            return []
        shown = await self.languages.shown(member.id, spoken)
        say = wording(self.languages.answer_in(shown))
        if command in _OWNER_ONLY and member.role != "owner":
            return [self._say(incoming, say.owner_only.format(command=command))]
        if command in ("/approve", "/reject"):
            return [await self._answer(incoming, member, command == "/approve", rest, shown)]
        if command == "/show":
            return [self._say(incoming, await self._show(rest, say))]
        if command == "/help":
            return [self._say(incoming, say.help)]
        if command == "/status":
            return [self._say(incoming, await self._status(member, say))]
        if command == "/budget":
            return [self._say(incoming, await self._budget(say))]
        if command == "/web":
            return [self._say(incoming, await self._web(member, say))]
        if command in ("/stop", "/resume"):
            return [self._say(incoming, await self._pause(command == "/stop", say))]
        if command == "/pair":
            return [self._say(incoming, await self._pair(rest, say))]
        if (added := self.commands.get(command)) is not None:
            return [self._say(incoming, await self._run(added, incoming, member, rest, say))]
        self._typing(incoming)  # first: reading the files may take a while
        channel = self.channels.get(incoming.channel)
        heard = await self.hearing.hear(channel, incoming, self._thread(incoming), shown)
        if heard.empty:
            return heard.said
        incoming, text, shown = heard.incoming, heard.incoming.text.strip(), heard.language or shown
        attachments = incoming.attachments
        if attachments and isinstance(channel, Downloader):
            attachments = await read_attachments(channel, attachments, self.documents)
        await self.bus.publish(
            Envelope(
                kind=Kind.TASK,
                company=self.bus.keys.company,
                to=self.config.runtime.entry_role,
                sender=f"member:{member.id}",
                thread=self._thread(incoming),
                text=text,
                origin=self._origin(incoming, member, shown),
                attachments=attachments,
                forwarded=incoming.forwarded,  # not their words: the crew reads it fenced
            )
        )
        unread = notice(attachments, say)
        return [*heard.said, self._say(incoming, unread)] if unread else heard.said

    def _typing(self, incoming: Incoming) -> None:
        """Show the person that the crew is on it, where the platform can, without waiting."""
        typing = getattr(self.channels.get(incoming.channel), "typing", None)
        if typing is not None:
            self.presence.start(incoming.channel, incoming.chat, typing)

    async def _member(self, incoming: Incoming) -> Member | None:
        if incoming.channel in LOCAL_CHANNELS:
            known = self.config.member_for("console", incoming.user)
            return known or next((m for m in self.config.members if m.id == incoming.user), None)
        return await self.members.find(incoming.channel, incoming.user)

    async def _stranger(self, incoming: Incoming, say: Wording) -> Outgoing:
        """No agent hears a stranger; they get a code the owner can approve."""
        if incoming.channel in LOCAL_CHANNELS:
            return self._say(incoming, say.stranger_local)
        pairing = await self.members.request(incoming.channel, incoming.user, incoming.chat)
        if pairing is None:
            log.warning(
                "message from unknown %s user %s refused; too many pairing codes pending",
                incoming.channel,
                incoming.user,
            )
            return self._say(incoming, say.stranger_crowded)
        log.warning(
            "message from unknown %s user %s refused; pairing code %s",
            incoming.channel,
            incoming.user,
            pairing.code,
        )
        return self._say(incoming, say.stranger.format(code=pairing.code))

    async def _pair(self, rest: str, say: Wording) -> str:
        code, _, member = rest.strip().partition(" ")
        if not code:
            pending = await self.members.pending()
            listing = "; ".join(f"{p.code} ({p.platform} {p.user})" for p in pending)
            return say.pending.format(listing=listing or say.none)
        try:
            pairing, member_id = await self.members.approve(code, as_member=member.strip() or None)
        except ConfigError as err:
            return str(err)
        return say.paired.format(platform=pairing.platform, user=pairing.user, member=member_id)

    async def _pause(self, stop: bool, say: Wording) -> str:
        keys = self.bus.keys
        if stop:
            await self.bus.redis.set(keys.paused, "1")
            return say.paused
        await self.bus.redis.delete(keys.paused)
        return say.resumed

    async def _budget(self, say: Wording) -> str:
        if self.budget is None:
            return say.no_budget
        spend = await self.budget.spend()
        month = say.budget_month.format(
            spent=say.number(spend.month_total, ".4f"),
            limit=say.number(spend.monthly_limit, "g"),
            currency=CURRENCY,
        )
        days = [
            say.budget_role.format(
                role=role,
                spent=say.number(spend.day.get(role, 0.0), ".4f"),
                limit=say.number(limit, "g"),
            )
            for role, limit in spend.daily_limits.items()
        ]
        return "\n".join([month, *days])

    async def _web(self, member: Member, say: Wording) -> str:
        """A one-time link to the web console, for this member alone (``equipage.web``)."""
        from equipage.web.login import address, login_link

        link = await login_link(self.bus.redis, self.bus.keys, member.id)
        if link is None:
            return say.web_off
        return say.web_link.format(address=await address(self.bus.redis, self.bus.keys), link=link)

    async def _answer(
        self, incoming: Incoming, member: Member, approved: bool, rest: str, shown: str | None
    ) -> Outgoing:
        language = self.languages.answer_in(shown)
        say = wording(language)
        question_id, _, note = rest.strip().partition(" ")
        if not question_id:
            verb = "/approve" if approved else "/reject"
            return self._say(incoming, say.which_question.format(verb=verb))
        if member.role != "owner":
            return self._say(incoming, say.only_owner_answers)
        approval = await self.approvals.get(question_id)
        if approval is None:
            return self._say(incoming, say.no_open_question.format(id=question_id))
        await self.bus.publish(
            approval.answered(
                self.bus.keys.company,
                member=member.id,
                approved=approved,
                note=note.strip(),
                origin=self._origin(incoming, member, shown),
            )
        )
        verdict = say.approved if approved else say.rejected
        return await self.outbound.answered(
            channel=incoming.channel,
            chat=incoming.chat,
            text=say.goes_on.format(verdict=verdict, id=approval.id),
            thread=incoming.thread,
            question_id=approval.id,
            approved=approved,
            by=member.name,
            topic=approval.topic,
            language=language,
        )

    async def _show(self, rest: str, say: Wording) -> str:
        """The whole of what an open question asks: a call's long arguments unshortened."""
        question_id = rest.strip().partition(" ")[0]
        if not question_id:
            return say.which_question.format(verb="/show")
        approval = await self.approvals.get(question_id)
        if approval is None:
            return say.no_open_question.format(id=question_id)
        return approval.full or approval.text

    async def _run(
        self, command: Command, incoming: Incoming, member: Member, rest: str, say: Wording
    ) -> str:
        """Hand a workflow's command to its handler; its answer is in the member's words."""

        def said(key: str, /, **fields: str) -> str:
            return str(getattr(say, key)).format(**fields)

        # The platform's message id: a redelivery the gateway handles again counts once.
        producer = f"{incoming.channel}:{incoming.message_id}" if incoming.message_id else ""
        invocation = Invocation(
            redis=self.bus.redis,
            keys=self.bus.keys,
            member=member.id,
            rest=rest,
            producer=producer,
            say=said,
        )
        return await command.handler(invocation)

    async def _status(self, member: Member, say: Wording) -> str:
        owner = member.role == "owner"
        open_questions = await self.approvals.all(of_member=None if owner else member.id)
        lines = [(say.waiting if owner else say.waiting_member).format(count=len(open_questions))]
        # The last line is the question itself; a blank question still gets listed.
        lines += [
            say.waiting_one.format(
                id=a.id, role=a.role, text=(a.text.strip().splitlines() or [""])[-1][:120]
            )
            for a in open_questions
        ]
        return "\n".join(lines)

    def _thread(self, incoming: Incoming) -> str:
        base = f"{incoming.channel}:{incoming.chat}"
        return f"{base}:{incoming.thread}" if incoming.thread else base

    def _origin(self, incoming: Incoming, member: Member, shown: str | None) -> Origin:
        # Only a language the person showed: what reads it falls back to the company's own.
        return Origin(
            channel=incoming.channel,
            chat=incoming.chat,
            member=member.id,
            thread=incoming.thread,
            language=shown,
        )

    def _say(self, incoming: Incoming, text: str) -> Outgoing:
        return Outgoing(
            channel=incoming.channel, chat=incoming.chat, text=text, thread=incoming.thread
        )

    async def deliver(self, consumer: str, stop: asyncio.Event, *, block_ms: int = 500) -> None:
        """Send outbox messages to their platforms until ``stop`` is set."""
        await self.outbound.deliver(consumer, stop, block_ms=block_ms)


def _words(text: str, command: str, rest: str) -> str:
    """The words of a message that can tell its language; of a command, only an answer's note.

    Ids, codes and a live call's focus keyword ("prix", "pricing") are no sentences.
    """
    if command in ("/approve", "/reject"):
        return rest.strip().partition(" ")[2]
    return "" if command in _OWN else text
