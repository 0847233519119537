"""Overview: the crew as an org chart, what runs now, queue lag, spend against budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from equipage.budget import Budget
from equipage.events import Event
from equipage.language import number
from equipage.llm.pricing import CURRENCY
from equipage.metrics import inbox_role
from equipage.status import read_status
from equipage.web.context import Console, Viewer, console_of, render, viewer_of
from equipage.web.feed import clock, follow, newest, row, threadbook_of
from equipage.web.pages import Page
from equipage.web.threadbook import root_of

__all__ = ["WORDS", "pages"]

WORDS = {
    "fr": {
        "nav_overview": "Vue d'ensemble",
        "overview_title": "Vue d'ensemble",
        "org_chart": "L'équipage",
        "model": "Modèle",
        "tools": "Outils",
        "delegates_to": "Délègue à",
        "nobody": "personne",
        "running_now": "En cours",
        "queue": "File d'attente",
        "inbox": "Boîte",
        "in_hand": "en cours",
        "waiting_in_queue": "en attente",
        "workers_alive": "Processus de travail actifs",
        "questions_open": "Questions ouvertes",
        "dead_letters": "Messages abandonnés",
        "spend": "Dépenses",
        "spend_today": "Aujourd'hui",
        "spend_month": "Ce mois-ci",
        "of_limit": "sur",
        "recent": "Activité",
        "paused_note": "L'équipage est en pause (/resume pour reprendre).",
    },
    "en": {
        "nav_overview": "Overview",
        "overview_title": "Overview",
        "org_chart": "The crew",
        "model": "Model",
        "tools": "Tools",
        "delegates_to": "Delegates to",
        "nobody": "nobody",
        "running_now": "Running now",
        "queue": "Queue",
        "inbox": "Inbox",
        "in_hand": "in hand",
        "waiting_in_queue": "waiting",
        "workers_alive": "Workers alive",
        "questions_open": "Open questions",
        "dead_letters": "Dead letters",
        "spend": "Spend",
        "spend_today": "Today",
        "spend_month": "This month",
        "of_limit": "of",
        "recent": "Activity",
        "paused_note": "The crew is paused (/resume to go on).",
    },
}

_BOX_W, _BOX_H, _GAP = 150, 46, 24
#: Events the overview shows before live ones arrive.
_RECENT = 30


@dataclass(frozen=True)
class Node:
    role: str
    model: str
    tools: tuple[str, ...]
    delegates: tuple[str, ...]
    x: int
    y: int


def org_chart(console: Console) -> tuple[list[Node], list[tuple[int, int, int, int]], int]:
    """The roles laid out (the entry role above the others), the delegation lines, the width."""
    roles = console.config.roles
    entry = console.config.runtime.entry_role
    others = [r for r in roles if r != entry]
    width = max(len(others), 1) * (_BOX_W + _GAP)
    nodes: list[Node] = []
    for i, name in enumerate([entry, *others] if entry in roles else others):
        role = roles[name]
        delegates = tuple(r for r in roles if r != name) if "delegate" in role.tools else ()
        if name == entry:
            x, y = (width - _BOX_W) // 2, 10
        else:
            x, y = (i - (entry in roles)) * (_BOX_W + _GAP) + _GAP // 2, 110
        nodes.append(Node(name, role.model, tuple(role.tools), delegates, x, y))
    at = {n.role: n for n in nodes}
    lines = [
        (n.x + _BOX_W // 2, n.y + _BOX_H, at[d].x + _BOX_W // 2, at[d].y)
        for n in nodes
        if n.role == entry
        for d in n.delegates
    ]
    return nodes, lines, width


async def overview(request: Any) -> Any:
    console = console_of(request)
    viewer = viewer_of(request)
    keys, redis, config = console.keys, console.redis, console.config
    raw: Any = await redis.smembers(keys.streams)
    streams = [s.decode() if isinstance(s, bytes) else str(s) for s in raw]
    inboxes = sorted(role for s in streams if (role := inbox_role(keys, s)) is not None)
    status = await read_status(redis, keys, inboxes or list(config.roles))
    budget = Budget(
        redis,
        keys,
        daily={name: r.daily_budget for name, r in config.roles.items()},
        monthly=config.runtime.monthly_budget,
    )
    spend = await budget.spend()
    nodes, lines, width = org_chart(console)

    def money(value: float) -> str:
        return f"{number(value, '.2f', viewer.language)} {CURRENCY}"

    days = [
        {
            "role": role,
            "spent": money(spend.day.get(role, 0.0)),
            "limit": money(limit),
            "share": min(spend.day.get(role, 0.0) / limit, 1.0) if limit else 0.0,
        }
        for role, limit in spend.daily_limits.items()
    ]
    month = {
        "spent": money(spend.month_total),
        "limit": money(spend.monthly_limit),
        "share": min(spend.month_total / spend.monthly_limit, 1.0) if spend.monthly_limit else 0.0,
    }
    waiting = [
        a
        for a in status.waiting
        if viewer.owner or (a.origin is not None and a.origin.member == viewer.member)
    ]
    book = threadbook_of(request)
    progress = [p for p in status.progress if await book.visible(viewer, root_of(p.thread or "-"))]
    return await render(
        request,
        "overview.html",
        nodes=nodes,
        lines=lines,
        width=width,
        box_w=_BOX_W,
        box_h=_BOX_H,
        status=status,
        questions=len(waiting),
        progress=progress,
        days=days,
        month=month,
        paused=bool(await redis.exists(keys.paused)),
        after=await newest(request),
        clock=clock,
        rows=await _recent(request, viewer),
    )


async def _recent(request: Any, viewer: Viewer) -> list[str]:
    """The latest events the viewer may see, newest first, as rows."""
    console = console_of(request)
    book = threadbook_of(request)
    raw: Any = await console.redis.xrevrange(console.keys.events, count=_RECENT * 4)
    rows: list[str] = []
    for entry_id, fields in raw:
        event = Event.model_validate_json(fields.get(b"event") or fields.get("event"))
        here = root_of(event.thread) if event.thread else None
        if viewer.owner or (here is not None and await book.visible(viewer, here)):
            rows.append(
                row(viewer, entry_id.decode() if isinstance(entry_id, bytes) else entry_id, event)
            )
        if len(rows) >= _RECENT:
            break
    return rows


async def live(request: Any) -> Any:
    """The overview's live activity: every event the viewer may see."""
    return await follow(request, viewer_of(request), None)


pages = [
    Page("/", "overview", overview, nav_label_key="nav_overview"),
    Page("/live/overview", "overview_live", live),
]
