"""The console's read model of threads: conversations, who they belong to, their timeline.

A conversation is a root thread (``telegram:41``, the chat a person wrote in); the roles'
agent threads under it (``ceo:telegram:41``, a delegation ``cto:telegram:41/cto/c1``, a
workflow run ``…/wf-tenders/c2``) keep their history in the checkpoints. Whose it is
comes from the origin its entry role's checkpoint holds (the member whose message led to
it); a conversation with no member's origin is the owner's alone. Origins and titles
never change once written, so they are kept in memory once read; which threads there are
and how recent, and the newest events, come from ``threadindex``, kept fresh cheaply.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from equipage.events import Event
from equipage.web.context import Console, Viewer
from equipage.web.threadindex import ThreadIndex, agent_thread, root_of

__all__ = ["Conversation", "Step", "Threadbook", "agent_thread", "root_of"]


@dataclass(frozen=True)
class Conversation:
    """One conversation as the list shows it."""

    root: str
    member: str | None  # whose messages led to it; None: the crew's own (a schedule)
    title: str  # the first thing the person wrote, shortened
    latest: str  # the newest checkpoint id of its threads (sorts by time)
    threads: tuple[str, ...]  # its agent thread ids


@dataclass(frozen=True)
class Step:
    """One line of a timeline: a message, a tool call, a delegation, a run, a question."""

    kind: str  # user | assistant | call | result | question | answer | progress | event
    role: str
    thread: str
    text: str
    at: float | None = None
    arguments: str = ""  # a call's arguments, as JSON


@dataclass
class Threadbook:
    """Reads conversations of one console's crew; remembers what never changes."""

    console: Console
    _known: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    _saver: Any = None
    _index: ThreadIndex | None = None

    @property
    def index(self) -> ThreadIndex:
        """Which threads each conversation has and its newest checkpoint, kept fresh."""
        if self._index is None:
            self._index = ThreadIndex(self.console.redis, self.console.keys)
        return self._index

    def saver(self) -> Any:
        if self._saver is None:
            from equipage.checkpoint import RedisSaver
            from equipage.crew import serializer

            self._saver = RedisSaver(self.console.redis, self.console.keys, serde=serializer())
        return self._saver

    async def state(self, thread_id: str) -> dict[str, Any]:
        """The latest values of an agent thread's checkpoint ({} when it has none)."""
        config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
        found = await self.saver().aget_tuple(config)
        return dict(found.checkpoint.get("channel_values", {})) if found else {}

    async def _facts(self, root: str, thread_ids: list[str]) -> tuple[str | None, str]:
        """(member, title) of a conversation, read once from its first role's checkpoint."""
        if root in self._known:
            return self._known[root]
        entry = self.console.config.runtime.entry_role
        ordered = sorted(thread_ids, key=lambda t: (agent_thread(t) != (entry, root), t))
        values = await self.state(ordered[0]) if ordered else {}
        origin = values.get("origin")
        member = _field(origin, "member") or None
        first = next((m for m in values.get("messages", []) if _field(m, "role") == "user"), None)
        title = " ".join(str(_field(first, "content") or "").split())[:120]
        if values:
            self._known[root] = (member, title)
        return member, title

    async def conversations(
        self, viewer: Viewer, *, search: str = "", limit: int = 50
    ) -> list[Conversation]:
        """The viewer's conversations, newest first; ``search`` in their id or title."""
        ids, newest = await self.index.read()
        wanted = search.strip().lower()
        shown: list[Conversation] = []
        for root in sorted(ids, key=lambda r: newest.get(r, ""), reverse=True):
            member, title = await self._facts(root, list(ids[root]))
            if not self.may_see(viewer, member):
                continue
            if wanted and wanted not in root.lower() and wanted not in title.lower():
                continue
            shown.append(
                Conversation(root, member, title, newest.get(root, ""), tuple(sorted(ids[root])))
            )
            if len(shown) >= limit:
                break
        return shown

    def may_see(self, viewer: Viewer, member: str | None) -> bool:
        """The owner sees every conversation; a member those their own messages led to."""
        return viewer.owner or (member is not None and member == viewer.member)

    async def owner_of(self, root: str) -> str | None:
        """The member a conversation belongs to (None: the crew's own, or unknown)."""
        ids = list((await self.index.threads()).get(root, ()))
        return (await self._facts(root, ids))[0] if ids else None

    async def visible(self, viewer: Viewer, root: str) -> bool:
        """Whether ``viewer`` may see the conversation ``root``."""
        if viewer.owner:
            return True
        return self.may_see(viewer, await self.owner_of(root))

    async def timeline(self, root: str) -> list[Step]:
        """Each agent thread's messages and calls, then the conversation's recent events."""
        steps: list[Step] = []
        thread_ids = sorted((await self.index.threads()).get(root, ()), key=lambda t: (len(t), t))
        for thread_id in thread_ids:
            role, thread = agent_thread(thread_id)
            if role not in self.console.config.roles:
                continue  # a workflow run: shown by its events (progress), not its state
            for message in (await self.state(thread_id)).get("messages", []):
                steps += _message_steps(role, thread, message)
        return steps

    async def events(self, root: str) -> list[tuple[str, Event]]:
        """The conversation's events among the stream's newest, oldest first."""
        found = []
        for entry_id, raw in await self.index.recent(root):
            try:
                found.append((entry_id, Event.model_validate_json(raw)))
            except ValidationError:
                continue  # another version's event: not shown rather than fatal
        return found


def _message_steps(role: str, thread: str, message: Any) -> list[Step]:
    kind = str(_field(message, "role"))
    content = str(_field(message, "content") or "")
    if kind == "system":
        return []
    if kind == "tool":
        name = _field(message, "name") or "tool"
        return [Step("result", role, thread, f"{name}: {content}")]
    steps = [Step(kind, role, thread, content)] if content.strip() else []
    for call in _field(message, "tool_calls") or ():
        arguments = json.dumps(_field(call, "arguments") or {}, ensure_ascii=False, indent=1)
        steps.append(Step("call", role, thread, str(_field(call, "name")), arguments=arguments))
    return steps


def _field(value: Any, name: str) -> Any:
    """A field of a revived model or of its dict (a checkpoint of another version)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def since(at: float) -> float:
    """Seconds since ``at`` (unix), for "asked 3 min ago"."""
    return max(0.0, time.time() - at)
