"""Time from a signed Slack or Telegram webhook to its 2xx while every model call takes 5 s.

One process runs what ``equipage up`` runs (workers, gateway, the Slack and Telegram
adapters, one uvicorn webhook server) on an embedded Redis, with fake platform APIs for
the adapters' outbound calls and a model that sleeps 5 s per call. An open-loop client
sends ``--rate`` requests a second for ``--seconds``, alternating signed Slack
``app_mention`` events and Telegram updates, each timed from its send to its response.
Lost requests are those without a TASK envelope on the entry role's inbox at the end.
Passes when the p99 is at most 100 ms (``--target-p99-ms``), every response is a 2xx and
the inbox holds exactly one envelope per request: none lost, none duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
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
from equipage.testing.fake_slack import FakeSlack, sign
from equipage.testing.fake_telegram import FakeTelegram

P99_MS = Target("p99_ms", 100.0, "highest p99 of webhook response times, ms, that passes")
MODEL_LATENCY_S = 5
TELEGRAM_TOKEN = "123456:BENCH-token"
SLACK_TOKEN = "xoxb-bench"
SECRET = "bench-secret"
FOUNDER_TELEGRAM = 4242
FOUNDER_SLACK = "U0FOUNDER01"
SETTLE_S = 30.0


class SlowModel:
    """A model that answers "ok" after ``MODEL_LATENCY_S``: keeps the workers busy."""

    name = "slow"

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> Completion:
        await asyncio.sleep(MODEL_LATENCY_S)
        return Completion(content="ok", model=self.name, stop_reason="end_turn")


def _company(port: int) -> CompanyConfig:
    identities = {"telegram": str(FOUNDER_TELEGRAM), "slack": FOUNDER_SLACK}
    return CompanyConfig.model_validate(
        {
            "company": {"id": "bench", "name": "Bench", "profile": {"sells": "hosting"}},
            "members": [
                {"id": "camille", "name": "Camille", "role": "owner", "identities": identities}
            ],
            "roles": {"ceo": {"description": "runs the company"}},
            "channels": {
                "telegram": {"mode": "webhook"},
                "slack": {"mode": "http"},
                "web": {"host": "127.0.0.1", "port": port},
            },
        }
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _slack(n: int) -> tuple[str, bytes, dict[str, str]]:
    ts = f"{1767400000 + n}.000100"
    event = {"type": "app_mention", "user": FOUNDER_SLACK, "text": "<@U00FAKEBOT01> hi", "ts": ts}
    payload = {
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event": event | {"channel": "C0BENCH"},
    }
    body = json.dumps(payload).encode()
    headers = sign(body, SECRET, int(time.time())) | {"Content-Type": "application/json"}
    return "/slack/events", body, headers


def _telegram(n: int) -> tuple[str, bytes, dict[str, str]]:
    person = {"id": FOUNDER_TELEGRAM, "is_bot": False, "first_name": "Camille"}
    chat = {"id": FOUNDER_TELEGRAM, "type": "private"}
    message = {
        "message_id": n,
        "from": person,
        "chat": chat,
        "date": int(time.time()),
        "text": "hi",
    }
    body = json.dumps({"update_id": n, "message": message}).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    return "/telegram/webhook", body, headers


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f}s")
        await asyncio.sleep(0.05)


async def _load(base: str, rate: int, seconds: int) -> dict[str, list[float]]:
    """Send ``rate * seconds`` requests at fixed times; return the 2xx times in ms by platform."""
    times: dict[str, list[float]] = {"slack": [], "telegram": [], "failed": []}
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=rate * 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(n: int) -> None:
            platform = "slack" if n % 2 == 0 else "telegram"
            path, body, headers = (_slack if platform == "slack" else _telegram)(n)
            start = time.perf_counter()
            try:
                response = await client.post(path, content=body, headers=headers)
                ok = response.is_success
            except httpx.HTTPError:
                ok = False
            elapsed = (time.perf_counter() - start) * 1000
            times[platform if ok else "failed"].append(elapsed)

        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.1
        tasks = []
        for n in range(rate * seconds):
            await asyncio.sleep(max(t0 + n / rate - loop.time(), 0))
            tasks.append(asyncio.create_task(one(n + 1)))
        await asyncio.gather(*tasks)
    return times


def _stats(ms: list[float]) -> dict[str, float]:
    return latency(ms, (50, 99), mean=False, digits=2)


async def _run(args: argparse.Namespace, home: Path) -> tuple[dict[str, object], list[Check]]:
    port = _free_port()
    config = _company(port)
    async with FakeTelegram(TELEGRAM_TOKEN) as tg, FakeSlack(SLACK_TOKEN) as sl:
        env = {
            "EQUIPAGE_HOME": str(home),
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_BASE_URL": sl.base_url,
        }
        async with open_session(config, Settings.from_env(env), force_offline=True) as plain:
            slow = SlowModel()
            crew = build_crew(
                config, plain.redis, plain.keys, models=dict.fromkeys(config.roles, slow)
            )
            session = dataclasses.replace(plain, crew=crew)
            inbox = session.keys.inbox(config.runtime.entry_role)
            base = f"http://127.0.0.1:{port}"
            stop = asyncio.Event()
            running = asyncio.create_task(serve(session, stop, channels=[]))
            try:
                async with httpx.AsyncClient(base_url=base) as probe:

                    async def listening() -> bool:
                        try:
                            await probe.get("/")
                        except httpx.TransportError:
                            return False
                        return True

                    await _until(listening, 10, "webhook server listening")
                times = await _load(base, args.rate, args.seconds)
                sent: int = args.rate * args.seconds

                async def all_in() -> bool:
                    return int(await session.redis.xlen(inbox)) >= sent

                # Past the deadline, what is missing is reported as lost.
                with contextlib.suppress(TimeoutError):
                    await _until(all_in, SETTLE_S, "every request on the inbox")
                queued = int(await session.redis.xlen(inbox))
            finally:
                stop.set()
                await running
                await crew.aclose()
    everything = times["slack"] + times["telegram"]
    overall = _stats(everything)
    lost, duplicated = max(sent - queued, 0), max(queued - sent, 0)
    result: dict[str, object] = {
        "benchmark": "ingress",
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "model_latency_s": MODEL_LATENCY_S,
        "sent": sent,
        "responses_2xx": len(everything),
        "lost": lost,
        "duplicated": duplicated,
        "slack": _stats(times["slack"]),
        "telegram": _stats(times["telegram"]),
        "all": overall,
        "target_p99_ms": P99_MS.of(args),
    }
    checks = [
        Check("all.p99_ms", overall["p99_ms"], P99_MS.of(args)),
        Check("lost", lost, 0),
        Check("duplicated", duplicated, 0),
        Check("responses_2xx", len(everything), sent, at_most=False),
    ]
    return result, checks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="how long to send")
    parser.add_argument("--rate", type=int, default=50, help="requests per second, all told")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    add_targets(parser, P99_MS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result, checks = asyncio.run(_run(args, Path(tmp)))
    return finish(__file__, result, checks, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
