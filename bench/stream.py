"""How soon a streamed answer shows on Telegram, and how often its message is edited.

One process runs what ``equipage up`` runs (workers, gateway, the Telegram adapter
polling a fake Bot API) on an embedded Redis, with a model that streams ``--tokens``
tokens over ``--stream-s`` seconds (400 over 8 s) to the ``on_text`` of every call.
``--replies`` founders, each in their own chat, ask at once; for each answer the bench
times, from the model's first token, the first time its text is visible on the fake
server (the draft's first message), and counts the calls that show it (that message
and its edits). The baseline, measured in the same run, is what a founder waited before
answers streamed: from the first token to the whole answer in the chat. Passes when the
p99 of first visibility is at most 1.5 s (``--target-p99-ms``), no message is shown
more than once a second from its first showing to its last (``--target-edits-per-s``),
every message ends with the whole answer and none is sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from _stats import latency
from _verdict import Check, Target, add_targets, finish

from equipage import (
    CompanyConfig,
    Completion,
    Message,
    Settings,
    ToolSpec,
    build_crew,
    open_session,
    serve,
)
from equipage.testing.fake_telegram import FakeTelegram

P99_MS = Target("p99_ms", 1500.0, "highest p99 of first token to first visible text, ms")
EDITS_PER_S = Target("edits_per_s", 1.0, "most calls showing one answer per second streamed")
TOKEN = "123456:BENCH-token"
FIRST_FOUNDER = 5000
SETTLE_S = 60.0


class StreamingModel:
    """Streams ``tokens`` words over ``seconds`` to ``on_text``; notes each call's first token."""

    name = "streaming"

    def __init__(self, tokens: int, seconds: float) -> None:
        self.words = [f"w{n} " for n in range(tokens)]
        self.seconds = seconds
        self.first: dict[str, float] = {}  # the answer's text -> when its first token went

    @property
    def answer(self) -> str:
        return "".join(self.words).strip()

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        asked = messages[-1].content
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n, word in enumerate(self.words):
            await asyncio.sleep(max(start + n * self.seconds / len(self.words) - loop.time(), 0))
            if n == 0:
                self.first[asked] = time.monotonic()
            if on_text is not None:
                await on_text(word)
        return Completion(content=self.answer, model=self.name, stop_reason="end_turn")


def _company(founders: int) -> CompanyConfig:
    members = [
        {"id": "camille", "name": "Camille", "role": "owner",
         "identities": {"telegram": str(FIRST_FOUNDER)}},
        *({"id": f"m{n}", "name": f"M{n}", "role": "member",
           "identities": {"telegram": str(FIRST_FOUNDER + n)}} for n in range(1, founders)),
    ]  # fmt: skip
    return CompanyConfig.model_validate(
        {
            "company": {"id": "bench", "name": "Bench", "profile": {"sells": "hosting"}},
            "members": members,
            "roles": {"ceo": {"description": "runs the company"}},
            "channels": {"telegram": {"mode": "polling"}},
            "runtime": {"workers": founders},
        }
    )


def _update(n: int) -> dict[str, object]:
    person = {"id": FIRST_FOUNDER + n, "is_bot": False, "first_name": f"F{n}"}
    chat = {"id": FIRST_FOUNDER + n, "type": "private"}
    text = f"question {n}"
    message = {"message_id": 1, "from": person, "chat": chat, "date": int(time.time()),
               "text": text}  # fmt: skip
    return {"update_id": n + 1, "message": message}


def _shown(fake: FakeTelegram, chat: int) -> list[tuple[float, str]]:
    """When the chat's answer was shown (its first message and each edit), and as what."""
    return [
        (at, str(params["text"]))
        for (method, params), at in zip(fake.calls, fake.times, strict=True)
        if method in ("sendMessage", "editMessageText") and str(params["chat_id"]) == str(chat)
    ]


async def _run(args: argparse.Namespace, home: Path) -> tuple[dict[str, object], list[Check]]:
    config = _company(args.replies)
    model = StreamingModel(args.tokens, args.stream_s)
    async with FakeTelegram(TOKEN) as fake:
        env = {"EQUIPAGE_HOME": str(home), "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": fake.base_url}  # fmt: skip
        async with open_session(config, Settings.from_env(env), force_offline=True) as plain:
            crew = build_crew(config, plain.redis, plain.keys, models={"ceo": model})
            session = dataclasses.replace(plain, crew=crew)
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                for n in range(args.replies):
                    fake.push_update(_update(n))
                deadline = time.monotonic() + args.stream_s + SETTLE_S
                chats = [FIRST_FOUNDER + n for n in range(args.replies)]
                while time.monotonic() < deadline:
                    if all(fake.messages(c) and fake.messages(c)[-1]["text"] == model.answer
                           for c in chats):  # fmt: skip
                        break
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await running
                await crew.aclose()
    first_ms, whole_ms, rates, counts, gaps, whole, sent_twice = [], [], [], [], [], 0, 0
    for n in range(args.replies):
        chat = FIRST_FOUNDER + n
        shown = _shown(fake, chat)
        began = next((at for asked, at in model.first.items() if f"question {n}" in asked), None)
        if not shown or began is None:
            continue
        first_ms.append((shown[0][0] - began) * 1000)
        done = next((at for at, text in shown if text == model.answer), None)
        if done is not None:
            whole_ms.append((done - began) * 1000)
        whole += fake.messages(chat)[-1]["text"] == model.answer
        sent_twice += len(fake.messages(chat)) - 1
        counts.append(len(shown))
        span = shown[-1][0] - shown[0][0]
        rates.append((len(shown) - 1) / span if span > 0 else 0.0)
        gaps += [(b - a) * 1000 for (a, _), (b, _) in itertools.pairwise(shown)]
    rate = round(max(rates, default=0.0), 3)
    first = latency(first_ms, (50, 99), maximum=True, digits=1)
    baseline = latency(whole_ms, (50, 99), digits=1)
    result: dict[str, object] = {
        "benchmark": "stream",
        "replies": args.replies,
        "tokens": args.tokens,
        "stream_s": args.stream_s,
        "first_visible": first,
        "baseline_whole_answer": baseline,
        "shown_per_reply": {"min": min(counts, default=0), "max": max(counts, default=0)},
        "edits_per_s_max": rate,
        "min_gap_between_edits_ms": round(min(gaps, default=0.0), 1),
        "whole_at_the_end": whole,
        "sent_twice": sent_twice,
        "target_p99_ms": P99_MS.of(args),
        "target_edits_per_s": EDITS_PER_S.of(args),
    }
    checks = [
        Check("first_visible.p99_ms", first["p99_ms"], P99_MS.of(args)),
        Check("edits_per_s_max", rate, EDITS_PER_S.of(args)),
        Check("whole_at_the_end", whole, args.replies, at_most=False),
        Check("sent_twice", sent_twice, 0),
    ]
    return result, checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=12, help="founders asking at once")
    parser.add_argument("--tokens", type=int, default=400, help="tokens per answer")
    parser.add_argument("--stream-s", type=float, default=8.0, help="seconds an answer streams")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    add_targets(parser, P99_MS, EDITS_PER_S)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result, checks = asyncio.run(_run(args, Path(tmp)))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
