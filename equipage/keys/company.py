"""Every Redis key of one company (a crew), declared once.

Each key of a company starts with ``<namespace>:{<company>}:``. The braces are a Redis
Cluster hash tag: one company's keys share a slot, so its Lua scripts and transactions
work on a cluster, while companies spread across slots. Tests give each run its own
namespace, so they never share state.

Free-form parts (thread ids, checkpoint namespaces, role names) go through ``part``,
which escapes ``%`` and ``:`` so that two different tuples never build the same key.
"""

from __future__ import annotations

import re

__all__ = [
    "CONSUMER_GROUP",
    "FARM_TAG",
    "GATEWAY_GROUP",
    "SEEN_FOR",
    "Keys",
    "glob_escape",
    "part",
    "thread_key",
    "validate_company_id",
]

#: Consumer group that every worker joins on every inbox stream.
CONSUMER_GROUP = "workers"
#: Consumer group that channel gateways join on the outbox stream.
GATEWAY_GROUP = "gateway"
#: Seconds a ``seen`` marker lives: a delivery of the same message later is not known as a
#: duplicate, so adapters whose signatures carry no time refuse messages this old.
SEEN_FOR = 7 * 24 * 3600

# fullmatch, not ``$``: ``$`` also matches before a trailing newline ("acme\n").
_COMPANY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def validate_company_id(company: str) -> str:
    """Return ``company`` if it can sit inside a hash tag, else raise ValueError."""
    if not _COMPANY_ID.fullmatch(company):
        raise ValueError(
            f"company id {company!r} must be 1-63 characters of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    return company


#: Hash tag of the farm's own keys. The dot keeps it out of the company ids' alphabet, so
#: no crew's keys ever share its prefix (deleting a crew named "farm" leaves the registry).
FARM_TAG = ".farm"


def thread_key(role: str, thread: str) -> str:
    """The agent thread a role's envelope belongs to: its lease, order and checkpoints."""
    return f"{role}:{thread}"


def part(value: str) -> str:
    """A free-form part of a key, escaped so two different tuples never build one key."""
    return value.replace("%", "%25").replace(":", "%3A")


class Keys:
    """Key templates of one company under one namespace."""

    def __init__(self, company: str, namespace: str = "eq") -> None:
        validate_company_id(company)
        if not namespace or "{" in namespace or ":" in namespace:
            raise ValueError(f"namespace {namespace!r} must be non-empty, without ':' or '{{'")
        self.company = company
        self.namespace = namespace
        self.prefix = f"{namespace}:{{{company}}}:"

    # -- streams -------------------------------------------------------------------
    def inbox(self, role: str) -> str:
        """Stream of envelopes addressed to one role (or the ``workflows`` runner)."""
        return f"{self.prefix}inbox:{part(role)}"

    @property
    def outbox(self) -> str:
        """Stream of replies and questions on their way to people."""
        return f"{self.prefix}outbox"

    @property
    def events(self) -> str:
        """Capped stream of every step, for the dashboard, audit and status."""
        return f"{self.prefix}events"

    @property
    def streams(self) -> str:
        """Set of the company's streams that have consumer groups (inboxes and outbox).

        The farm's sweep reads it to find unread or stalled entries of a crew it has not
        loaded (``equipage.farm.sweep``).
        """
        return f"{self.prefix}streams"

    @property
    def dead(self) -> str:
        """Envelopes that failed too often, each with its last error."""
        return f"{self.prefix}dead"

    # -- delivery bookkeeping --------------------------------------------------------
    def done(self, envelope_id: str) -> str:
        """Marker set when an envelope's effects were committed (idempotency)."""
        return f"{self.prefix}done:{part(envelope_id)}"

    @property
    def attempts(self) -> str:
        """Hash envelope id -> number of times a worker started handling it."""
        return f"{self.prefix}attempts"

    @property
    def errors(self) -> str:
        """Hash envelope id -> last error text, for the dead-letter entry."""
        return f"{self.prefix}errors"

    def lock(self, thread: str) -> str:
        """Lease that serialises the handling of one agent thread (``thread_key``)."""
        return f"{self.prefix}lock:{part(thread)}"

    def order(self, thread: str) -> str:
        """List of the stream entry ids of one agent thread not yet handled, oldest first."""
        return f"{self.prefix}order:{part(thread)}"

    def effect(self, thread: str, cause: str, call_id: str) -> str:
        """Marker then result of one effectful tool call (``equipage.effects``)."""
        return f"{self.prefix}effect:{part(thread)}:{part(cause)}:{part(call_id)}"

    @property
    def workers(self) -> str:
        """Sorted set consumer name -> last heartbeat (unix seconds)."""
        return f"{self.prefix}workers"

    def health(self, process: str) -> str:
        """Hash loop name -> JSON of its health, of one process; expires with the process."""
        return f"{self.prefix}health:{part(process)}"

    @property
    def health_match(self) -> str:
        """SCAN pattern of every process's ``health`` hash."""
        return re.sub(r"([\\*?\[\]])", r"\\\1", self.prefix) + "health:*"

    # -- people and company state ------------------------------------------------------
    @property
    def replication_mark(self) -> str:
        """Written just before WAIT on the crew's master (``equipage.replication``)."""
        return f"{self.prefix}replicated"

    @property
    def claimed_by(self) -> str:
        """Name of the company that claimed this id on this Redis (``equipage.claim``)."""
        return f"{self.prefix}claimed-by"

    @property
    def approvals(self) -> str:
        """Hash approval id -> open question waiting on a human (JSON)."""
        return f"{self.prefix}approvals"

    @property
    def asked(self) -> str:
        """Hash question id -> the message holding its buttons, while open (``channels.asked``)."""
        return f"{self.prefix}asked"

    @property
    def waiting(self) -> str:
        """Hash agent thread -> id of the question it is paused on."""
        return f"{self.prefix}waiting"

    def spend_day(self, day: str) -> str:
        """Hash role -> spend on ``day`` (YYYY-MM-DD, UTC), in the price table's currency."""
        return f"{self.prefix}spend:day:{day}"

    def spend_month(self, month: str) -> str:
        """Hash role -> spend in ``month`` (YYYY-MM, UTC)."""
        return f"{self.prefix}spend:month:{month}"

    def cost_book(self, day: str) -> str:
        """Hash ``role|model|workflow|measure`` -> cost or tokens of the calls of ``day``."""
        return f"{self.prefix}spend:book:{day}"

    @property
    def spend_threads(self) -> str:
        """Hash agent thread -> its total spend."""
        return f"{self.prefix}spend:threads"

    @property
    def reservations(self) -> str:
        """Hash reservation id -> cost held for a model call in flight, and its envelope."""
        return f"{self.prefix}spend:reserved"

    @property
    def spend_usual(self) -> str:
        """Hash ``role\\0model`` -> output tokens and input rates of its recent calls."""
        return f"{self.prefix}spend:usual"

    @property
    def limits(self) -> str:
        """Hash of budget limits raised at run time (``daily:<role>``, ``monthly``)."""
        return f"{self.prefix}limits"

    @property
    def audit(self) -> str:
        """Append-only, HMAC-chained stream: who asked, which agent did what, who approved."""
        return f"{self.prefix}audit"

    @property
    def audit_once(self) -> str:
        """Hash HMAC(name) -> sequence number of the audit entry recording a named event.

        Fields are keyed by the audit secret, so no one without it can pre-add the marker
        of a future event; ``audit:seen``, the plain set used before signing, is unused.
        """
        return f"{self.prefix}audit:once"

    @property
    def memory(self) -> str:
        """Hash fact id -> fact remembered by the crew (JSON)."""
        return f"{self.prefix}memory"

    @property
    def memory_size(self) -> str:
        """Bytes the ``memory`` hash's records take, kept by the script that writes them."""
        return f"{self.prefix}memory:size"

    def seen(self, channel: str, message_id: str) -> str:
        """Marker of a platform message already received (duplicate deliveries)."""
        return f"{self.prefix}seen:{part(channel)}:{part(message_id)}"

    @property
    def identities(self) -> str:
        """Hash '<platform>:<user id>' -> member id, for identities paired at run time."""
        return f"{self.prefix}identities"

    def pairing(self, code: str) -> str:
        """A pending pairing request (expires): who asked, from where."""
        return f"{self.prefix}pairing:{part(code)}"

    @property
    def pairings(self) -> str:
        """Sorted set of pending pairing codes by request time."""
        return f"{self.prefix}pairings"

    def pairings_on(self, platform: str) -> str:
        """Sorted set of the pending pairing codes asked on one platform, by request time."""
        return f"{self.prefix}pairings:{part(platform)}"

    def pairing_asker(self, platform: str, user: str) -> str:
        """The pending pairing code of one stranger (expires with it)."""
        return f"{self.prefix}pairing-asker:{part(platform)}:{part(user)}"

    def held(self, channel: str, chat: str) -> str:
        """List of outbox envelopes a platform refused for now, sent when the person writes."""
        return f"{self.prefix}held:{part(channel)}:{part(chat)}"

    def draft(self, cause: str) -> str:
        """Hash: a reply being written for the envelope ``cause``, as shown so far (``drafts``)."""
        return f"{self.prefix}draft:{part(cause)}"

    @property
    def drafts(self) -> str:
        """Capped stream waking the gateways when a draft's text grew (``equipage.drafts``)."""
        return f"{self.prefix}drafts"

    def window(self, channel: str, user: str) -> str:
        """When a person last wrote on a platform with a reply window."""
        return f"{self.prefix}window:{part(channel)}:{part(user)}"

    def member_languages(self) -> str:
        """Hash member id -> language they last wrote in (``fr``/``en``), for the gateway."""
        return f"{self.prefix}member:languages"

    @property
    def paused(self) -> str:
        """Set when the founder paused the crew."""
        return f"{self.prefix}paused"

    @property
    def runs(self) -> str:
        """Sorted set "<consumer> <entry id>" -> when the run's slot lapses (unix ms): a farm
        crew's runs under way in every pool process, held to its quota of runs at once."""
        return f"{self.prefix}quota:runs"

    @property
    def runs_wanted(self) -> str:
        """Set when a pool process found the crew at its quota of runs: the next run to end
        says so, and that process serves the crew again. Expires on its own."""
        return f"{self.prefix}quota:runs:wanted"

    @property
    def inbound_rate(self) -> str:
        """Count of the messages a farm crew got in the current minute; expires with it."""
        return f"{self.prefix}quota:inbound"

    @property
    def console(self) -> str:
        """Which ``equipage up`` reads the crew's console (host, pid), expiring unless renewed."""
        return f"{self.prefix}console"

    # -- workflows -----------------------------------------------------------------------
    def schedule_tick(self, schedule: str, tick: str) -> str:
        """Claimed by the one worker that starts a schedule's run for one cron tick."""
        return f"{self.prefix}sched:{part(schedule)}:{part(tick)}"

    def tenders_seen(self) -> str:
        """Hash: tender fingerprint -> JSON of the notice last reported (tenders workflow)."""
        return f"{self.prefix}wf:tenders:seen"

    def live_segments(self, session: str) -> str:
        """Stream of transcript segments of one live conversation (live_assist workflow)."""
        return f"{self.prefix}wf:live:{part(session)}:segments"

    def live_state(self, session: str) -> str:
        """Hash: rolling state of one live conversation (live_assist workflow)."""
        return f"{self.prefix}wf:live:{part(session)}:state"

    def live_active(self, member: str) -> str:
        """String: id of the member's running live session, expiring with it (``/suggest``)."""
        return f"{self.prefix}live:active:{part(member)}"

    # -- LangGraph checkpoints -----------------------------------------------------------
    @property
    def cp_threads(self) -> str:
        """Set of thread ids that have checkpoints."""
        return f"{self.prefix}cp:threads"

    def cp_namespaces(self, thread_id: str) -> str:
        """Set of checkpoint namespaces used by one thread."""
        return f"{self.prefix}cp:ns:{part(thread_id)}"

    def cp_index(self, thread_id: str, checkpoint_ns: str) -> str:
        """Sorted set of checkpoint ids of one thread and namespace (ids sort by time)."""
        return f"{self.prefix}cp:idx:{part(thread_id)}:{part(checkpoint_ns)}"

    def cp_checkpoint(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
        """Hash holding one checkpoint, its metadata and its parent id."""
        return f"{self.prefix}cp:ck:{part(thread_id)}:{part(checkpoint_ns)}:{part(checkpoint_id)}"

    def cp_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> str:
        """Hash of pending writes attached to one checkpoint."""
        return f"{self.prefix}cp:wr:{part(thread_id)}:{part(checkpoint_ns)}:{part(checkpoint_id)}"

    def cp_blob(self, thread_id: str, checkpoint_ns: str, channel: str, version: str) -> str:
        """One channel value at one version."""
        return (
            f"{self.prefix}cp:bl:{part(thread_id)}:{part(checkpoint_ns)}:"
            f"{part(channel)}:{part(version)}"
        )

    def cp_thread_keys(self, thread_id: str) -> str:
        """Set of every checkpoint key of one thread, so deleting a thread is one pass."""
        return f"{self.prefix}cp:keys:{part(thread_id)}"


def glob_escape(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)
