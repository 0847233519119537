"""The console's door: no page without a session, no POST without its CSRF token.

Every page's endpoint is wrapped by ``guarded``: without a live session cookie a GET gets
the login page and a 401 (a POST a bare 401); an owner-only page answers 403 to a member;
a POST whose ``csrf`` field (or ``X-CSRF-Token`` header, htmx's way) is not the
session's token gets 403. A page then reads the viewer with ``context.viewer_of``.

Which crew a session is for is the app's ``Door``'s answer (one crew, or the crew a farm's
cookie names); the guard puts that crew's console, live hub, threadbook and gateway on the
request, and nothing of another crew.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from equipage.language import Language, choose
from equipage.web.context import Console, Viewer
from equipage.web.door import CrewConsole
from equipage.web.i18n import words
from equipage.web.login import COOKIE, WebSession

if TYPE_CHECKING:
    from equipage.web.pages import Page  # the pages import this module

Endpoint = Callable[[Any], Awaitable[Any]]

__all__ = ["company_language", "guarded", "plain", "viewer_for"]

_SAFE = frozenset({"GET", "HEAD"})


async def viewer_for(console: Console, member: str) -> Viewer:
    """``member`` as the console shows them: owner or not, in their language as in chat."""
    known = next((m for m in console.config.members if m.id == member), None)
    told = await console.redis.hget(console.keys.member_languages(), member)
    language = choose(told.decode() if isinstance(told, bytes) else told, company_language(console))
    return Viewer(
        member=member,
        owner=known is not None and known.role == "owner",
        language=language,
        admin=console.farm is not None and member in console.farm.admins,
    )


def company_language(console: Console) -> Language:
    return choose(console.config.company.profile.language)


def plain(request: Any, language: Language, title: str, text: str, status: int) -> Any:
    """A page with a title and a sentence (login, link used, refused), in ``language``."""
    from starlette.responses import HTMLResponse

    from equipage.web.context import templates

    said = words(language)
    page = templates().get_template("login.html")
    html = page.render(lang=language, title=said[title], text=said[text])
    return HTMLResponse(html, status_code=status)


async def _entered(request: Any) -> tuple[CrewConsole, WebSession] | None:
    """The crew and session of the request's cookie, if any."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    found: tuple[CrewConsole, WebSession] | None = await request.app.state.door.enter(cookie)
    return found


async def _csrf_ok(request: Any, session: WebSession) -> bool:
    given = request.headers.get("x-csrf-token")
    if given is None and "form" in request.headers.get("content-type", ""):
        form = await request.form()  # kept on the request: the endpoint reads it again
        value = form.get("csrf")
        given = value if isinstance(value, str) else None
    return given is not None and hmac.compare_digest(given.encode(), session.csrf.encode())


def guarded(page: Page) -> Endpoint:
    """``page``'s endpoint behind the session, owner and CSRF checks."""

    async def endpoint(request: Any) -> Any:
        from starlette.responses import PlainTextResponse

        entered = await _entered(request)
        members = entered[0].console.config.members if entered is not None else []
        if entered is None or not any(m.id == entered[1].member for m in members):
            if request.method in _SAFE:
                language = request.app.state.door.language()
                return plain(request, language, "login_title", "login_how", 401)
            return PlainTextResponse("Log in first", 401)
        crew, session = entered
        console = crew.console
        viewer = await viewer_for(console, session.member)
        request.state.viewer = viewer
        request.state.csrf = session.csrf
        request.state.console = console
        request.state.hub = crew.hub
        request.state.threadbook = crew.threadbook
        request.state.answer = crew.answer
        if page.owner_only and not viewer.owner:
            return plain(request, viewer.language, "forbidden_title", "forbidden", 403)
        if request.method not in _SAFE and not await _csrf_ok(request, session):
            return plain(request, viewer.language, "forbidden_title", "forbidden", 403)
        return await page.endpoint(request)

    return endpoint
