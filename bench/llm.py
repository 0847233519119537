"""Prompt caching pays: a 10-turn conversation across 3 roles, with caching on and off.

The real crew (CEO, CTO, marketing on the model tests use) runs through the
real ``anthropic`` SDK against ``equipage.testing.fake_anthropic``, which computes cache
reads and writes the way the API documents them. The founder sends 10 requests; the
CEO delegates each to the CTO or marketing, gets the result and replies. The same
conversation runs twice, caching on then off, on fresh servers. Prints JSON with the
cached share of input tokens in steady state (turns 3-10) and the cost per turn.
Targets: cached share >= 0.8 (``--target-cached-share``); cost with caching <= 0.35x
the cost without (``--target-cost-ratio``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _verdict import Check, Target, add_targets, finish

from equipage import (
    ChatModel,
    CompanyConfig,
    Completion,
    Envelope,
    Keys,
    Kind,
    Message,
    Origin,
    ProviderOptions,
    ToolSpec,
    Usage,
    Worker,
    build_crew,
    close_model,
    connect,
    load_model,
    open_target,
)
from equipage.testing import ANTHROPIC_TEST_MODEL, wait_for_stream
from equipage.testing.fake_anthropic import FakeAnthropic, RecordedRequest, Step, text, tool_use

MODEL = ANTHROPIC_TEST_MODEL  # priced, and not deprecated by the locked SDK
TURNS = 10
STEADY_FROM = 3  # turns before this one warm the cache
CACHED_SHARE = Target("cached_share", 0.8, "lowest cached share of input tokens that passes")
COST_RATIO = Target("cost_ratio", 0.35, "highest cost ratio, caching on/off, that passes")
ORIGIN = Origin(channel="console", chat="founder", member="founder")
ANSWER = (
    "Here is the note you asked for. We run two application servers in Paris, a managed "
    "PostgreSQL with daily backups in Amsterdam and object storage for invoices. "
) * 4


def respond(request: RecordedRequest) -> Step:
    """Each role's part: the CEO delegates, the others answer, the CEO relays."""
    body: Any = request.body
    tools = {t["name"] for t in body.get("tools", [])}
    last = body["messages"][-1]["content"]
    blocks = last if isinstance(last, list) else [{"type": "text", "text": last}]
    results = [b for b in blocks if b.get("type") == "tool_result"]
    said = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    if results:
        return text("Waiting for the result." if "delegate" in tools else "Done.")
    if "delegate" in tools and said.startswith("Result from"):
        return tool_use("reply", {"text": f"The team answered:\n{said[:400]}"})
    if "delegate" in tools:
        turn = sum(1 for m in body["messages"] if m["role"] == "user")
        role = "cto" if turn % 2 else "marketing"
        return tool_use("delegate", {"role": role, "brief": f"Please handle: {said}"})
    return tool_use("reply", {"text": ANSWER})


class Recording:
    """Wraps a model to keep the usage of every call."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name
        self.usages: list[tuple[int, Usage]] = []
        self.turn = 0

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], *, on_text: Any = None
    ) -> Completion:
        done = await self.model.complete(messages, tools, on_text=on_text)
        self.usages.append((self.turn, done.usage))
        return done


def company() -> CompanyConfig:
    role = {"model": f"anthropic:{MODEL}", "daily_budget": 100.0}
    return CompanyConfig.model_validate(
        {
            "company": {"id": "bench", "name": "Nuage Clair", "profile": {"sells": "hosting"}},
            "members": [{"id": "founder", "name": "F", "role": "owner",
                         "identities": {"console": "founder"}}],
            "roles": {
                "ceo": {"description": "runs the company", **role},
                "cto": {"description": "hosting and costs", "handles": ["hosting"], **role},
                "marketing": {"description": "launch posts", "handles": ["post"], **role},
            },
            "runtime": {"monthly_budget": 1000.0},
        }
    )  # fmt: skip


async def conversation(caching: bool) -> list[tuple[int, Usage]]:
    """Run the 10 turns on a fresh Redis and fake server; the usage of every call."""
    with tempfile.TemporaryDirectory() as tmp, open_target(None, Path(tmp)) as target:
        redis = connect(target)
        async with FakeAnthropic(respond) as fake:
            options = ProviderOptions(
                anthropic_api_key="bench", anthropic_base_url=fake.url, prompt_caching=caching
            )
            models = {
                r: Recording(load_model(f"anthropic:{MODEL}", options))
                for r in ("ceo", "cto", "marketing")
            }
            keys = Keys("bench", namespace="llm")
            crew = build_crew(company(), redis, keys, models=models, options=options)
            await crew.bus.ensure_groups(crew.handlers)
            stop = asyncio.Event()
            worker = asyncio.create_task(
                Worker(crew.bus, crew.handlers, name="bench", block_ms=20).run(stop)
            )
            try:
                for turn in range(1, TURNS + 1):
                    for model in models.values():
                        model.turn = turn
                    await crew.bus.publish(
                        Envelope(kind=Kind.TASK, company="bench", to="ceo",
                                 sender="member:founder", thread="console:founder",
                                 text=f"Request {turn}: a note on our hosting and a post.",
                                 origin=ORIGIN)
                    )  # fmt: skip
                    await wait_for_stream(redis, keys.outbox, turn, timeout=60)
            finally:
                stop.set()
                await worker
                for model in models.values():
                    await close_model(model.model)
        await redis.aclose()
    return [u for m in models.values() for u in m.usages]


def summarize(usages: list[tuple[int, Usage]]) -> dict[str, float]:
    steady = [u for turn, u in usages if turn >= STEADY_FROM]
    read = sum(u.cache_read_tokens for u in steady)
    total = sum(u.input_tokens + u.cache_read_tokens + u.cache_write_tokens for u in steady)
    return {
        "calls": len(usages),
        "cached_share_steady": round(read / total, 4) if total else 0.0,
        "cost_per_turn": sum(u.cost for _, u in usages) / TURNS,
        "cost_per_turn_steady": sum(u.cost for u in steady) / (TURNS - STEADY_FROM + 1),
    }


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    add_targets(parser, CACHED_SHARE, COST_RATIO)
    args = parser.parse_args(argv)
    cached = summarize(await conversation(caching=True))
    plain = summarize(await conversation(caching=False))
    ratio = cached["cost_per_turn"] / plain["cost_per_turn"] if plain["cost_per_turn"] else 0.0
    result = {
        "benchmark": "llm_prompt_caching",
        "model": f"anthropic:{MODEL}",
        "turns": TURNS,
        "roles": 3,
        "with_caching": cached,
        "without_caching": plain,
        "cost_ratio": round(ratio, 4),
        "target_cached_share": CACHED_SHARE.of(args),
        "target_cost_ratio": COST_RATIO.of(args),
        "note": "token counts are the fake server's estimates (JSON length / 4)",
    }
    checks = [
        Check(
            "with_caching.cached_share_steady",
            cached["cached_share_steady"],
            CACHED_SHARE.of(args),
            at_most=False,
        ),
        Check("cost_ratio", round(ratio, 4), COST_RATIO.of(args)),
    ]
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
