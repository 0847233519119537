"""What a failover run kills: a master of a local cluster, or the single embedded server.

Each kill is a SIGKILL, and returns a ``Kill``: when, which hash slots went down with the
process, and from when an acknowledged write may be missing afterwards (its window).

On the cluster, replication is asynchronous: a master acknowledges a write before its
replica has it. Until the kill, the master's replication offset and its replica's are read
in turn (``_replicated_since``): once the replica's offset reaches what the master's was at
time ``t``, every write the master acknowledged before ``t`` is on the replica, and cannot
be lost when the replica is promoted. The window is from the last such ``t`` to the kill.
On the single server (AOF, ``appendfsync everysec``) it is the fsync second before the kill.

``replica_lag`` freezes the replica (SIGSTOP) that long before the master is killed, and
thaws it after: what the master acknowledged meanwhile and had not yet handed to the
kernel's socket is lost, which shows that such losses are counted in the window, not lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

from pydantic import BaseModel
from redis.exceptions import RedisError

from equipage.testing.cluster import ClusterNode, LocalCluster
from tests.chaos.accounting import FSYNC_WINDOW
from tests.chaos.server import ChaosRedis

__all__ = ["ClusterTarget", "Kill", "SingleTarget"]


class Kill(BaseModel):
    """One SIGKILL of a Redis process and how the rest came back."""

    node: str  # host:port of the master, or "single"
    at: float  # wall clock of the SIGKILL
    #: An acknowledged write on ``slots`` from here to ``at`` may be lost (see the module).
    window_from: float
    #: Slot ranges (first, last) the process served; empty: every key (one server).
    slots: list[tuple[int, int]]
    replica: str = ""  # the replica promoted in its place
    lag_bytes: int = 0  # replication bytes the replica was behind at its last reading
    served_again_s: float = 0.0  # kill until every slot is served again
    rejoined_s: float = 0.0  # kill until the killed node is back (as a replica)

    def may_lose(self, acked_at: float, slot: int) -> bool:
        on_it = not self.slots or any(low <= slot <= high for low, high in self.slots)
        return on_it and self.window_from <= acked_at <= self.at


class SingleTarget:
    """The single embedded server (``ChaosRedis``), SIGKILLed and started from its AOF."""

    def __init__(self, server: ChaosRedis, down: float) -> None:
        self.server = server
        self.down = down

    @property
    def up(self) -> bool:
        return self.server.up

    def start(self) -> None:
        if not self.server.up:
            self.server.start()

    def stop(self, how: signal.Signals) -> None:
        self.server.stop(how)

    def freeze(self) -> None:
        self.server.freeze()

    def thaw(self) -> None:
        with contextlib.suppress(OSError):
            self.server.thaw()

    def kill(self, n: int) -> Kill:
        at = time.time()
        self.server.stop(signal.SIGKILL)
        time.sleep(self.down)
        self.server.start()
        back = round(time.time() - at, 2)
        return Kill(
            node="single",
            at=at,
            window_from=at - FSYNC_WINDOW,
            slots=[],
            served_again_s=back,
            rejoined_s=back,
        )


class ClusterTarget:
    """A ``LocalCluster``: ``kill(n)`` SIGKILLs its ``n``-th master (by first slot), waits
    for the replica's promotion, starts the killed node again as a replica, waits healthy."""

    def __init__(self, cluster: LocalCluster, sample_for: float, replica_lag: float = 0.0) -> None:
        self.cluster = cluster
        self.sample_for = sample_for
        self.replica_lag = replica_lag
        self.up = True

    def start(self) -> None:
        """Every node running, the cluster healthy: before counting, whatever happened."""
        for node in self.cluster.nodes:
            if not node.running():
                self.cluster.restart(node)
        self.cluster.wait_healthy()
        self.up = True

    def stop(self, how: signal.Signals) -> None:
        raise NotImplementedError("a failover run kills masters with kill(n), not stop()")

    def freeze(self) -> None:
        raise NotImplementedError("a failover run does not freeze the cluster")

    def thaw(self) -> None:
        """Nothing is frozen on a cluster."""

    def kill(self, n: int) -> Kill:
        masters = self.cluster.master_nodes()
        node = masters[n % len(masters)]
        replica = self._replica_of(node)
        slots = [
            (int(shard[0]), int(shard[1]))
            for shard in node.ask("CLUSTER", "SLOTS")
            if int(shard[2][1]) == node.port
        ]
        since, lag = _replicated_since(node, replica, self.sample_for)
        self.up = False  # for the stall watch: no progress is due until it is back
        frozen = self.replica_lag > 0 and replica.process is not None
        if frozen and replica.process is not None:
            os.kill(replica.process.pid, signal.SIGSTOP)
            time.sleep(self.replica_lag)
        at = time.time()
        node.kill(signal.SIGKILL)
        if frozen and replica.process is not None:
            os.kill(replica.process.pid, signal.SIGCONT)
        try:
            self.cluster.wait_healthy()
            served = round(time.time() - at, 2)
            self.cluster.restart(node)
            rejoined = round(time.time() - at, 2)
        finally:
            self.up = True
        return Kill(
            node=node.address,
            at=at,
            window_from=since,
            slots=slots,
            replica=replica.address,
            lag_bytes=lag,
            served_again_s=served,
            rejoined_s=rejoined,
        )

    def _replica_of(self, master: ClusterNode) -> ClusterNode:
        for node in self.cluster.nodes:
            if node is master or not node.running():
                continue
            with contextlib.suppress(RedisError, OSError):
                info = node.info("replication")
                if info.get("role") == "slave" and int(str(info["master_port"])) == master.port:
                    return node
        raise RuntimeError(f"the master {master.address} has no running replica to promote")


def _offset(info: dict[str, Any], *names: str) -> int:
    for name in names:
        if name in info:
            return int(info[name])
    raise KeyError(f"none of {names} in INFO replication")


def _replicated_since(
    master: ClusterNode, replica: ClusterNode, period: float
) -> tuple[float, int]:
    """Read both offsets in turn for ``period`` s; return the last wall-clock time before
    which every write the master acknowledged is known to be on the replica (0.0 if none
    is), and how many bytes behind the replica was at its last reading."""
    ours, theirs = master.client(), replica.client()
    samples: list[tuple[float, int]] = []  # (time before asking, the master's offset)
    since, lag = 0.0, 0
    try:
        end = time.monotonic() + period
        while True:
            asked = time.time()  # a write acked before now is within the offset read next
            offset = _offset(dict(ours.info("replication")), "master_repl_offset")
            samples.append((asked, offset))
            info = dict(theirs.info("replication"))
            copied = _offset(info, "slave_repl_offset", "replica_repl_offset")
            lag = max(offset - copied, 0)
            covered = [t for t, o in samples if o <= copied]
            if covered:
                since = max(since, *covered)
                samples = [(t, o) for t, o in samples if o > copied]
            if time.monotonic() >= end:
                return since, lag
            time.sleep(0.005)
    finally:
        ours.close()
        theirs.close()
