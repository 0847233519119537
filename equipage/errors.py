"""Every exception Equipage raises, in one tree.

    EquipageError
    ├── ConfigError            a user mistake in company.yaml or the environment
    ├── MissingExtraError      an optional dependency is not installed
    ├── CrewRefused            a farm refuses a crew move: name taken, unknown, wrong state
    ├── InputRejected          content from outside cannot be used (a file, a notice, an export)
    │   ├── DocumentRefused    a file a person sent is too large or of an unreadable type
    │   ├── MalformedWebhook   a signed webhook body that is not what the platform sends
    │   └── OffLimits          a path or address outside what the crew may touch
    ├── RuntimeFailure         something broke while running (Redis, a handler, a model)
    │   ├── AlreadyRunning     another process does this one-at-a-time job (a crew's console)
    │   ├── BusError
    │   ├── CheckpointError
    │   ├── ModelError
    │   ├── RequestFailed      a request sent from the command line failed; its sender was told
    │   ├── SourceError        an outside data source (TED, BOAMP...) failed after retries
    │   └── Unrecoverable      a loop stayed down past runtime.recover_within: the process exits
    └── ControlSignal          not a failure: the run must stop and say why
        ├── ApprovalRequired
        ├── BudgetExceeded
        ├── QuotaExceeded      a farm crew's quota is used up; the message says how to raise it
        │   ├── MemoryFull     its remembered facts would pass its memory quota
        │   └── FilesFull      its stored files passed its files quota
        ├── HopLimitExceeded
        ├── Handover           the worker stops mid-run: the envelope stays for another one
        ├── TurnLost           a worker frozen past its heartbeat lost its thread: it stops
        ├── DeliveryRefused    a platform refuses a message for now (held, sent later)
        │   └── WindowClosed
        └── StillHandling      a message delivered again while its first delivery is stored

Messages are sentences that say what is wrong and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "AlreadyRunning",
    "ApprovalRequired",
    "BudgetExceeded",
    "BusError",
    "CheckpointError",
    "ConfigError",
    "ControlSignal",
    "CrewRefused",
    "DeliveryRefused",
    "DocumentRefused",
    "EquipageError",
    "FilesFull",
    "Handover",
    "HopLimitExceeded",
    "InputRejected",
    "MalformedWebhook",
    "MemoryFull",
    "MissingExtraError",
    "ModelError",
    "OffLimits",
    "QuotaExceeded",
    "RequestFailed",
    "RuntimeFailure",
    "SourceError",
    "StillHandling",
    "TurnLost",
    "Unrecoverable",
    "WindowClosed",
]


class EquipageError(Exception):
    """Base class of every error Equipage raises on purpose."""


class ConfigError(EquipageError):
    """company.yaml or the environment is wrong; the message names the file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        elif line:
            where = f"line {line}: "
        super().__init__(f"{where}{message}")


