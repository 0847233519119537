"""What ``bench/scale.py`` runs: farm pool processes on the offline model, and a closed loop.

Each pool process is this script (``python bench/_scale_parts.py ROOT NAMESPACE WHERE``,
WHERE a REDIS_URL or an embedded server's socket), started by ``Pools``: it runs what
``equipage farm up`` runs for the work (``configured_pool``: farm.yaml's pool settings,
under a ``Supervisor``), every role of every crew on the offline model, no bots:
replies stay on each crew's outbox, where the benchmark reads them as a gateway would. A
child stops when its stdin closes, so none outlives the benchmark, even one killed.

``closed_loop`` keeps one message in flight per crew (``Gateway`` from ``_farm_parts``:
mark, publish, wake; the first reply read on the outbox), so the load is what the pools
can take, and reads the CPU spent by pools, Redis and this process over its window.
Imported as a sibling, like ``_farm_parts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["Cpu", "Pools", "Window", "closed_loop", "host_cpu", "pools_running"]

#: What ``closed_loop`` sends: the offline model's ceo answers it in one turn, no delegation.
TEXT = "hello"


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` used so far, from /proc; 0 once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()  # the name may hold spaces: cut after it
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_cpu() -> float:
    """CPU seconds every process of the machine used so far (/proc/stat): what the window's
    neighbours took of the cores is this less ours."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait, up to steal
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class Pools:
    """``count`` pool processes serving the farm in ``root``, each logging to ``logs``."""

    root: Path
    namespace: str
    where: str  # a REDIS_URL, or the embedded server's socket
    count: int
    logs: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        for n in range(self.count):
            with (self.logs / f"pool-{n}.log").open("wb") as log:
                self.children.append(
                    subprocess.Popen(
                        [sys.executable, __file__, str(self.root), self.namespace, self.where],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL,
                        stderr=log,
                    )
                )

    def names(self) -> set[str]:
        """Their consumer names (``equipage.worker.consumer_name``)."""
        return {f"{socket.gethostname()}-{child.pid}" for child in self.children}

    async def ready(self, redis: Any, within: float = 120.0) -> None:
        """Until every one of them reads the farm's wake-ups, or one has died."""
        from equipage import FarmKeys
        from equipage.farm import POOL_GROUP, WORK
        from equipage.testing import wait_until

        stream = FarmKeys(self.namespace).wake(WORK, 0)

        async def reading() -> bool:
            dead = [child for child in self.children if child.poll() is not None]
            if dead:
                raise RuntimeError(f"a pool process exited: {self.logged()['first']}")
            with contextlib.suppress(Exception):  # its group is not made yet
                consumers: Any = await redis.xinfo_consumers(stream, POOL_GROUP)
                return self.names() <= {_text(consumer["name"]) for consumer in consumers}
            return False

        what = f"{self.count} pool processes reading their wake-ups"
        await wait_until(reading, timeout=within, interval=0.05, what=what)

    def cpu_seconds(self) -> tuple[float, ...]:
        """Each one's CPU seconds so far."""
        return tuple(_proc_cpu(child.pid) for child in self.children)

    def logged(self) -> dict[str, Any]:
        """What they wrote on stderr: Python prints WARNING and above there, and tracebacks."""
        lines = [
            line
            for path in sorted(self.logs.glob("pool-*.log"))
            for line in path.read_text(errors="replace").splitlines()
            if line.strip()
        ]
        return {"lines": len(lines), "first": lines[:5]}

    def stop(self, within: float = 30.0) -> None:
        """Close their stdin (each finishes its turns and exits); kill what is left after."""
        for child in self.children:
            if child.stdin is not None:
                with contextlib.suppress(OSError):
                    child.stdin.close()
        deadline = time.monotonic() + within
        for child in self.children:
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)


