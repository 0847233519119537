"""What every page of the console reads: the crew it shows, who looks, and how to render.

One ``Console`` per served crew (its Redis, keys, config and folder); the guard
(``equipage.web.guard``) puts the viewer's ``Viewer`` and ``Session`` on each request, so a
page never meets an anonymous person. ``render`` fills a template with the viewer's words
(``equipage.web.i18n``), the session's CSRF token and the navigation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from equipage.config import CompanyConfig
from equipage.keys import Keys
from equipage.language import Language

__all__ = [
    "TEMPLATES",
    "Console",
    "FarmView",
    "Viewer",
    "console_of",
    "csrf_of",
    "nav",
    "render",
    "templates",
    "viewer_of",
]

#: The console's Jinja2 templates.
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class FarmView:
    """The farm a console is served by, for the farm page."""

    redis: aioredis.Redis
    namespace: str
    folder: Path  # the farm's folder
    admins: frozenset[str]  # member ids allowed on the farm page
    shards: int = 4  # the farm's wake-up streams (farm.yaml's pool.shards)


@dataclass
class Console:
    """What every page reads; one per served crew."""

    redis: aioredis.Redis
    keys: Keys  # the crew's keys
    config: CompanyConfig  # the crew's company.yaml, loaded
    home: Path  # the crew's home folder (files, audit key, anchors)
    farm: FarmView | None = None  # set when served by a farm (the farm page reads it)


@dataclass(frozen=True)
class Viewer:
    """The person looking, as chat knows them."""

    member: str  # the member id
    owner: bool  # the crew's owner: sees every thread, may approve
    language: Language  # "fr" | "en", the person's language as in chat
    admin: bool = False  # one of the farm's admins: sees the farm page


def console_of(request: Any) -> Console:
    """The console of the crew the viewer is logged into (the guard put it on the request:
    a farm's console builds and keeps one per crew, ``equipage.web.farmdoor``)."""
    console: Console = getattr(request.state, "console", None) or request.app.state.console
    return console


def viewer_of(request: Any) -> Viewer:
    """The viewer the guard let in; every page has one (there is no anonymous page)."""
    viewer: Viewer = request.state.viewer
    return viewer


def csrf_of(request: Any) -> str:
    """The CSRF token of the viewer's session, for every ``<form method="post">``."""
    return str(request.state.csrf)


@cache
def templates() -> Any:
    """The console's Jinja2 environment (autoescape on), built once."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        enable_async=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


async def render(request: Any, template: str, status_code: int = 200, **values: Any) -> Any:
    """``template`` as an HTML response, with ``values`` plus viewer, t, csrf and nav."""
    from starlette.responses import HTMLResponse

    from equipage.web.i18n import words

    viewer = viewer_of(request)
    page = templates().get_template(template)
    text = page.render(
        viewer=viewer,
        t=words(viewer.language),
        csrf=csrf_of(request),
        nav=nav(viewer, request.url.path),
        lang=viewer.language,
        **values,
    )
    return HTMLResponse(text, status_code=status_code)


def nav(viewer: Viewer, current: str) -> list[dict[str, Any]]:
    """The navigation links the viewer may follow: path, label and whether it is here."""
    from equipage.web.i18n import words
    from equipage.web.pages import PAGES

    said = words(viewer.language)
    return [
        {
            "path": page.path,
            "label": said.get(page.nav_label_key, page.nav_label_key),
            "current": current == page.path
            or (page.path != "/" and current.startswith(page.path + "/")),
        }
        for page in PAGES
        if page.nav_label_key is not None and "GET" in page.methods
        if viewer.owner or not page.owner_only
        if viewer.admin or not page.admin_only
    ]
