"""The single-company baseline of ``bench/farm.py``: one company served the old way.

Started by ``bench/farm.py`` (``launch``) as a process of its own (``python
bench/_one_company.py FOLDER NAMESPACE HOME [REDIS_URL]``): it imports ``equipage``, opens
a session on the company's Redis (``open_session``, offline models) and runs its
``worker_pools`` as ``equipage up`` does, sends one task to the ceo and waits for its
answer on the outbox. It then prints one JSON line (its RSS, its own times) and holds
everything open, connections included, until a line arrives on stdin, so the parent can
read the Redis memory the company costs.

It imports nothing of the farm: what it costs is what one company costs.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import asyncio  # noqa: E402  (the clock starts before any import)
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from equipage import RedisTarget

__all__ = ["launch", "rss_bytes", "trimmed_rss"]


def rss_bytes() -> int:
    """This process's resident set size, from /proc (the lock has no psutil)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark needs Linux")


def trimmed_rss() -> int | None:
    """RSS once glibc handed its free memory back; None where there is no glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return rss_bytes()
    return None


def launch(
    target: RedisTarget, root: Path, namespace: str
) -> tuple[dict[str, Any], subprocess.Popen[str]]:
    """Start this script for a starter company on ``target`` under ``namespace``; return
    its figures once it answered, and the process, held open until a line on its stdin."""
    from equipage import write_starter  # here: the child process never needs it

    folder = root / "one-company"
    folder.mkdir()
    write_starter(folder, company_name="Baseline", owner_console_id="owner")
    home = target.home or root
    command = [sys.executable, __file__]
    command += [str(folder), namespace, str(home), *([target.url] if target.url else [])]
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=folder, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    answered = time.perf_counter() - start
    if not line:
        child.wait()
        raise RuntimeError(f"the single-company process failed (exit {child.returncode})")
    figures: dict[str, Any] = json.loads(line)
    figures["start_to_first_answer_s"] = round(answered, 3)
    return figures, child


async def _serve_once(folder: Path, namespace: str, home: Path, url: str | None) -> None:
    from equipage import (
        Envelope,
        Kind,
        Origin,
        Settings,
        load_config,
        open_session,
        worker_pools,
    )

    imported = time.perf_counter()
    environ = {"EQUIPAGE_NAMESPACE": namespace, "EQUIPAGE_HOME": str(home)}
    if url:
        environ["REDIS_URL"] = url
    settings = Settings.from_env(environ)
    config = load_config(folder / "company.yaml")
    async with open_session(config, settings, home=home, force_offline=True) as session:
        stop = asyncio.Event()
        workers = [asyncio.create_task(w.run(stop)) for w in worker_pools(session, "solo")]
        envelope = Envelope(
            kind=Kind.TASK,
            company=config.company.id,
            to="ceo",
            sender="member:owner",
            thread="t-baseline",
            text="hello",
            origin=Origin(channel="cli", chat="owner", member="owner"),
        )
        await session.bus.publish(envelope)
        last: Any = "0-0"
        outbox = session.keys.outbox
        answered = None
        while answered is None:
            reply: Any = await session.redis.xread({outbox: last}, block=1000)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id
                    found = Envelope.decode(fields[b"env"])
                    if found is not None and found.cause == envelope.id:
                        answered = time.perf_counter()
        figures = {
            "import_s": round(imported - STARTED, 3),
            "answered_s": round(answered - STARTED, 3),
            "rss_bytes": rss_bytes(),
        }
        print(json.dumps(figures), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)


if __name__ == "__main__":
    folder, namespace, home, *url = sys.argv[1:]
    asyncio.run(_serve_once(Path(folder), namespace, Path(home), url[0] if url else None))
