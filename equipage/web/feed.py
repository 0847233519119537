"""Events as the console shows them: one row each, the same on a page and in its live stream."""

from __future__ import annotations

import time
from typing import Any

from equipage.events import Event
from equipage.web.context import Viewer, templates
from equipage.web.i18n import words
from equipage.web.live import Drafted, Hub, Shown, last_event_id, stream
from equipage.web.threadbook import Threadbook, root_of

__all__ = ["clock", "follow", "hub_of", "newest", "row", "threadbook_of"]


def hub_of(request: Any) -> Hub:
    """The live reader of the viewer's crew (the guard put it on the request)."""
    hub: Hub = request.state.hub
    return hub


def threadbook_of(request: Any) -> Threadbook:
    """The threadbook of the viewer's crew (the guard put it on the request)."""
    book: Threadbook = request.state.threadbook
    return book


def clock(at: float) -> str:
    """The time of day of ``at`` (UTC), as a row shows it."""
    return time.strftime("%H:%M:%S", time.gmtime(at))


def row(viewer: Viewer, entry_id: str, event: Event, *, link: bool = True) -> str:
    """The HTML row of one event, in the viewer's words."""
    page = templates().get_template("_event.html")
    return str(
        page.render(
            t=words(viewer.language),
            event=event,
            entry_id=entry_id,
            at=clock(event.at),
            root=root_of(event.thread) if event.thread else "",
            link=link,
        )
    )


async def follow(
    request: Any, viewer: Viewer, root: str | None, drafted: Drafted | None = None
) -> Any:
    """The SSE stream of the events a viewer may see: one conversation's, or all of theirs;
    with the replies being written when ``drafted`` shows them."""
    book = threadbook_of(request)

    async def shown(entry_id: str, event: Event) -> str | None:
        here = root_of(event.thread) if event.thread else None
        if root is not None and here != root:
            return None
        if not viewer.owner and (here is None or not await book.visible(viewer, here)):
            return None
        return row(viewer, entry_id, event, link=root is None)

    after = request.query_params.get("after") or None
    if after is not None and not _entry_id(after):
        after = None
    handler: Shown = shown
    return await stream(request, hub_of(request), handler, after, drafted)


async def newest(request: Any) -> str:
    """Where a page's live part starts: the newest event now."""
    hub = hub_of(request)
    return await last_event_id(hub.redis, hub.stream)


def _entry_id(text: str) -> bool:
    millis, _, seq = text.partition("-")
    return millis.isdigit() and seq.isdigit()
