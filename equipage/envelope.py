"""The typed, versioned envelope that carries every message across the bus."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "BUS_SENDER",
    "ENVELOPE_VERSION",
    "Answer",
    "Attachment",
    "Envelope",
    "Forwarded",
    "Kind",
    "Origin",
    "Question",
    "ReplyTo",
    "WorkflowCall",
    "new_id",
]

ENVELOPE_VERSION: Final = 1
#: The sender of what the bus itself says to a person (a request failed, set aside).
BUS_SENDER: Final = "equipage"


def new_id() -> str:
    """A fresh envelope id: random, URL-safe, 32 hex characters."""
    return uuid.uuid4().hex


class Kind(StrEnum):
    """What an envelope asks of its recipient."""

    TASK = "task"  # do this (from the founder, or delegated by another role)
    RESULT = "result"  # the answer to a delegation, back to the delegating thread
    ANSWER = "answer"  # a human's answer to a question; resumes the paused thread
    WORKFLOW = "workflow"  # run a workflow, report back to the requesting thread
    REPLY = "reply"  # text for a person (outbox)
    QUESTION = "question"  # a question or approval request for a person (outbox)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Origin(_Model):
    """Where a conversation with a person started, so answers go back there."""

    channel: str
    chat: str
    member: str
    thread: str | None = None  # platform thread (Slack thread_ts, Telegram topic...)
    #: The language the person wrote in (``fr``/``en``), when the gateway could tell:
    #: reports made for them far down the chain (a workflow's) follow it.
    language: str | None = None


class ReplyTo(_Model):
    """The thread waiting for a delegated result."""

    role: str
    thread: str
    call_id: str


class Question(_Model):
    """A question or approval request that paused a thread."""

    id: str
    text: str
    options: tuple[str, ...] = ("approve", "reject")
    topic: str = "approval"  # "budget" when a limit paused the thread
    #: The whole of what is asked when ``text`` shortens it (a call's long arguments):
    #: kept with the open question for ``/show ID``, never sent on the outbox.
    full: str = ""


class Attachment(_Model):
    """A file a person sent; ``ref`` is the platform's id for fetching it.

    The gateway fills ``text`` when it could read the file, or ``error`` with why not.
    """

    name: str
    mime: str
    size: int = 0
    ref: str
    text: str | None = None  # extracted text, capped (equipage.documents)
    error: str | None = None  # why the file was not read, said to the founder too
    #: A voice note recorded in the app by its sender ("voice"), or a sound or video file
    #: ("audio"): the gateway transcribes it (``channels.hearing``) instead of reading it.
    #: Known only where it is received: never written on the bus.
    spoken: Literal["voice", "audio"] | None = Field(None, exclude=True)


class Forwarded(_Model):
    """Words that came with a person's message without being theirs.

    A message they forwarded or shared, the caption of a file they forwarded, a link's
    preview: adapters put them here instead of in the person's ``text``, with who wrote
    them when the platform says, and the crew reads them fenced as untrusted
    (``equipage.outside``, which also words who wrote them).
    """

    text: str
    kind: Literal["message", "caption", "preview"] = "message"
    platform: str = ""  # where it was written: "Telegram", "Slack", "WhatsApp"
    author: str | None = None  # who wrote it, as the platform names them
    author_kind: Literal["user", "hidden_user", "chat", "channel", "site"] | None = None


class Answer(_Model):
    """A person's answer to a Question."""

    question_id: str
    approved: bool
    text: str = ""
    member: str = ""


class WorkflowCall(_Model):
    """A request to run a workflow by name with its (validated later) input."""

    name: str
    input: dict[str, JsonValue] = Field(default_factory=dict)
    #: Set by the owner's own config or command line (a schedule, ``equipage workflow
    #: run``), never by a tool: such an input may set owner-only fields and any path.
    by_owner: bool = False


class Envelope(_Model):
    """One message on the bus; ``to`` is a role name, or ``human`` for the outbox."""

    v: Literal[1] = ENVELOPE_VERSION
    id: str = Field(default_factory=new_id)
    kind: Kind
    company: str
    to: str
    sender: str
    thread: str
    text: str = ""
    hops: int = 0
    origin: Origin | None = None
    reply_to: ReplyTo | None = None
    question: Question | None = None
    answer: Answer | None = None
    workflow: WorkflowCall | None = None
    cause: str | None = None  # id of the envelope whose handling produced this one
    untrusted: bool = False  # written by a thread that had read content from outside
    attachments: tuple[Attachment, ...] = ()
    forwarded: tuple[Forwarded, ...] = ()  # not the sender's words (absent from older envelopes)
    created_at: float = Field(default_factory=time.time)
    #: W3C trace context of the span that sent it (``equipage.tracing``), if one was current.
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def for_human(self) -> bool:
        """True when the envelope travels on the outbox to a person."""
        return self.kind in (Kind.REPLY, Kind.QUESTION)

    def encode(self) -> bytes:
        """Wire form: compact JSON."""
        # Untraced, the trace fields are left out: the entries stay as workers that predate
        # them can read (they refuse fields they do not know).
        untraced = {"traceparent", "tracestate"} if self.traceparent is None else None
        return self.model_dump_json(exclude=untraced).encode()

    @classmethod
    def decode(cls, raw: bytes | str) -> Envelope:
        """Parse the wire form; raises pydantic.ValidationError on a malformed payload."""
        return cls.model_validate_json(raw)
