"""OpenTelemetry spans after the GenAI semantic conventions, and the trace context that an
envelope carries from one process to the next.

A worker running an envelope opens ``invoke_agent <role>`` (``invoke_workflow <name>`` on a
workflow's inbox) under the span that sent the envelope; each model call is a
``chat <model>`` span with its usage, cache tokens included; each tool call an
``execute_tool <tool>`` span. An envelope written while a span is current carries that
span's W3C ``traceparent`` (``stamp``), so a founder's request, its delegations and the
workflow runs it starts form one trace, whichever processes run them.

Only ``opentelemetry-api`` is needed: with no SDK every span is a no-op that still passes
a received trace context on. ``setup`` exports with OTLP over HTTP when an endpoint is
configured (the ``otel`` extra). Prompts, completions, tool arguments and results are
recorded only when asked (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``),
and then with secrets redacted, as logs are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN,
    ProxyTracerProvider,
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from equipage.config import Settings, redact_secrets
from equipage.envelope import Envelope
from equipage.errors import MissingExtraError
from equipage.llm.messages import Completion, Message, ToolCall, ToolSpec

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider

    from equipage.llm.base import ChatModel, TextSink

__all__ = [
    "TRACER_NAME",
    "ToolSpan",
    "chat",
    "execute_tool",
    "failed",
    "handling",
    "setup",
    "stamp",
    "use",
]

log = logging.getLogger(__name__)

TRACER_NAME: Final = "equipage"

# Attribute names of the GenAI semantic conventions (development status, checked against
# semantic-conventions v1.41: gen-ai-spans, gen-ai-agent-spans, anthropic).
_OPERATION = "gen_ai.operation.name"
_PROVIDER = "gen_ai.provider.name"
_CONVERSATION = "gen_ai.conversation.id"
_AGENT = "gen_ai.agent.name"
_WORKFLOW = "gen_ai.workflow.name"
_REQUEST_MODEL = "gen_ai.request.model"
_RESPONSE_MODEL = "gen_ai.response.model"
_FINISH = "gen_ai.response.finish_reasons"
_INPUT_TOKENS = "gen_ai.usage.input_tokens"
_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
_CACHE_WRITE = "gen_ai.usage.cache_creation.input_tokens"
_INPUT_MESSAGES = "gen_ai.input.messages"
_OUTPUT_MESSAGES = "gen_ai.output.messages"
_SYSTEM = "gen_ai.system_instructions"
_TOOL_NAME = "gen_ai.tool.name"
_TOOL_CALL = "gen_ai.tool.call.id"
_TOOL_TYPE = "gen_ai.tool.type"
_TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
_TOOL_RESULT = "gen_ai.tool.call.result"
_ERROR = "error.type"

_W3C = TraceContextTextMapPropagator()


@dataclass
class _Tracing:
    tracer: Tracer
    content: bool = False  # record prompts, completions, tool arguments and results
    own: bool = False  # a provider was given to ``use``, rather than the global one

    def silent(self, envelope: Envelope) -> bool:
        """True when running ``envelope`` would record no span and pass no trace on: no
        provider, global or ours, and none sent it. Its run then skips the no-op span
        (some 8 µs, over 1% of a bus hop)."""
        return (
            envelope.traceparent is None
            and not self.own
            and isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
        )


# The global provider's tracer by default: an application embedding Equipage that set up
# its own SDK gets these spans too.
_state = _Tracing(trace.get_tracer(TRACER_NAME))


def use(provider: TracerProvider | None = None, *, content: bool = False) -> None:
    """Trace to ``provider`` (None: the global one); ``content``: record what is said."""
    _state.tracer = trace.get_tracer(TRACER_NAME, tracer_provider=provider)
    _state.content = content
    _state.own = provider is not None


def setup(settings: Settings) -> SdkProvider | None:
    """Export spans with OTLP over HTTP when ``settings`` name an endpoint (off by default).

    Returns the provider spans go to, batched on a thread of its own and flushed when the
    process exits; None when nothing is exported. The process's global provider is left
    alone: ``use`` points Equipage's spans at this one.
    """
    endpoint = settings.traces_endpoint
    if endpoint is None:
        use(None, content=settings.trace_content)
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        missing = MissingExtraError("exporting traces to OTEL_EXPORTER_OTLP_ENDPOINT", "otel")
        log.warning("%s; traces are not exported", missing)
        use(None, content=settings.trace_content)
        return None
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name.
    resource = Resource({"service.name": "equipage"}).merge(OTELResourceDetector().detect())
    provider = SdkProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    use(provider, content=settings.trace_content)
    return provider


# -- the trace context in the envelope ------------------------------------------------------
def stamp(envelope: Envelope) -> Envelope:
    """``envelope`` carrying the current span's context; as it is without a span, or when it
    already carries one (an envelope handed back keeps the span that first sent it)."""
    if envelope.traceparent is not None or not trace.get_current_span().get_span_context().is_valid:
        return envelope
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return envelope.model_copy(
        update={"traceparent": carrier.get("traceparent"), "tracestate": carrier.get("tracestate")}
    )


def _sent_from(envelope: Envelope) -> Context:
    """The context of the span that sent ``envelope``; an empty one starts a new trace."""
    if envelope.traceparent is None:
        return Context()
    carrier = {"traceparent": envelope.traceparent}
    if envelope.tracestate:
        carrier["tracestate"] = envelope.tracestate
    return _W3C.extract(carrier, context=Context())


# -- spans ------------------------------------------------------------------------------------
@contextmanager
def _span(
    name: str,
    attributes: dict[str, AttributeValue],
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    context: Context | None = None,
) -> Iterator[Span]:
    with _state.tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=attributes,
        # Set here, not by the SDK: an exception's message and stack may quote a secret.
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as err:
            _error(span, type(err).__qualname__, str(err))
            raise


def _error(span: Span, kind: str, message: str) -> None:
    span.set_attribute(_ERROR, kind)
    span.set_status(Status(StatusCode.ERROR, redact_secrets(message)[:300]))


def failed(err: BaseException) -> None:
    """Mark the current span failed with ``err``: for a failure caught inside it."""
    _error(trace.get_current_span(), type(err).__qualname__, str(err))


@contextmanager
def handling(inbox: str, envelope: Envelope) -> Iterator[Span]:
    """The span of a worker running ``envelope`` read from ``inbox``, under its sender's.

    ``invoke_agent <role>``, or ``invoke_workflow <name>`` on a workflow's inbox
    (``workflow.<name>``: a role's name has no dot, see ``equipage.tools.workflow_inbox``).
    """
    if _state.silent(envelope):
        yield INVALID_SPAN
        return
    _, dot, workflow = inbox.partition(".")
    attributes: dict[str, AttributeValue] = {
        _CONVERSATION: envelope.thread,
        "equipage.crew": envelope.company,
        "equipage.envelope.id": envelope.id,
        "equipage.envelope.kind": envelope.kind.value,
    }
    if dot:
        name = f"invoke_workflow {workflow}"
        attributes |= {_OPERATION: "invoke_workflow", _WORKFLOW: workflow}
    else:
        name = f"invoke_agent {inbox}"
        attributes |= {_OPERATION: "invoke_agent", _AGENT: inbox}
    with _span(name, attributes, context=_sent_from(envelope)) as span:
        yield span


async def chat(
    model: ChatModel,
    prompt: Sequence[Message],
    tools: Sequence[ToolSpec],
    on_text: TextSink | None = None,
) -> Completion:
    """``model``'s completion of ``prompt``, in a ``chat <model>`` span with its usage."""
    provider, _, requested = model.name.partition(":")
    requested = requested or provider  # ``offline``, a scripted model: one word
    attributes: dict[str, AttributeValue] = {
        _OPERATION: "chat",
        _PROVIDER: provider,
        _REQUEST_MODEL: requested,
    }
    with _span(f"chat {requested}", attributes, kind=SpanKind.CLIENT) as span:
        if _state.content and span.is_recording():
            _said(span, _SYSTEM, [_part(m) for m in prompt if m.role == "system"])
            _said(span, _INPUT_MESSAGES, [_message(m) for m in prompt if m.role != "system"])
        done = await model.complete(prompt, tools, on_text=on_text)
        if span.is_recording():
            _usage(span, done)
        return done


def _usage(span: Span, done: Completion) -> None:
    usage = done.usage
    # The conventions count every input token, cached or not; a provider that reports
    # cache reads and writes apart (Anthropic) leaves them out of its input_tokens.
    whole = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    span.set_attributes(
        {
            _INPUT_TOKENS: whole,
            _OUTPUT_TOKENS: usage.output_tokens,
            _CACHE_READ: usage.cache_read_tokens,
            _CACHE_WRITE: usage.cache_write_tokens,
            "equipage.cost": usage.cost,
        }
    )
    if done.model:
        span.set_attribute(_RESPONSE_MODEL, done.model)
    if done.stop_reason:
        span.set_attribute(_FINISH, (done.stop_reason,))
    if _state.content:
        said = Message.assistant(done.content, done.tool_calls)
        _said(span, _OUTPUT_MESSAGES, [_message(said) | {"finish_reason": done.stop_reason}])


class ToolSpan:
    """The span of one tool call, told its result when the call returns."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def result(self, text: str) -> None:
        """Record the result (when content is recorded); an ``error:`` one fails the span."""
        if text.startswith("error:"):
            # Said to the model, it may quote what the model wrote: content, like the result.
            _error(self.span, "tool_error", text if _state.content else "")
        if _state.content:
            self.span.set_attribute(_TOOL_RESULT, redact_secrets(text))


@contextmanager
def execute_tool(call: ToolCall) -> Iterator[ToolSpan]:
    """The ``execute_tool <tool>`` span of ``call``."""
    attributes: dict[str, AttributeValue] = {
        _OPERATION: "execute_tool",
        _TOOL_NAME: call.name,
        _TOOL_CALL: call.id,
        _TOOL_TYPE: "function",
    }
    with _span(f"execute_tool {call.name}", attributes) as span:
        if _state.content:
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            span.set_attribute(_TOOL_ARGUMENTS, redact_secrets(arguments))
        yield ToolSpan(span)


# -- message content, in the conventions' JSON shape -----------------------------------------
def _said(span: Span, attribute: str, value: list[dict[str, object]]) -> None:
    if value:
        span.set_attribute(attribute, redact_secrets(json.dumps(value, ensure_ascii=False)))


def _part(message: Message) -> dict[str, object]:
    return {"type": "text", "content": message.content}


def _message(message: Message) -> dict[str, object]:
    parts: list[dict[str, object]] = []
    if message.role == "tool":
        parts.append(
            {"type": "tool_call_response", "id": message.tool_call_id, "result": message.content}
        )
    elif message.content:
        parts.append(_part(message))
    parts += [
        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}
        for c in message.tool_calls
    ]
    return {"role": message.role, "parts": parts}
