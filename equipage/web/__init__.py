"""The web console: a crew seen and steered from a browser (issue 15).

Server-rendered pages (Starlette, Jinja2 with autoescape, htmx and its SSE extension
vendored in ``static``) behind a one-time login link; served by ``equipage up`` on a
listener of its own, loopback unless ``channels.web.console`` says otherwise.

- ``context``: what a page reads (``Console``, ``Viewer``, ``render``); ``pages``: the pages.
- ``login``: login links and sessions in Redis; ``guard``: no page without a session.
- ``live``: one events reader per console, fanned out to browsers over SSE.
- ``threadbook``: conversations and timelines from the checkpoints and the events.
- ``app`` builds the Starlette app; ``serve`` serves it and says where, in Redis.

It may import ``equipage``; nothing in ``equipage`` but the wiring imports it.

Import from the modules themselves: this package imports none of them, so the gateway
(``/web``) reads ``login`` without loading Starlette and the pages.
"""
