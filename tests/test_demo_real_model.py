"""The demo runs on a real provider when one is configured: the Anthropic SDK, end to end."""

from __future__ import annotations

from typing import Any

import pytest

from equipage.chat import Outgoing
from equipage.config import Settings
from equipage.demo import run_demo
from equipage.testing import HAIKU_SPEC
from equipage.testing.fake_anthropic import FakeAnthropic, RecordedRequest, Step, text, tool_use


def _latest_request(history: list[Any]) -> str:
    """The founder's latest words: the last user text that is not a result."""
    found = ""
    for message in history:
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for block in message["content"]:
            said = str(block.get("text", ""))
            if block.get("type") == "text" and not said.startswith(("Result from", "<untrusted")):
                found = said
    return found


def play_the_crew(request: RecordedRequest) -> Step:
    """What a capable model would do in the demo, decided from the request alone."""
    body: Any = request.body
    tools = {t["name"] for t in body.get("tools", [])}
    history = body["messages"]
    # Consecutive user turns arrive merged: what is new is the turn's last block.
    last = history[-1]["content"][-1]
    said = str(last.get("text", ""))
    if "delegate" not in tools:  # cto or marketing
        if last.get("type") == "tool_result":
            return text("")
        if "Result from workflow.tenders" in said:
            return tool_use("reply", {"text": f"The tender watch ran. {said[-400:]}"})
        if "public tenders" in said:
            return tool_use("start_workflow", {"name": "tenders", "input": {}})
        return tool_use("reply", {"text": f"Draft for: {said[:80]}"})
    if last.get("type") == "tool_result":
        verdict = str(last.get("content", ""))
        if verdict.startswith("approved"):
            return tool_use("reply", {"text": "Published, as approved."})
        return text("")  # after a delegate or a reply: wait, or done
    tenders = "public tenders" in _latest_request(history)
    if "Result from" in said and tenders:
        return tool_use("reply", {"text": "This week's tenders, ranked, with drafts exported."})
    answered = sum(str(m["content"]).count("Result from") for m in history if m["role"] == "user")
    if said.startswith("Result from") and answered >= 2:
        return tool_use("ask_human", {"question": "Both drafts are in. Publish?"})
    if "Result from" in said:
        return text("")
    if tenders:
        brief = "Find this week's public tenders and draft an answer for the best one."
        return tool_use("delegate", {"role": "marketing", "brief": brief})
    step = tool_use("delegate", {"role": "marketing", "brief": "Write the launch post."})
    both = (*step.tools, ("delegate", {"role": "cto", "brief": "Write the hosting-cost note."}))
    return Step(tools=both)


@pytest.mark.e2e
async def test_demo_plays_through_the_anthropic_sdk_when_a_key_is_set() -> None:
    async with FakeAnthropic(play_the_crew) as fake:
        settings = Settings(anthropic_api_key="sk-test", anthropic_base_url=fake.url)
        shown: list[Outgoing] = []
        result = await run_demo(
            lambda who, message: shown.append(message),
            model=HAIKU_SPEC,
            settings=settings,
        )
    assert result.ok, result.problems
    assert result.notes == []
    models = {r.body["model"] for r in fake.requests}
    assert models == {HAIKU_SPEC.removeprefix("anthropic:")}
    assert any(m.text == "Published, as approved." for m in shown)
    assert any(m.text == "This week's tenders, ranked, with drafts exported." for m in shown)
    assert any(name.endswith(".docx") for name in result.exports)
    assert all("offline model" not in m.text for m in shown)


async def test_demo_on_a_provider_without_its_key_falls_back_to_offline_and_says_so() -> None:
    result = await run_demo(lambda who, message: None, model="anthropic:claude-haiku-4-5")
    assert result.ok, result.problems
    assert any("ANTHROPIC_API_KEY is not set" in note for note in result.notes)
