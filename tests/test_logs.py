"""Logging (``equipage.logs``): text as before, or JSON lines saying what they are about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from equipage.logs import LogFormat, handler, logging_context
from tests.test_cli import clean_env

#: A bot token as a platform error would quote it: in its request URL.
SECRET = "123456:AAH-not-a-real-token-0123456789"

Capture = Callable[[LogFormat], tuple[logging.Logger, io.StringIO]]


@pytest.fixture
def capture(request: pytest.FixtureRequest) -> Iterator[Capture]:
    """A logger of the test's own writing through ``handler`` into a string, and nowhere else."""
    made: list[tuple[logging.Logger, logging.Handler]] = []

    def make(format: LogFormat) -> tuple[logging.Logger, io.StringIO]:
        stream = io.StringIO()
        logger = logging.getLogger(f"equipage.test.{request.node.name}.{len(made)}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        written = handler(format, stream)
        logger.addHandler(written)
        made.append((logger, written))
        return logger, stream

    yield make
    for logger, written in made:
        logger.removeHandler(written)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    """Each line written, parsed: each must be one JSON object."""
    parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


def test_a_json_line_carries_time_level_logger_and_message(capture: Capture) -> None:
    log, stream = capture("json")
    log.warning("crew %s is %d%% over budget", "acme", 120)
    [line] = lines(stream)
    assert line["level"] == "WARNING"
    assert line["logger"] == log.name
    assert line["message"] == "crew acme is 120% over budget"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    logged = datetime.fromisoformat(line["time"])
    assert logged.tzinfo is not None and logged.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - logged).total_seconds()) < 60


