"""What ``equipage workflow run`` shows while a run goes on and after: progress, files.

Progress is the workflow's own ``ctx.progress(...)`` events, read from the events stream
as they come: a live line in a terminal, one plain line each otherwise (a log, a pipe).
The files a run wrote are those new or changed under its files folder, by absolute path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.status import Status

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from equipage.app import Session

from equipage.envelope import Kind
from equipage.events import Event, EventType
from equipage.failure_text import workflow_failed
from equipage.keys import Keys, thread_key

__all__ = [
    "Progress",
    "Stamps",
    "refused",
    "refused_output",
    "run_output",
    "stamps",
    "written",
]

#: Size and modification time of each file under a folder, to tell what a run wrote.
Stamps = dict[Path, tuple[int, int]]

_MARK = "\x00"


class Progress:
    """Shows the progress of workflow ``title`` on ``console``: a live line in a terminal,
    plain lines otherwise."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self.live = console.is_terminal
        self._status: Status | None = None
        self.seen: list[str] = []
        #: The run's thread, once its envelope is seen on the events stream.
        self.thread = ""

    def __enter__(self) -> Progress:
        if self.live:
            self._status = self.console.status(escape(f"{self.title}: starting"))
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    def update(self, detail: str) -> None:
        self.seen.append(detail)
        if self._status is not None:
            # Most workflows start their steps with their name ("tenders: 3 read"): once.
            shown = detail if detail.startswith(f"{self.title}:") else f"{self.title}: {detail}"
            self._status.update(escape(shown))
        else:
            self.console.print(f"… {detail}", markup=False, highlight=False, soft_wrap=True)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The live line out of the way, while a question waits for an answer."""
        if self._status is not None:
            self._status.stop()
        try:
            yield
        finally:
            if self._status is not None:
                self._status.start()

    async def follow(
        self, redis: aioredis.Redis, keys: Keys, sender: str, by: str, stop: asyncio.Event
    ) -> None:
        """Show ``sender``'s progress events from now on, until ``stop`` and read to the end;
        note the thread of the first run of ``sender`` that ``by`` starts."""
        last: Any = await redis.xrevrange(keys.events, count=1)
        cursor: bytes | str = last[0][0] if last else "0-0"
        while True:
            stopping = stop.is_set()
            reply: Any = await redis.xread({keys.events: cursor}, count=100, block=200)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id
                    event = _event(fields)
                    if event is None:
                        continue
                    if event.type is EventType.PROGRESS and event.sender == sender:
                        self.update(event.detail)
                    elif _started(event, sender, by) and not self.thread:
                        self.thread = event.thread
            if stopping and not reply:
                return


def _event(fields: dict[bytes, bytes]) -> Event | None:
    try:
        return Event.model_validate_json(fields.get(b"event", b""))
    except ValidationError:
        return None  # not ours to judge: ``equipage status`` reports a bad entry


def _started(event: Event, workflow: str, by: str) -> bool:
    return (
        event.type is EventType.PUBLISHED
        and event.kind == Kind.WORKFLOW.value
        and (event.to, event.sender) == (workflow, by)
    )


async def run_output(session: Session, workflow: str, thread: str) -> object | None:
    """The output the run of ``workflow`` on ``thread`` ended with, from its checkpoint."""
    from equipage.runtime.thread import ThreadRunner  # LangGraph: for a run only

    handler = session.crew.handlers.get(workflow)
    if not thread or not isinstance(handler, ThreadRunner):
        return None
    # The key ``ThreadRunner`` runs the thread under (``equipage.agent.thread_id``).
    config: RunnableConfig = {"configurable": {"thread_id": thread_key(workflow, thread)}}
    snapshot = await handler.graph.aget_state(config)
    return snapshot.values.get("output")


def refused_output(output: object) -> bool:
    """True when a run's output says its input could not be used: workflows say so in
    ``refused`` (coaching, tender answers) or ``problem`` (migration)."""
    return bool(getattr(output, "refused", None) or getattr(output, "problem", None))


def refused(name: str, text: str) -> bool:
    """True when ``text`` is workflow ``name``'s refusal of its input, in any language."""
    prefixes = {
        workflow_failed(name, language, refusal=_MARK).partition(_MARK)[0]
        for language in ("en", "fr", None)
    }
    return text.startswith(tuple(prefixes))


def stamps(folder: Path) -> Stamps:
    """Every file under ``folder`` (none when it does not exist) with its size and time."""
    found: Stamps = {}
    if folder.is_dir():
        for path in folder.rglob("*"):
            with contextlib.suppress(OSError):  # gone since listed
                if path.is_file():
                    info = path.stat()
                    found[path] = (info.st_size, info.st_mtime_ns)
    return found


def written(folder: Path, before: Stamps) -> list[Path]:
    """The files under ``folder`` new or changed since ``before``, absolute, sorted."""
    return sorted(p.resolve() for p, stamp in stamps(folder).items() if before.get(p) != stamp)
