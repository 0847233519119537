"""The web console: a crew seen and steered from a browser (issue 15).

Server-rendered pages (Starlette, Jinja2 with autoescape, htmx and its SSE extension
vendored in ``static``) behind a one-time login link; served by ``equipage up`` on a
listener of its own, loopback unless ``channels.web.console`` says otherwise, and by
``equipage farm up`` once for all its crews (farm.yaml's ``channels.web.console``), each
person in their own crew.

- ``context``: what a page reads (``Console``, ``Viewer``, ``render``); ``pages``: the pages.
- ``login``: login links and sessions in Redis; ``guard``: no page without a session.
- ``door``: which crew a cookie or link is for (one crew); ``farmdoor``: a farm's crews.
- ``live``: one events reader per crew followed, fanned out to its browsers over SSE.
- ``threadbook``: conversations and timelines from the checkpoints and the events.
- ``app`` builds the Starlette app; ``serve`` serves it and says where, in Redis.

It may import ``equipage``; nothing in ``equipage`` but the wiring imports it.

This package imports none of its modules until asked: the gateway (``/web``) reads
``login`` without loading Starlette and the pages. What a program serving the console of
its own needs (``Console``, ``console_server``, ``start_session``...) is named here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it, loaded on first use.
_EXPORTS = {
    "COOKIE": "equipage.web.login",
    "Console": "equipage.web.context",
    "Served": "equipage.web.serve",
    "console_server": "equipage.web.serve",
    "login_link": "equipage.web.login",
    "start_session": "equipage.web.login",
}

__all__ = ["COOKIE", "Console", "Served", "console_server", "login_link", "start_session"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'equipage.web' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


if TYPE_CHECKING:  # what type checkers read; at run time, __getattr__ loads them
    from equipage.web.context import Console
    from equipage.web.login import COOKIE, login_link, start_session
    from equipage.web.serve import Served, console_server
