"""The console's Starlette app: the pages behind the guard, the login link, static files.

``create_app`` serves one crew's ``Console``; ``door_app`` serves whoever a ``Door`` lets
in (a farm's crews, ``equipage.web.farmdoor``). Every page of ``equipage.web.pages.PAGES``
is behind ``guard.guarded``; only the login routes and ``/static`` are open. A login
link's GET answers a page that posts back (a chat app's link preview runs no script, so
it cannot use the link up); the POST takes the token, opens a session and sends the
browser to the overview.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from equipage.web.context import Console
from equipage.web.door import Door, OneCrew, Receive
from equipage.web.guard import guarded, plain, viewer_for
from equipage.web.login import COOKIE, SESSION_FOR
from equipage.web.pages import PAGES, Page

__all__ = ["STATIC", "Receive", "create_app", "door_app"]

#: The vendored scripts and the style sheet.
STATIC = Path(__file__).parent / "static"

#: Sent with every answer: no framing, no referrer (a login link must not leak).
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    # Only our own files run: no inline script, nothing from elsewhere (htmx adds one style).
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
]


def create_app(console: Console, *, answer: Receive | None = None, secure: bool = False) -> Any:
    """The console of ``console``'s crew.

    ``answer`` is the gateway's ``receive``: how a question is answered from the browser
    (without it the questions page only shows them). ``secure``: served over https, so
    the session cookie is Secure (it is too whenever a request arrives over https).
    """
    door = OneCrew(console, answer)
    app = door_app(door, secure=secure)
    app.state.console = console
    app.state.hub = door.crew.hub
    app.state.threadbook = door.crew.threadbook
    app.state.answer = answer
    return app


def door_app(door: Door, *, secure: bool = False) -> Any:
    """The console of whoever ``door`` lets in; ``secure`` as for ``create_app``."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def cookie_secure(request: Any) -> bool:
        return secure or request.url.scheme == "https"

    async def login_page(request: Any) -> Any:
        return plain(request, door.language(), "login_title", "login_how", 200)

    async def link_page(request: Any) -> Any:
        found = await door.link(request.path_params["token"], take=False)
        if found is None:
            return plain(request, door.language(), "link_used_title", "link_used", 403)
        crew, member = found
        viewer = await viewer_for(crew.console, member)
        return _entering(request, viewer.language)

    async def link_used(request: Any) -> Any:
        found = await door.link(request.path_params["token"], take=True)
        if found is None or not any(m.id == found[1] for m in found[0].console.config.members):
            return plain(request, door.language(), "link_used_title", "link_used", 403)
        cookie = await door.open(*found)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_FOR,
            path="/",
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request),
        )
        return response

    async def logout(request: Any) -> Any:
        await door.leave(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=cookie_secure(request)
        )
        return response

    async def not_found(request: Any, exc: Exception) -> Any:
        return plain(request, door.language(), "not_found_title", "not_found", 404)

    pages = [*PAGES, Page("/logout", "logout", logout, methods=("POST",))]
    routes: list[Any] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login/{token}", link_page, methods=["GET"]),
        Route("/login/{token}", link_used, methods=["POST"]),
        *(Route(p.path, guarded(p), methods=list(p.methods), name=p.name) for p in pages),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.door = door
    return _Headers(app)


def _entering(request: Any, language: Any) -> Any:
    from starlette.responses import HTMLResponse

    from equipage.web.context import templates
    from equipage.web.i18n import words

    said = words(language)
    html = (
        templates()
        .get_template("login.html")
        .render(
            lang=language,
            title=said["enter_title"],
            text=said["enter"],
            button=said["enter_button"],
            action=request.url.path,
        )
    )
    return HTMLResponse(html)


class _Headers:
    """The app, with ``_HEADERS`` on every answer (streams too: plain ASGI, no buffering)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, sending)
