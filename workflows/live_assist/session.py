"""The listening loop of one live session: read segments, spot triggers, send suggestions.

The loop reads the session's stream from a cursor kept in Redis, so whoever runs it (the
workflow's graph node, or ``equipage live`` in a terminal) resumes where the last run
stopped. Each segment costs one XREAD share and one Lua call; the model is only called
for a suggestion the rate limit will let through.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from equipage import live
from equipage.bus import Bus
from equipage.envelope import Envelope, Kind, Origin
from equipage.memory import Memory
from equipage.workflow import WorkflowContext
from workflows.live_assist.models import LiveInput, LiveOutput, Suggestion
from workflows.live_assist.phrasing import instructions, material, template
from workflows.live_assist.rolling import Line, Rolling
from workflows.live_assist.segments import Entry, from_entry
from workflows.live_assist.store import LiveState, Step
from workflows.live_assist.triggers import Detector, Trigger

__all__ = ["Audience", "Session", "suggestion_id"]

log = logging.getLogger(__name__)

SENDER = "workflow.live_assist"
#: How long a finished session's stream and state stay readable (a re-run, a look back).
KEEP_SECONDS = 24 * 3600
_FACTS_EVERY = 60.0
_MODEL_TIMEOUT = 10.0
_LABELS = {
    "fr": {"argument": "Argument", "question": "Question à poser", "fact": "Fait"},
    "en": {"argument": "Argument", "question": "Question to ask", "fact": "Fact"},
}


class Audience(BaseModel):
    """Who receives the suggestions: the founder's conversation, and the request's ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origin: Origin | None
    thread: str
    cause: str | None = None
    hops: int = 0


def suggestion_id(session: str, entry_id: str) -> str:
    """The envelope id of the suggestion a segment triggered: the same on any re-run."""
    return hashlib.sha256(f"live\0{session}\0{entry_id}".encode()).hexdigest()[:32]