@contextlib.contextmanager
def pools_running(pools: Pools) -> Iterator[Pools]:
    pools.start()
    try:
        yield pools
    finally:
        pools.stop()


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far: by the pools, by Redis (all nodes, and masters) and here."""

    each_pool: tuple[float, ...]
    redis: float
    redis_masters: float
    bench: float
    host: float

    @property
    def pools(self) -> float:
        return sum(self.each_pool)

    def minus(self, other: Cpu) -> Cpu:
        return Cpu(
            tuple(
                mine - theirs for mine, theirs in zip(self.each_pool, other.each_pool, strict=True)
            ),
            self.redis - other.redis,
            self.redis_masters - other.redis_masters,
            self.bench - other.bench,
            self.host - other.host,
        )


@dataclass
class Window:
    """What a closed loop measured between its warm-up's end and its window's end."""

    seconds: float
    hops_ms: list[float]  # send to first reply, of the messages sent and answered within
    answered: int  # first replies read within, whenever sent
    unanswered: int  # messages whose reply did not come within the timeout, in the run
    cpu: Cpu


async def closed_loop(
    gateway: Any,
    crews: Sequence[str],
    *,
    warmup: float,
    seconds: float,
    cpu: Callable[[], Awaitable[Cpu]],
    timeout: float = 60.0,
) -> Window:
    """Each crew sends a message, waits for its first reply, sends the next, until the
    window ends: ``len(crews)`` messages in flight. The first ``warmup`` s are not
    counted: every process loads (compiles) each crew it is handed once, and with 4
    processes those loads would otherwise fall into the window."""
    start = time.perf_counter()
    opens, closes = start + warmup, start + warmup + seconds
    samples: list[tuple[float, float]] = []
    unanswered = 0

    async def crew_loop(crew: str) -> None:
        nonlocal unanswered
        while time.perf_counter() < closes:
            sent = time.perf_counter()
            envelope = await gateway.send(crew, TEXT)
            try:
                samples.append((sent, await gateway.wait(crew, envelope.id, timeout)))
            except TimeoutError:
                unanswered += 1

    async def edges() -> tuple[Cpu, Cpu]:
        # The window itself, not a wait for a state: its ends are fixed in time.
        await asyncio.sleep(max(opens - time.perf_counter(), 0.0))
        first = await cpu()
        await asyncio.sleep(max(closes - time.perf_counter(), 0.0))
        return first, await cpu()

    measuring = asyncio.create_task(edges())
    await asyncio.gather(*(crew_loop(crew) for crew in crews))
    first, last = await measuring
    return Window(
        seconds=seconds,
        hops_ms=[(got - sent) * 1000 for sent, got in samples if sent >= opens and got <= closes],
        answered=sum(1 for _, got in samples if opens <= got <= closes),
        unanswered=unanswered,
        cpu=last.minus(first),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def _serve(root: Path, namespace: str, where: str) -> None:
    from equipage import (
        ChatModel,
        CompanyConfig,
        RedisTarget,
        Settings,
        Supervisor,
        connect,
        load_key,
    )
    from equipage.farm import Registry, configured_pool, load_farm_config

    target = RedisTarget(url=where) if "://" in where else RedisTarget(socket=where)
    redis = connect(target)
    settings = Settings.from_env({"EQUIPAGE_NAMESPACE": namespace})

    def offline(config: CompanyConfig) -> dict[str, str | ChatModel]:
        return dict.fromkeys(config.roles, "offline")

    pool = configured_pool(
        root,
        Registry(redis, namespace),
        settings,
        load_farm_config(root).pool,
        # The farm's one key, made by the benchmark, as ``farm up`` keeps it in the folder.
        audit_key=load_key(None, root / settings.home, create=False),
        models_for=offline,
        serve_outbox=False,
    )
    runtimes = pool.runtimes
    stop = asyncio.Event()
    stdin: IO[str] = sys.stdin
    closed = asyncio.create_task(asyncio.to_thread(stdin.read))  # EOF: the parent is done
    closed.add_done_callback(lambda _: stop.set())
    try:
        await Supervisor(stop).run("pool", pool.run)
    finally:
        with contextlib.suppress(Exception):
            await runtimes.aclose()
            await redis.aclose()


if __name__ == "__main__":
    folder, name, at = sys.argv[1:]
    asyncio.run(_serve(Path(folder), name, at))
