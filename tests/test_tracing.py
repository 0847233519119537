"""Spans after the GenAI conventions: one trace for a request across roles and workflows,
usage on model calls, message content only when asked, OTLP export when configured."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aioredis
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from equipage import logs, tracing
from equipage.config import Settings
from equipage.entries import delivery_of
from equipage.envelope import Envelope, Kind
from equipage.httpserver import LocalServer
from equipage.keys import Keys
from equipage.llm.messages import Completion, ToolCall, Usage
from equipage.testing import HAIKU_SPEC, ScriptedModel, call, wait_until
from tests.test_crew import crew_running
from tests.test_workflows import with_workflows

USAGE = Usage(input_tokens=120, output_tokens=30, cache_read_tokens=900, cache_write_tokens=64)
RESPONSE_MODEL = "claude-haiku-4-5-20251001"
CONTENT = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
)


@dataclass
class Traced:
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.name == name]


@pytest.fixture
def traced() -> Iterator[Traced]:
    # A provider of the test's own, never the process's global one (settable only once).
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield Traced(provider, exporter)
    finally:
        tracing.use(None)
        provider.shutdown()


def said(text: str = "", *calls: ToolCall) -> Completion:
    """A completion as a priced Claude model returns it, cache reads and writes included."""
    reason = "tool_use" if calls else "end_turn"
    return Completion(
        content=text, tool_calls=calls, usage=USAGE, model=RESPONSE_MODEL, stop_reason=reason
    )


def answering(text: str) -> ScriptedModel:
    return ScriptedModel(
        [said("", *call("reply", "r1", text=text).tool_calls), said()], name=HAIKU_SPEC
    )


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_request_its_delegations_and_its_workflow_form_one_trace(
    redis: aioredis.Redis, keys: Keys, traced: Traced
) -> None:
    plan = said(
        "",
        ToolCall(id="d1", name="delegate", arguments={"role": "cto", "brief": "cost note"}),
        ToolCall(id="d2", name="delegate", arguments={"role": "marketing", "brief": "a post"}),
        ToolCall(id="w1", name="start_workflow", arguments={"name": "digest", "input": {}}),
    )
    # The plan, the turn's end, then one turn for each of the three results.
    ceo = ScriptedModel([plan, *[said()] * 4], name=HAIKU_SPEC)
    models = {"ceo": ceo, "cto": answering("12 EUR a month"), "marketing": answering("Launch!")}
    async with crew_running(redis, keys, with_workflows("digest"), models=models) as crew:
        await crew.tell("We launch next week: a cost note and a post, and what did we do?")

        async def settled() -> bool:
            return len(ceo.calls) == 5

        await wait_until(settled, what="the CEO to take the three results")
    spans = traced.spans()

    assert {s.context.trace_id for s in spans} == {spans[0].context.trace_id}
    assert Counter(s.name for s in spans) == {
        "invoke_agent ceo": 4,
        "invoke_agent cto": 1,
        "invoke_agent marketing": 1,
        "invoke_workflow digest": 1,
        "chat claude-haiku-4-5": 9,
        "execute_tool delegate": 2,
        "execute_tool start_workflow": 1,
        "execute_tool reply": 2,
    }
    [request] = [s for s in traced.named("invoke_agent ceo") if s.parent is None]
    assert attributes(request)["equipage.envelope.kind"] == "task"
    assert attributes(request)["gen_ai.agent.name"] == "ceo"
    assert attributes(request)["gen_ai.operation.name"] == "invoke_agent"
    top = request.context.span_id
    for name in ("invoke_agent cto", "invoke_agent marketing", "invoke_workflow digest"):
        [run] = traced.named(name)
        assert parent_of(run) == top, name
    [workflow] = traced.named("invoke_workflow digest")
    assert attributes(workflow)["gen_ai.workflow.name"] == "digest"
    assert attributes(workflow)["gen_ai.operation.name"] == "invoke_workflow"
    # The CEO's turn on each result runs under the run that sent it.
    [cto] = traced.named("invoke_agent cto")
    results = [s for s in traced.named("invoke_agent ceo") if s.parent is not None]
    assert {parent_of(s) for s in results} == {
        cto.context.span_id,
        traced.named("invoke_agent marketing")[0].context.span_id,
        workflow.context.span_id,
    }

    first_chat = min(traced.named("chat claude-haiku-4-5"), key=lambda s: s.start_time or 0)
    assert parent_of(first_chat) == top
    assert attributes(first_chat) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.response.model": RESPONSE_MODEL,
        "gen_ai.response.finish_reasons": ("tool_use",),
        "gen_ai.usage.input_tokens": 120 + 900 + 64,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.usage.cache_read.input_tokens": 900,
        "gen_ai.usage.cache_creation.input_tokens": 64,
        "equipage.cost": 0.0,
    }
    delegations = traced.named("execute_tool delegate")
    assert {parent_of(s) for s in delegations} == {top}
    assert sorted(attributes(s)["gen_ai.tool.call.id"] for s in delegations) == ["d1", "d2"]
    assert attributes(delegations[0])["gen_ai.tool.name"] == "delegate"
    # Nothing said is recorded unless asked.
    assert not [key for s in spans for key in attributes(s) if key in CONTENT]
    assert not [s for s in spans for v in attributes(s).values() if "cost note" in str(v)]


async def test_message_content_is_recorded_when_asked_and_secrets_never(
    redis: aioredis.Redis, keys: Keys, traced: Traced, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("DEPLOY_API_KEY", secret)
    tracing.use(traced.provider, content=True)
    ceo = answering(f"noted; the key {secret} stays with me")
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell(f"deploy with the key {secret}")
        await crew.outbox(1)

        async def settled() -> bool:
            return len(ceo.calls) == 2

        await wait_until(settled, what="the CEO's turn to end")
    first_chat = min(traced.named("chat claude-haiku-4-5"), key=lambda s: s.start_time or 0)
    seen = attributes(first_chat)
    system = json.loads(seen["gen_ai.system_instructions"])
    assert system[0]["type"] == "text" and system[0]["content"]
    asked = json.loads(seen["gen_ai.input.messages"])
    assert asked[-1]["role"] == "user"
    assert asked[-1]["parts"][0]["content"].endswith("deploy with the key ***")
    [answered] = json.loads(seen["gen_ai.output.messages"])
    assert answered["finish_reason"] == "tool_use"
    assert answered["parts"][0]["type"] == "tool_call" and answered["parts"][0]["name"] == "reply"
    [reply] = traced.named("execute_tool reply")
    assert json.loads(attributes(reply)["gen_ai.tool.call.arguments"]) == {
        "text": "noted; the key *** stays with me"
    }
    assert attributes(reply)["gen_ai.tool.call.result"] == "sent to the founder"
    assert not [s for s in traced.spans() for v in attributes(s).values() if secret in str(v)]


async def test_a_failed_run_and_its_model_call_are_marked_as_errors(
    redis: aioredis.Redis, keys: Keys, traced: Traced
) -> None:
    ceo = ScriptedModel([RuntimeError("the model fell over")] * 3, name=HAIKU_SPEC)
    async with crew_running(redis, keys, models={"ceo": ceo}) as crew:
        await crew.tell("hello")

        async def failed() -> list[ReadableSpan]:
            return [
                s
                for s in traced.named("invoke_agent ceo")
                if s.status.status_code is StatusCode.ERROR
            ]

        [run, *_] = await wait_until(failed, what="a failed run's span")
    assert attributes(run)["error.type"] == "RuntimeError"
    chat = traced.named("chat claude-haiku-4-5")[0]
    assert chat.status.status_code is StatusCode.ERROR
    assert attributes(chat)["error.type"] == "RuntimeError"
    assert chat.status.description == "the model fell over"


def test_an_envelope_without_trace_fields_still_parses_and_is_written_without_them() -> None:
    older = {
        "v": 1,
        "id": "e1",
        "kind": "task",
        "company": "acme",
        "to": "ceo",
        "sender": "member:alice",
        "thread": "console:alice",
        "text": "hello",
        "created_at": 1.0,
    }
    read = delivery_of("eq:{acme}:inbox:ceo", b"1-0", {b"env": json.dumps(older).encode()})
    assert read.envelope is not None and read.envelope.traceparent is None
    written = read.envelope.encode()
    assert b"traceparent" not in written and b"tracestate" not in written
    assert Envelope.decode(written) == read.envelope
    assert tracing.stamp(read.envelope) is read.envelope  # no span: nothing to carry


def test_an_envelope_sent_inside_a_span_carries_it_to_its_reader(traced: Traced) -> None:
    envelope = Envelope(kind=Kind.TASK, company="acme", to="cto", sender="ceo", thread="t")
    with tracing.handling("ceo", envelope) as sending:
        sent = Envelope.decode(tracing.stamp(envelope).encode())
    assert sent.traceparent is not None
    _, trace_id, span_id, _ = sent.traceparent.split("-")
    sending_ids = sending.get_span_context()
    assert (trace_id, span_id) == (f"{sending_ids.trace_id:032x}", f"{sending_ids.span_id:016x}")
    with tracing.handling("cto", sent) as reading:
        pass
    [_, read] = traced.spans()
    assert read.name == "invoke_agent cto" and reading.get_span_context().is_valid
    assert parent_of(read) == sending.get_span_context().span_id


def test_json_logs_name_the_trace_and_span_of_a_run(traced: Traced) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.tracing")
    handler = logs.handler("json", stream)
    logger.addHandler(handler)
    try:
        envelope = Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="x", thread="t")
        with tracing.handling("ceo", envelope) as span:
            logger.warning("inside the run")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert line["span_id"] == f"{span.get_span_context().span_id:016x}"


async def test_spans_are_posted_to_the_configured_otlp_endpoint() -> None:
    received: list[tuple[str, bytes]] = []

    async def collect(request: Request) -> Response:
        received.append((request.headers.get("content-type", ""), await request.body()))
        return Response(b"", 200)

    server = LocalServer(Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])]))
    url = await server.start()
    provider = tracing.setup(Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": url}))
    try:
        assert provider is not None
        envelope = Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="x", thread="t")
        with tracing.handling("ceo", envelope):
            pass
        # The exporter posts from a thread of its own, to this loop's server: never block it.
        await asyncio.to_thread(provider.force_flush)

        async def posted() -> bool:
            return bool(received)

        await wait_until(posted, what="a POST to /v1/traces")
    finally:
        tracing.use(None)
        if provider is not None:
            await asyncio.to_thread(provider.shutdown)
        await server.stop()
    kind, body = received[0]
    assert kind == "application/x-protobuf"
    export = ExportTraceServiceRequest.FromString(body)
    names = [s.name for r in export.resource_spans for ss in r.scope_spans for s in ss.spans]
    assert names == ["invoke_agent ceo"]
    [resource] = export.resource_spans
    assert {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"] == (
        "equipage"
    )


async def test_the_cli_exports_spans_when_the_environment_names_an_endpoint() -> None:
    from typer.testing import CliRunner

    from equipage.cli import app

    received: list[bytes] = []

    async def collect(request: Request) -> Response:
        received.append(await request.body())
        return Response(b"", 200)

    server = LocalServer(Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])]))
    url = await server.start()
    # Any command sets tracing up beside logging; a batch every 10 ms spares a flush here.
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "10"}
    try:
        assert CliRunner().invoke(app, ["pair", "--help"], env=env).exit_code == 0
        envelope = Envelope(kind=Kind.TASK, company="acme", to="ceo", sender="x", thread="t")
        with tracing.handling("ceo", envelope):
            pass

        async def posted() -> bool:
            return bool(received)

        await wait_until(posted, what="the CLI's spans at /v1/traces")
    finally:
        tracing.use(None)
        await server.stop()
    assert b"invoke_agent ceo" in received[0]


def test_no_endpoint_exports_nothing_and_a_missing_extra_is_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert tracing.setup(Settings.from_env({})) is None
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with caplog.at_level(logging.WARNING, logger="equipage.tracing"):
        endpoint = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}
        assert tracing.setup(Settings.from_env(endpoint)) is None
    [warning] = caplog.records
    assert "pip install 'equipage[otel]'" in warning.getMessage()