def test_an_exception_stays_on_its_json_line_in_the_exc_field(capture: Capture) -> None:
    log, stream = capture("json")
    try:
        raise ValueError("bad envelope\nsecond line")
    except ValueError:
        log.exception("handler failed")
    assert len(stream.getvalue().splitlines()) == 1
    [line] = lines(stream)
    assert line["message"] == "handler failed"
    assert line["exc"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad envelope\nsecond line" in line["exc"]


def test_the_text_format_is_the_one_it_always_was(capture: Capture) -> None:
    log, stream = capture("text")
    with logging_context(crew="acme", role="ceo", envelope="e1"):
        log.warning("%s waited", "ceo")
    assert stream.getvalue() == f"WARNING {log.name}: ceo waited\n"


def test_context_fields_appear_inside_the_context_and_not_outside(capture: Capture) -> None:
    log, stream = capture("json")
    log.info("before")
    with logging_context(crew="acme", role="cto", envelope="e42"):
        log.info("during")
    log.info("after")
    before, during, after = lines(stream)
    assert (during["crew"], during["role"], during["envelope"]) == ("acme", "cto", "e42")
    for outside in (before, after):
        assert not {"crew", "role", "envelope"} & outside.keys()


def test_nested_contexts_add_to_the_outer_one_and_restore_it(capture: Capture) -> None:
    log, stream = capture("json")
    with logging_context(crew="acme", role="ceo"):
        log.info("outer")
        with logging_context(role="cto", envelope="e1"):
            log.info("inner")
        log.info("outer again")
    log.info("outside")
    outer, inner, again, outside = lines(stream)
    assert (outer["crew"], outer["role"]) == ("acme", "ceo") and "envelope" not in outer
    assert (inner["crew"], inner["role"], inner["envelope"]) == ("acme", "cto", "e1")
    assert (again["crew"], again["role"]) == ("acme", "ceo") and "envelope" not in again
    assert "crew" not in outside


async def test_concurrent_tasks_each_log_their_own_envelope(capture: Capture) -> None:
    log, stream = capture("json")
    entered = {name: asyncio.Event() for name in ("a", "b")}

    async def run(envelope: str, other: str) -> None:
        with logging_context(crew="acme", envelope=envelope):
            entered[envelope].set()
            await entered[other].wait()  # both contexts are open at once
            log.info("running %s", envelope)

    await asyncio.gather(run("a", "b"), run("b", "a"))
    assert {(line["message"], line["envelope"]) for line in lines(stream)} == {
        ("running a", "a"),
        ("running b", "b"),
    }


@pytest.mark.parametrize("format", ["text", "json"])
def test_a_secret_of_the_environment_is_never_written(
    capture: Capture, monkeypatch: pytest.MonkeyPatch, format: LogFormat
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", SECRET)
    log, stream = capture(format)
    log.warning("POST https://api.telegram.org/bot%s/sendMessage failed", SECRET)
    try:
        raise ConnectionError(f"https://api.telegram.org/bot{SECRET}/getUpdates refused")
    except ConnectionError:
        log.exception("polling stopped")
    log.warning("with the token in the stack too: %s", SECRET, stack_info=True)
    written = stream.getvalue()
    assert SECRET not in written
    assert written.count("bot***/") == 2  # the message, and the exception's own line
    assert "stack too: ***" in written
    if format == "json":
        warning, stopped, stacked = lines(stream)
        assert "bot***/sendMessage" in warning["message"]
        assert "ConnectionError: https://api.telegram.org/bot***/getUpdates" in stopped["exc"]
        assert "stack" in stacked


@pytest.mark.parametrize("format", ["text", "json"])
def test_the_password_of_a_url_in_the_environment_is_never_written(
    capture: Capture, monkeypatch: pytest.MonkeyPatch, format: LogFormat
) -> None:
    """REDIS_URL's name does not look secret, but the password in it is."""
    password = "Kx9-longer-than-8"
    monkeypatch.setenv("REDIS_URL", f"rediss://equipage:{password}@db.internal:6380/0")
    log, stream = capture(format)
    log.warning("cannot reach rediss://equipage:%s@db.internal:6380/0", password)
    written = stream.getvalue()
    assert password not in written
    assert "rediss://equipage:***@db.internal:6380/0" in written


def test_trace_and_span_ids_appear_only_inside_a_current_span(capture: Capture) -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    log, stream = capture("json")
    log.info("no span")
    context = trace.SpanContext(trace_id=0xABC, span_id=0x12, is_remote=False)
    with trace.use_span(trace.NonRecordingSpan(context)):
        log.info("in a span")
    outside, inside = lines(stream)
    assert not {"trace_id", "span_id"} & outside.keys()
    assert inside["trace_id"] == f"{0xABC:032x}"
    assert inside["span_id"] == f"{0x12:016x}"


# -- the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crew_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder after ``equipage init``, whose audit key others may read: every command
    that loads it logs a warning, which is what these tests look at."""
    folder = tmp_path_factory.mktemp("crew")
    run(folder, "init", expect=0)
    (folder / ".equipage" / "audit.key").chmod(0o644)
    return folder


def run(folder: Path, *args: str, expect: int, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "equipage.cli", *args],
        cwd=folder,
        env=clean_env() | env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == expect, done.stdout + done.stderr
    return done


def warned_about_the_key(stderr: str) -> list[dict[str, Any]]:
    """stderr's lines, each parsed as JSON; the audit key's warning among them."""
    parsed = [json.loads(line) for line in stderr.splitlines()]
    assert any(
        line["logger"] == "equipage.audit.key" and line["level"] == "WARNING" for line in parsed
    ), stderr
    return parsed


def test_the_log_format_option_writes_json_lines_on_stderr(crew_folder: Path) -> None:
    done = run(crew_folder, "--log-format", "json", "--verbose", "audit", "verify", expect=0)
    warned_about_the_key(done.stderr)
    assert "audit chain whole" in done.stdout


def test_the_environment_variable_selects_json_too(crew_folder: Path) -> None:
    done = run(crew_folder, "audit", "verify", expect=0, EQUIPAGE_LOG_FORMAT="json")
    warned_about_the_key(done.stderr)


def test_the_option_wins_over_the_environment_and_text_is_as_before(crew_folder: Path) -> None:
    done = run(
        crew_folder, "--log-format", "text", "audit", "verify", expect=0, EQUIPAGE_LOG_FORMAT="json"
    )
    assert done.stderr.startswith("WARNING equipage.audit.key: ")
    assert os.path.join(".equipage", "audit.key") in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--log-format", "xml"], {}, "--log-format 'xml'"),
        ([], {"EQUIPAGE_LOG_FORMAT": "yaml"}, "EQUIPAGE_LOG_FORMAT='yaml'"),
    ],
)
def test_a_bad_log_format_exits_2_with_one_line(
    crew_folder: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    done = run(crew_folder, *args, "audit", "verify", expect=2, **env)
    assert done.stderr.strip() == f"error: {named} must be 'text' or 'json'"
    assert done.stdout == ""
