"""The console as a whole: its words, vendored files, templates, headers and listener."""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from equipage.company.platforms import ConsoleConfig
from equipage.keys import Keys
from equipage.web.app import STATIC
from equipage.web.context import TEMPLATES, Console, templates
from equipage.web.i18n import tables
from equipage.web.login import address
from equipage.web.serve import console_server
from tests.test_cli import equipage
from tests.test_up import READY, Up, folder
from tests.test_web_login import CONFIG

__all__ = ["folder"]  # the fixture, from test_up


def test_every_word_of_the_console_exists_in_french_and_in_english() -> None:
    both = tables()
    assert set(both["fr"]) == set(both["en"])
    assert all(both["fr"].values()) and all(both["en"].values())


def test_every_word_a_template_reads_exists() -> None:
    known = set(tables()["en"])
    for template in TEMPLATES.glob("*.html"):
        used = set(re.findall(r"\bt\.([a-z_]+)", template.read_text(encoding="utf-8")))
        assert used <= known, (template.name, used - known)


def test_the_vendored_scripts_are_those_pinned_in_vendored_md() -> None:
    table = (STATIC / "VENDORED.md").read_text(encoding="utf-8")
    for name in ("htmx.min.js", "sse.js"):
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(name)}`.*`{digest}`", table), name
    assert 'version:"2.' in (STATIC / "htmx.min.js").read_text(encoding="utf-8")


def test_templates_escape_what_they_show() -> None:
    page = templates().from_string("<p>{{ text }}</p>")
    assert page.render(text="<script>x</script>") == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


def test_the_console_listens_on_loopback_by_default() -> None:
    assert ConsoleConfig().host == "127.0.0.1"


async def test_static_files_are_served_with_headers_that_keep_a_link_private(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    async with console_server(console) as served, httpx.AsyncClient(base_url=served.url) as web:
        script = await web.get("/static/htmx.min.js")
        login = await web.get("/login")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for answer in (script, login):
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"


async def test_a_taken_port_moves_the_console_to_a_free_one_and_redis_says_where(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    console = Console(redis=redis, keys=keys, config=CONFIG, home=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with console_server(console, port=port) as served:
            assert not served.url.endswith(f":{port}")
            assert await address(redis, keys) == served.url
            async with httpx.AsyncClient(base_url=served.url) as web:
                assert (await web.get("/login")).status_code == 200


@pytest.mark.e2e
def test_up_serves_the_console_and_both_web_login_and_the_web_command_give_a_link(
    folder: Path,
) -> None:
    up = Up(folder)
    try:
        up.wait_for(READY)
        up.wait_for("web console at ")
        found = re.search(r"web console at (http://127\.0\.0\.1:\d+)", up.output)
        assert found is not None
        console = found[1]
        printed = equipage(folder, "web", "login")
        assert f"console: {console}" in printed
        by_cli = re.search(r"(http://\S+/login/\S+)", printed)
        up.type("/web")
        up.wait_for("/login/", timeout=30)
        by_chat = re.findall(r"(http://\S+/login/\S+)", up.output)
        assert by_cli is not None and by_chat
        for link in (by_cli[1], by_chat[-1]):
            with httpx.Client() as browser:
                assert browser.get(link).status_code == 200
                assert browser.post(link).status_code == 303
                assert browser.get(console + "/").status_code == 200
                assert browser.post(link).status_code == 403  # once only
    finally:
        up.close()


def test_web_login_says_so_when_no_console_is_served(folder: Path) -> None:
    printed = equipage(folder, "web", "login", code=1)
    assert "equipage up" in printed
