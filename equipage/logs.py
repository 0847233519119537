"""How the process logs: text lines for a person at a terminal, or JSON lines for a collector.

Either way a line never shows a secret: its message and traceback go through
``redact_secrets``, as errors shown to people do. A line logged inside ``logging_context``
(a worker running an envelope) says, in JSON, which crew, role and envelope it is about,
and, inside an OpenTelemetry span, its trace and span ids.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO, get_args

from equipage.config import redact_secrets

__all__ = ["FORMATS", "LogContext", "LogFormat", "configure", "handler", "logging_context"]

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)

#: The text lines as they always were: people and scripts read them.
_TEXT = "%(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class LogContext:
    """What the lines logged now are about, as far as known."""

    crew: str | None = None
    role: str | None = None
    envelope: str | None = None


_UNKNOWN = LogContext()  # frozen: safe to share as the default

# A contextvar, not a thread-local: each asyncio task has its own, and the tasks and
# threads (asyncio.to_thread) started inside a context carry a copy of it.
_current: contextvars.ContextVar[LogContext] = contextvars.ContextVar(
    "equipage_log_context", default=_UNKNOWN
)


@contextlib.contextmanager
def logging_context(
    *, crew: str | None = None, role: str | None = None, envelope: str | None = None
) -> Iterator[LogContext]:
    """Tag what is logged inside with these fields; an unset one keeps the enclosing value."""
    outer = _current.get()
    inner = LogContext(
        crew=outer.crew if crew is None else crew,
        role=outer.role if role is None else role,
        envelope=outer.envelope if envelope is None else envelope,
    )
    token = _current.set(inner)
    try:
        yield inner
    finally:
        _current.reset(token)


def configure(format: LogFormat, level: int) -> None:
    """Log to stderr from ``level`` up, one line a record (JSON lines for ``json``).

    Like ``logging.basicConfig``, which it calls, it leaves alone a root logger that is
    already set up: an application embedding Equipage keeps its own logging (it can add
    ``handler("json")`` to it), and so does pytest.
    """
    logging.basicConfig(level=level, handlers=[handler(format)])


def handler(format: LogFormat, stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in ``format``, secrets redacted."""
    written = logging.StreamHandler(stream)
    written.setFormatter(_Json() if format == "json" else _Text(_TEXT))
    return written


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_secrets(super().format(record))


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": _rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_secrets(record.getMessage()),
        }
        # Read when the record is formatted, that is when it is logged: the handler
        # writes in the logging task, inside its context.
        known = asdict(_current.get())
        line |= {name: value for name, value in known.items() if value is not None}
        line |= _span_ids()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = redact_secrets(record.exc_text)
        if record.stack_info:
            line["stack"] = redact_secrets(self.formatStack(record.stack_info))
        # ASCII escapes: valid JSON whatever encoding stderr has.
        return json.dumps(line)


def _rfc3339(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def _span_ids() -> dict[str, str]:
    """The current OpenTelemetry span's trace and span ids (W3C hex), if a span is current."""
    # Nothing imported OpenTelemetry (``equipage.tracing`` does): no span can be current,
    # and a process that only logs is spared importing it.
    if "opentelemetry.trace" not in sys.modules:
        return {}
    from opentelemetry.trace import get_current_span

    span = get_current_span().get_span_context()
    if not span.is_valid:
        return {}
    return {"trace_id": format(span.trace_id, "032x"), "span_id": format(span.span_id, "016x")}