class MissingExtraError(EquipageError):
    """An optional part needs a package that is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} requires the '{extra}' extra: pip install 'equipage[{extra}]'")


class CrewRefused(EquipageError):
    """A crew move the farm's registry refuses: the name is taken, unknown, or the crew is
    in the wrong state; the message says what to do instead."""


class InputRejected(EquipageError):
    """Content from outside cannot be used as given; the message says what to send instead."""


class DocumentRefused(InputRejected):
    """A file a person sent is too large, or of a type Equipage cannot read."""


class MalformedWebhook(InputRejected):
    """A webhook body, signed or not, is not what the platform sends: answered 400, not 500.

    The message says what was wrong (not JSON, nested too deep, a field of the wrong type)
    and never quotes the body, which may hold a person's words.
    """


class OffLimits(InputRejected):
    """A path outside the crew's files, or a network address the owner did not configure.

    ``why`` is ``path``, ``private`` (an address not public) or ``redirect`` (to another
    host); ``target`` the path or host refused.
    """

    def __init__(self, message: str, *, why: str = "path", target: str = "") -> None:
        self.why = why
        self.target = target
        super().__init__(message)


class RuntimeFailure(EquipageError):
    """Something failed while the crew was running."""


class AlreadyRunning(RuntimeFailure):
    """Another process already does what only one may do at a time (a crew's console)."""


class RequestFailed(RuntimeFailure):
    """A request sent from the command line failed; the person was told why."""


class BusError(RuntimeFailure):
    """The Redis bus could not be reached or answered something unexpected."""


class CheckpointError(RuntimeFailure):
    """A LangGraph checkpoint could not be stored or read."""


class ModelError(RuntimeFailure):
    """A model provider failed or answered something unusable."""


class SourceError(RuntimeFailure):
    """An outside data source failed after its retries; the run reports it and goes on."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source} failed: {reason}")


class Unrecoverable(RuntimeFailure):
    """A supervised loop stayed down longer than ``runtime.recover_within``.

    The process stops and exits non-zero, so that the process supervisor that runs it
    (systemd, Docker, Kubernetes) starts a fresh one.
    """

    def __init__(self, loop: str, since: str, error: str, within: float) -> None:
        self.loop = loop
        self.error = error
        super().__init__(
            f"{loop} has been down since {since} ({error}), longer than "
            f"runtime.recover_within ({within:g}s): this process stops so that its process "
            "supervisor (systemd, Docker, Kubernetes) restarts it; check that Redis is "
            "reachable, or raise runtime.recover_within in company.yaml"
        )


class ControlSignal(EquipageError):
    """Not a failure: the run stops on purpose and the founder is told why."""


class ApprovalRequired(ControlSignal):
    """A step needs the founder's approval before it may run."""


class BudgetExceeded(ControlSignal):
    """A model call would exceed a budget, so it was not made."""


class QuotaExceeded(ControlSignal):
    """A crew of a farm used up one of its quotas; nothing was stored past it.

    ``quota`` names it as ``equipage crew quota`` does (``memory``, ``files``); ``limit``
    and ``used`` are in its unit (bytes). The message says how to raise it.
    """

    def __init__(self, message: str, *, crew: str, quota: str, limit: int, used: int) -> None:
        self.crew = crew
        self.quota = quota
        self.limit = limit
        self.used = used
        super().__init__(message)


class MemoryFull(QuotaExceeded):
    """Remembering a fact would take a crew's facts past its memory quota: it was not kept."""

    def __init__(self, *, crew: str, limit: int, used: int, adding: int) -> None:
        kb = max(1, -(-limit // 1024))
        super().__init__(
            f"the memory of crew {crew} is full: its facts take {used:,} bytes of its "
            f"{limit:,}-byte quota, and this one ({adding:,} bytes) was not remembered. "
            f"The farm's admin raises it with 'equipage crew quota {crew} --memory-kb "
            f"{kb * 2}'; until then, answer without remembering it.",
            crew=crew,
            quota="memory",
            limit=limit,
            used=used,
        )


class FilesFull(QuotaExceeded):
    """A crew's stored files reached its files quota: nothing more is stored until raised."""

    def __init__(self, *, crew: str, limit: int, used: int) -> None:
        mb = max(1, -(-limit // 2**20))
        super().__init__(
            f"the files of crew {crew} are full: they take {used:,} bytes of its "
            f"{limit:,}-byte quota, so no workflow run may store more. The farm's admin "
            f"raises it with 'equipage crew quota {crew} --files-mb {mb * 2}', or the crew's "
            "files can be cleaned up.",
            crew=crew,
            quota="files",
            limit=limit,
            used=used,
        )


class HopLimitExceeded(ControlSignal):
    """A thread bounced between agents more often than the hop limit allows."""

    def __init__(self, hops: int, limit: int) -> None:
        self.hops = hops
        self.limit = limit
        super().__init__(
            f"this thread took {hops} hops between agents, over the limit of {limit}; "
            "it was stopped. Rephrase the request, or raise runtime.max_hops in company.yaml."
        )


class Handover(ControlSignal):
    """A long handler gives its envelope back because its worker is stopping.

    Nothing is committed and nothing is counted as a failure: the entry stays pending, and
    the worker that reclaims it resumes the run from its checkpoint.
    """


class TurnLost(ControlSignal):
    """Another worker took this run's thread over (this one was frozen past its heartbeat).

    Its writes were refused; the run stops and leaves the envelope to the new holder.
    """


class StillHandling(ControlSignal):
    """A platform delivered a message again while its first delivery is still being stored.

    Not a duplicate yet: had the first store failed, a 2xx to this delivery would lose the
    message for good. The adapter answers "later" (a 5xx, no ack) and the platform sends it
    again, to find it stored, or to store it should the first have failed.
    """


class DeliveryRefused(ControlSignal):
    """A platform refuses this message for now; retrying will not help, waiting will.

    The gateway holds it and sends it when the person next writes on that platform.
    """


class WindowClosed(DeliveryRefused):
    """The platform's reply window with this person is closed: free-form sends are refused.

    Some platforms let a business write freely only for a while (a day, say) after the
    person's last message; the platform's declaration names its window.
    """

    def __init__(self, user: str, *, platform: str = "this platform", hours: int = 24) -> None:
        self.user = user
        super().__init__(
            f"{platform[:1].upper()}{platform[1:]} allows messages to {user} only within "
            f"{hours} hours of their last message, and that window is closed; send any message "
            f"to the crew on {platform} to reopen the {hours}-hour window."
        )
