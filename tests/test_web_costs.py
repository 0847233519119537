"""The costs page: spend by role, model, workflow and day, and the cached share of input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from equipage.budget import Budget
from equipage.costbook import KEPT_DAYS, Spent, read_costbook, record_call
from equipage.keys import Keys
from equipage.llm.messages import Completion, Message, Usage
from equipage.metered import Metered
from equipage.testing import SONNET_SPEC, ScriptedModel
from equipage.web.chart import bars
from tests.consoles import served

TODAY = date(2026, 3, 31)


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=UTC)


async def test_calls_add_up_by_role_model_workflow_and_day(
    redis: aioredis.Redis, keys: Keys
) -> None:
    cached = Usage(
        input_tokens=100, output_tokens=50, cache_read_tokens=800, cache_write_tokens=100, cost=0.25
    )
    plain = Usage(input_tokens=1000, output_tokens=10, cost=0.5)
    await record_call(
        redis, keys, role="ceo", model="anthropic:a|b", workflow="", usage=cached, at=at(30)
    )
    await record_call(
        redis, keys, role="ceo", model="anthropic:a|b", workflow="", usage=cached, at=at(31)
    )
    await record_call(
        redis, keys, role="ceo", model="openai:x", workflow="tenders", usage=plain, at=at(31)
    )
    await record_call(redis, keys, role="ops", model="openai:x", workflow="", usage=plain, at=at(1))
    book = await read_costbook(redis, keys, days=30, today=TODAY)

    assert book.first == date(2026, 3, 2) and book.last == TODAY
    assert book.total() == Spent(
        calls=3, cost=1.0, input=1200, output=110, cache_read=1600, cache_write=200
    )
    assert [(name, s.cost) for name, s in book.by("model")] == [
        ("anthropic:a|b", 0.5),  # a '|' in a name survives the field's separators
        ("openai:x", 0.5),
    ]
    assert [(name, s.calls) for name, s in book.by("workflow")] == [("", 2), ("tenders", 1)]
    assert [name for name, _ in book.by("role")] == ["ceo"]  # ops spent on March 1st, too old
    days = book.by_day()
    assert len(days) == 30 and days[0] == (date(2026, 3, 2), Spent())
    assert days[-2][1].cost == pytest.approx(0.25) and days[-1][1].cost == pytest.approx(0.75)
    share = book.total().cached_share
    assert share == pytest.approx(1600 / (1200 + 1600 + 200))
    assert Spent().cached_share is None
    ttl = await redis.ttl(keys.cost_book("2026-03-31"))
    assert KEPT_DAYS * 86400 - 60 < ttl <= KEPT_DAYS * 86400


async def test_a_metered_call_is_counted_with_its_workflow_and_cache_tokens(
    redis: aioredis.Redis, keys: Keys
) -> None:
    budget = Budget(redis, keys, daily={"ceo": 5.0}, monthly=50.0)
    usage = Usage(input_tokens=10, output_tokens=5, cache_read_tokens=90, cost=0.01)
    reply = Completion(content="Hi.", model="sonnet", usage=usage)
    model = ScriptedModel([reply, reply], name=SONNET_SPEC)
    prompt = [Message.user("Hello")]
    await Metered(model, budget, "ceo").complete(prompt, [], thread="ceo:t1")
    await Metered(model, budget, "ceo", workflow="digest").complete(prompt, [], thread="w")
    book = await read_costbook(redis, keys)
    lines = {(line.role, line.model, line.workflow): line.spent for line in book.lines}
    assert set(lines) == {("ceo", SONNET_SPEC, ""), ("ceo", SONNET_SPEC, "digest")}
    assert lines[("ceo", SONNET_SPEC, "digest")] == Spent(
        calls=1, cost=0.01, input=10, output=5, cache_read=90
    )


def test_the_chart_is_inline_svg_with_a_bar_per_day_and_escaped_labels() -> None:
    svg = str(bars([("03-01", 0.5), ("<b>", 1.0), ("03-03", 0.0)], title="Spend", unit="EUR"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 3
    assert "&lt;b&gt;: 1.0000 EUR" in svg and "<b>" not in svg
    assert 'height="0.0"' in svg  # a day without spend has an empty bar, not a missing one
    assert "<rect" not in str(bars([], title="Spend", unit="EUR"))


async def test_the_costs_page_shows_the_spend_chart_and_cached_share_to_the_owner_only(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    usage = Usage(input_tokens=100, output_tokens=50, cache_read_tokens=300, cost=0.25)
    await record_call(redis, keys, role="ceo", model="anthropic:x", workflow="digest", usage=usage)
    async with served(redis, keys, tmp_path) as console:
        alice = await console.browser("alice", "fr")
        page = await alice.get("/costs")
        assert page.status_code == 200
        assert "Coûts des 30 derniers jours" in page.text and "<svg" in page.text
        assert '<span id="cached-share">75,0&nbsp;%</span>' in page.text
        assert "digest" in page.text and "anthropic:x" in page.text and "0,2500" in page.text
        english = await (await console.browser("alice", "en")).get("/costs")
        assert "Share of input tokens read from the cache" in english.text
        assert '<span id="cached-share">75.0&nbsp;%</span>' in english.text
        bob = await console.browser("bob")
        assert (await bob.get("/costs")).status_code == 403