class Session:
    """One live conversation followed from its segment stream."""

    def __init__(
        self,
        ctx: WorkflowContext,
        params: LiveInput,
        *,
        session: str,
        run: str,
        audience: Audience,
        clock: Callable[[], float] = time.time,
        events_maxlen: int = 10_000,
    ) -> None:
        self.ctx = ctx
        self.params = params
        self.session = session
        self.run_id = run
        self.audience = audience
        self.clock = clock
        self.state = LiveState(Bus(ctx.redis, ctx.keys, events_maxlen=events_maxlen), session)
        self.detector = Detector(params, ctx.profile)
        self.memory = Memory(ctx.redis, ctx.keys)
        self.rolling = Rolling()
        self.given: set[str] = set()
        self.last_sent: float | None = None

    async def run(self, stop: asyncio.Event | None = None) -> LiveOutput:
        """Follow the conversation until an 'end' segment, idleness, the time limit or ``stop``."""
        if self.audience.origin is None:
            return self._output({}, "no_origin")
        now = self.clock()
        snapshot = await self.state.open(
            self.run_id, now=now, since_ms=int((now - self.params.max_lag) * 1000)
        )
        if snapshot.ended:
            return self._output(snapshot.counts, snapshot.ended)
        self.rolling = snapshot.context
        self.given = snapshot.given
        self.last_sent = snapshot.last_sent
        await self.state.once("start", self._envelope("start", self._welcome()))
        # So the member's /suggest and /endcall in chat reach this session.
        member, limit = self.audience.origin.member, snapshot.started + self.params.max_duration
        await live.mark_active(
            self.ctx.redis, self.ctx.keys, member, self.session, seconds=limit - now
        )
        ended = await self._listen(snapshot.cursor, snapshot.started, stop)
        if ended != "stopped":
            # Over for good: a re-run of the node returns this output at once. A stopped
            # runner is only this one giving up; the next one resumes the conversation.
            await self.state.end(ended)
            await self.state.expire(KEEP_SECONDS)
            await live.mark_ended(self.ctx.redis, self.ctx.keys, member, self.session)
        return self._output(await self.state.counts(), ended)

    async def _listen(self, cursor: str, started: float, stop: asyncio.Event | None) -> str:
        stream = self.ctx.keys.live_segments(self.session)
        loop = asyncio.get_running_loop()
        idle_until = loop.time() + self.params.idle_timeout
        end_at = started + self.params.max_duration
        next_facts = 0.0
        while True:
            if stop is not None and stop.is_set():
                return "stopped"
            if loop.time() >= idle_until:
                return "idle"
            if self.clock() >= end_at:
                return "duration"
            if loop.time() >= next_facts:
                self.detector.use_facts(await self.memory.all())
                next_facts = loop.time() + _FACTS_EVERY
            wait = min(idle_until - loop.time(), end_at - self.clock(), 1.0)
            # Never 0: for XREAD, BLOCK 0 means forever.
            reply: Any = await self.ctx.redis.xread(
                {stream: cursor}, count=100, block=max(int(wait * 1000), 1)
            )
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    entry = from_entry(entry_id, fields)
                    cursor = entry.entry_id
                    idle_until = loop.time() + self.params.idle_timeout
                    await self.handle(entry)
                    if entry.segment.kind == "end":
                        return "end"

    async def handle(self, entry: Entry) -> None:
        """Take one segment: context, trigger, suggestion, all committed in one step."""
        segment = entry.segment
        base = {
            "entry_id": entry.entry_id,
            "producer_id": segment.id,
            "interval": self.params.interval,
        }
        if segment.id and await self.state.seen(segment.id):
            await self.state.step(Step(**base, context=self.rolling, now=self.clock()))
            return
        now = self.clock()
        late = now * 1000 - entry.at_ms > self.params.max_lag * 1000
        stale = late and segment.kind != "end"
        trigger: Trigger | None = None
        if segment.kind == "speech" and segment.text.strip():
            line = Line(speaker=segment.speaker, text=segment.text)
            self.rolling.add(line, keep=self.params.context_segments)
            trigger = None if stale else self.detector.detect(line, self.given)
            if trigger is not None and trigger.topic.startswith("objection:"):
                self.rolling.objected(trigger.topic.partition(":")[2])
        elif segment.kind == "ask" and not stale:
            trigger = self.detector.on_ask(segment.text, self.rolling.recent)
        envelope: Envelope | None = None
        by_model = False
        if trigger is not None and self._may_send(trigger, now):
            suggestion = await self.compose(trigger, segment.lang or self._language())
            by_model = suggestion.by != "template"
            envelope = self._envelope(entry.entry_id, self._render(suggestion))
        at = self.clock()  # after the model: the rate limit counts from the sending
        outcome = await self.state.step(
            Step(
                **base,
                context=self.rolling,
                now=at,
                speech=segment.kind == "speech",
                stale=stale,
                asked=trigger.asked if trigger else False,
                kind=trigger.kind if trigger else "",
                topic=trigger.topic if trigger else "",
                envelope=envelope,
                by_model=by_model,
                ends=segment.kind == "end",
            )
        )
        if outcome == "sent" and trigger is not None:
            self.last_sent = at
            self.given.add(trigger.topic)
        elif outcome in ("old", "duplicate"):
            # Another runner took this segment first: its context is the one that counts.
            self.rolling = await self.state.context()

    async def compose(self, trigger: Trigger, language: str) -> Suggestion:
        """The suggestion's words: the model's, or the template's if it is offline or fails."""
        lang = self.params.language if self.params.language != "auto" else language
        sells = self.ctx.profile.sells if self.ctx.profile else ""
        draft = template(trigger, lang, sells)
        text, by = draft, "template"
        if not self.ctx.templated:
            brief = instructions(trigger, lang, draft)
            about = material(trigger, self.rolling.transcript(), self.rolling.summary())
            try:
                async with asyncio.timeout(_MODEL_TIMEOUT):
                    written = await self.ctx.write(brief, about, fallback=draft)
                text, by = written.text, written.by
            except Exception:
                # A live call does not wait for a model that failed: the template will do.
                log.warning("live_assist: the model failed; using the template", exc_info=True)
        return Suggestion(
            kind=trigger.kind, text=text, why=trigger.said, topic=trigger.topic, by=by
        )

    def _may_send(self, trigger: Trigger, now: float) -> bool:
        """The rate limit as last seen; the step script has the final word."""
        if trigger.asked or self.last_sent is None:
            return True
        return now - self.last_sent >= self.params.interval

    def _render(self, suggestion: Suggestion) -> str:
        lang = self._language()
        label = _LABELS[lang][suggestion.kind]
        said = " ".join(suggestion.why.split())
        said = said if len(said) <= 100 else said[:99].rstrip() + "…"
        sep = " : " if lang == "fr" else ": "
        return f"{label}{sep}{suggestion.text}\n> {said}"

    def _language(self) -> str:
        if self.params.language != "auto":
            return self.params.language
        profile = self.ctx.profile
        default = profile.language if profile and profile.language in ("fr", "en") else "en"
        return self.rolling.language(default)

    def _welcome(self) -> str:
        sid, every = self.session, f"{self.params.interval:g}"
        where = f"equipage live --session {sid}"
        if self.params.source == "websocket":
            where = f"ws://{self.params.host}:{self.params.port}"
        if self._language() == "fr":
            return (
                f"J'écoute la conversation (session {sid}). Envoyez la transcription avec "
                f"`{where}`. Au plus une suggestion toutes les {every} s ; /suggest pour en "
                "demander une tout de suite, /end pour finir."
            )
        return (
            f"Listening to the conversation (session {sid}). Send the transcript with "
            f"`{where}`. At most one suggestion every {every} s; /suggest for one right "
            "now, /end to finish."
        )

    def _envelope(self, entry_id: str, text: str) -> Envelope:
        audience = self.audience
        return Envelope(
            id=suggestion_id(self.session, entry_id),
            kind=Kind.REPLY,
            company=self.ctx.company,
            to="human",
            sender=SENDER,
            thread=audience.thread,
            text=text,
            hops=audience.hops,
            origin=audience.origin,
            cause=audience.cause,
            # Built from what the other party said: content from outside.
            untrusted=True,
        )

    def _output(self, counts: dict[str, int], ended: str) -> LiveOutput:
        by_kind = {k.removeprefix("kind:"): n for k, n in counts.items() if k.startswith("kind:")}
        return LiveOutput.model_validate(
            {
                "session": self.session,
                "language": self._language(),
                "segments": counts.get("segments", 0),
                "suggestions": sum(by_kind.values()),
                "by_kind": by_kind,
                "asked": counts.get("asked", 0),
                "dropped": counts.get("dropped", 0),
                "duplicates": counts.get("duplicates", 0),
                "stale": counts.get("stale", 0),
                "written_by_model": counts.get("model", 0),
                "ended": ended,
            }
        )
