"""The demo ends with its crew's web console served and a login link that works."""

from __future__ import annotations

import re

import httpx
import pytest

from equipage.demo import DemoResult, run_demo


@pytest.mark.e2e
async def test_the_demos_login_link_opens_a_console_that_shows_its_conversation() -> None:
    seen: dict[str, str] = {}

    async def hold(result: DemoResult, address: str, link: str) -> None:
        assert result.ok, result.problems
        assert address.startswith("http://127.0.0.1:") and link.startswith(address + "/login/")
        async with httpx.AsyncClient(base_url=address) as browser:
            page = await browser.get(link)
            action = re.search(r'action="([^"]+)"', page.text)
            assert action is not None
            assert (await browser.post(action.group(1))).status_code == 303
            seen["overview"] = (await browser.get("/")).text
            seen["threads"] = (await browser.get("/threads")).text
            seen["thread"] = (await browser.get("/threads/console:camille")).text
            seen["again"] = str((await browser.get(link)).status_code)

    await run_demo(lambda who, message: None, lang="fr", hold=hold)
    assert ">marketing<" in seen["overview"] and "Délègue à" in seen["overview"]
    assert "console:camille" in seen["threads"]
    assert "Nuage Clair Pro" in seen["thread"]  # the founder's request
    assert "delegate" in seen["thread"] and "console:camille/cto/" in seen["thread"]
    assert seen["again"] == "403"  # the link worked once
