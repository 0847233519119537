"""The anthropic provider, through the real SDK against the fake Messages API server."""

from __future__ import annotations

import itertools
import json
import logging
import sys
import time
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from anthropic._data import DEPRECATED_MODELS  # private: tests read it, product code does not

from equipage.errors import ConfigError, MissingExtraError, ModelError
from equipage.llm import deprecation, pricing
from equipage.llm.anthropic import AnthropicModel
from equipage.llm.base import ChatModel, load_model
from equipage.llm.messages import Message, ToolCall, ToolSpec, Usage
from equipage.llm.options import ProviderOptions
from equipage.testing import ANTHROPIC_TEST_MODEL, models
from equipage.testing.fake_anthropic import (
    DEFAULT_TEXT,
    FakeAnthropic,
    delay,
    error,
    text,
    tool_use,
)

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
KEY = "sk-ant-api03-test-0123456789-secret"
MODEL = ANTHROPIC_TEST_MODEL
DEPRECATED = "claude-opus-4-5"  # on anthropic 2.17's deprecated list, until January 2027
HELLO = [Message.system("Tu es le CEO d'Acme."), Message.user("Bonjour !")]
HI = [{"role": "user", "content": "Hi"}]  # raw Messages API turns, for the fake alone
DELEGATE = ToolSpec(
    name="delegate",
    description="Hand work to a role.",
    parameters={"type": "object", "properties": {"role": {"type": "string"}}},
)
REPLY = ToolSpec(
    name="reply",
    description="Answer the person.",
    parameters={"type": "object", "properties": {"text": {"type": "string"}}},
)
EPHEMERAL = {"type": "ephemeral"}
RECORDED = "sdk-python_recorded_TestSyncRunTools_10e53c1d-51be-4c64-b5bf-99adb3fa4719.json"

Factory = Callable[..., AnthropicModel]


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def model_for(fake: FakeAnthropic) -> AsyncIterator[Factory]:
    """Builds models on the fake; closes their connections before the fake stops."""
    made: list[AnthropicModel] = []

    def build(**overrides: Any) -> AnthropicModel:
        settings: dict[str, Any] = {"anthropic_api_key": KEY, "anthropic_base_url": fake.url}
        settings |= {"timeout": 5.0, "max_retries": 0, **overrides}
        made.append(AnthropicModel(MODEL, ProviderOptions(**settings)))
        return made[-1]

    yield build
    for model in made:
        await model.aclose()


def gaps(fake: FakeAnthropic) -> list[float]:
    times = [r.time for r in fake.requests]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


async def test_streamed_text_reaches_on_text_in_order_and_the_completion_holds_all_of_it(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    answer = "Bonjour ! Voici le plan de lancement, étape par étape."
    fake.push(text(answer))
    seen: list[str] = []

    async def sink(delta: str) -> None:
        seen.append(delta)

    completion = await model_for().complete(HELLO, [], on_text=sink)

    assert len(seen) > 1 and "".join(seen) == answer
    assert completion.content == answer
    assert completion.stop_reason == "end_turn"
    assert completion.model == f"anthropic:{MODEL}"
    usage = completion.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.cost == pricing.cost(f"anthropic:{MODEL}", usage) > 0
    assert fake.requests[0].body["stream"] is True


async def test_a_streamed_tool_use_becomes_a_tool_call_with_parsed_arguments(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    arguments = {"role": "marketing", "brief": "Écrire le post de lancement", "urgent": True}
    fake.push(tool_use("delegate", arguments, text="Je délègue au marketing."))

    completion = await model_for().complete(HELLO, [DELEGATE])

    (call,) = completion.tool_calls
    assert call.name == "delegate" and call.arguments == arguments
    assert call.id.startswith("toolu_")
    assert completion.content == "Je délègue au marketing."
    assert completion.stop_reason == "tool_use"


async def test_a_tool_call_and_its_result_are_sent_in_the_anthropic_shape(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    ask = ToolCall(id="toolu_1", name="delegate", arguments={"role": "marketing"})
    answer = ToolCall(id="toolu_2", name="reply", arguments={"text": "C'est parti"})
    conversation = [
        Message.system("Tu es le CEO d'Acme."),
        Message.system("Ton équipe : marketing, cto."),
        Message.user("Bonjour !"),
        Message.user("Prépare le lancement."),
        Message.assistant("", (ask, answer)),
        Message.tool(ask, "delegated to marketing"),
        Message.tool(answer, "sent"),
        Message.user("Et ensuite ?"),
    ]

    await model_for().complete(conversation, [DELEGATE, REPLY])

    body = fake.requests[0].body
    assert body["system"] == [
        {"type": "text", "text": "Tu es le CEO d'Acme."},
        {"type": "text", "text": "Ton équipe : marketing, cto.", "cache_control": EPHEMERAL},
    ]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Bonjour !"},
                {"type": "text", "text": "Prépare le lancement."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "delegate", "input": ask.arguments},
                {"type": "tool_use", "id": "toolu_2", "name": "reply", "input": answer.arguments},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": "delegated to marketing",
                },
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "sent"},
                {"type": "text", "text": "Et ensuite ?", "cache_control": EPHEMERAL},
            ],
        },
    ]
    assert body["tools"] == [
        {
            "name": "delegate",
            "description": DELEGATE.description,
            "input_schema": DELEGATE.parameters,
        },
        {
            "name": "reply",
            "description": REPLY.description,
            "input_schema": REPLY.parameters,
            "cache_control": EPHEMERAL,
        },
    ]
    assert body["max_tokens"] == ProviderOptions().max_tokens and body["model"] == MODEL
    assert json.dumps(body).count('"cache_control"') == 3  # the API allows at most 4


async def test_a_429_with_retry_after_is_retried_once_the_wait_has_passed(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(error(429, "rate_limit_error", "Number of requests over your limit.", 1), text("ok"))

    completion = await model_for(max_retries=2).complete(HELLO, [])

    assert completion.content == "ok"
    assert len(fake.requests) == 2
    (gap,) = gaps(fake)
    # Not sooner than asked; the upper bound leaves a loaded machine ample slack over the
    # 1.25 s of retry-after plus jitter, and catches a far longer wait (the 8 s backoff cap).
    assert 1.0 <= gap < 5.0


async def test_overloaded_then_internal_error_then_success_is_retried_with_backoff(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(
        error(529, "overloaded_error", "Overloaded"),
        error(500, "api_error", "Internal server error"),
        text("enfin"),
    )

    completion = await model_for(max_retries=2).complete(HELLO, [])

    assert completion.content == "enfin"
    first, second = gaps(fake)
    assert first >= 0.5 and second >= 1.0  # 0.5 s, then 1 s, each plus jitter


async def test_errors_past_max_retries_raise_a_model_error_that_says_what_to_do(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(*[error(529, "overloaded_error", "Overloaded", retry_after=0.1)] * 4)

    with pytest.raises(ModelError) as caught:
        await model_for(max_retries=2).complete(HELLO, [])

    assert len(fake.requests) == 3
    message = str(caught.value)
    assert "529 overloaded_error" in message and "after 3 attempts" in message
    assert "try again in a few minutes" in message
    assert isinstance(caught.value.__cause__, anthropic.APIStatusError)


async def test_a_retry_after_longer_than_equipage_waits_fails_at_once(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(error(429, "rate_limit_error", "Slow down.", retry_after=3600), text("late"))

    with pytest.raises(ModelError, match="asked to wait 3600 s"):
        await model_for(max_retries=4).complete(HELLO, [])

    assert len(fake.requests) == 1


async def test_a_refused_request_is_not_retried(fake: FakeAnthropic, model_for: Factory) -> None:
    fake.push(error(400, "invalid_request_error", "messages: roles must alternate"))

    with pytest.raises(ModelError, match="400 invalid_request_error"):
        await model_for(max_retries=4).complete(HELLO, [])

    assert len(fake.requests) == 1


async def test_an_error_event_inside_the_stream_is_retried_before_any_text_went_out(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(error(529, "overloaded_error", "Overloaded", in_stream=True), text("ok"))
    seen: list[str] = []

    async def sink(delta: str) -> None:
        seen.append(delta)

    completion = await model_for(max_retries=1).complete(HELLO, [], on_text=sink)

    assert completion.content == "ok" and seen == ["ok"]
    assert len(fake.requests) == 2


async def test_a_model_slower_than_the_timeout_raises_a_model_error(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    fake.push(delay(30, text("too late")))
    started = time.monotonic()

    with pytest.raises(ModelError, match=r"did not answer within 0\.5 s"):
        await model_for(timeout=0.5, max_retries=0).complete(HELLO, [])

    assert time.monotonic() - started < 5  # ten times the timeout; the fake would take 30 s
    assert len(fake.requests) == 1


async def test_the_second_turn_reads_the_long_system_prompt_from_the_cache(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    handbook = "Règle : on répond en français, poliment et brièvement. " * 100  # > 1024 tokens
    first = [Message.system(handbook), Message.user("Prépare le lancement.")]
    fake.push(text("Voici le plan."), text("Budget : 2 000 €."))
    model = model_for()

    turn1 = await model.complete(first, [REPLY])
    second = [*first, Message.assistant("Voici le plan."), Message.user("Et le budget ?")]
    turn2 = await model.complete(second, [REPLY])

    assert turn1.usage.cache_write_tokens > 1024 and turn1.usage.cache_read_tokens == 0
    # The whole first prompt is read back: the breakpoint on its last block was written.
    assert turn2.usage.cache_read_tokens == turn1.usage.cache_write_tokens
    u = turn2.usage
    uncached = Usage(
        input_tokens=u.input_tokens + u.cache_read_tokens + u.cache_write_tokens,
        output_tokens=u.output_tokens,
    )
    assert u.cost < pricing.cost(model.name, uncached)


async def test_a_prompt_shorter_than_the_model_minimum_is_not_cached(
    fake: FakeAnthropic, model_for: Factory
) -> None:
    model = model_for()
    for _ in range(2):
        usage = (await model.complete(HELLO, [])).usage
        assert usage.cache_read_tokens == usage.cache_write_tokens == 0


def sse_events(body: str) -> list[dict[str, Any]]:
    """Each event's data, checked against its ``event:`` name; blank-line separated."""
    events = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.strip().splitlines())
        if fields:
            data = json.loads(fields["data"])
            assert data["type"] == fields["event"]
            events.append(data)
    return events


def shape(value: Any) -> Any:
    """The nested keys of a JSON value; usage is compared apart (see ``usages``)."""
    if isinstance(value, dict):
        return {k: (None if k == "usage" else shape(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return None


def outline(events: list[dict[str, Any]]) -> list[Any]:
    """Event types, block indexes and shapes in order; a run of deltas counts once."""
    out: list[Any] = []
    for event in events:
        step = (event["type"], event.get("index"), shape(event))
        if not (out and step[0] == "content_block_delta" and out[-1][:2] == step[:2]):
            out.append(step)
    return out


def usages(events: list[dict[str, Any]]) -> list[set[str]]:
    found = [e.get("usage") or e.get("message", {}).get("usage") for e in events]
    return [set(usage) for usage in found if usage]


async def raw_post(fake: FakeAnthropic, body: dict[str, Any], **headers: str) -> httpx.Response:
    sent = {"x-api-key": KEY, "anthropic-version": "2023-06-01", **headers}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{fake.url}/v1/messages", json=body, headers=sent)


@pytest.mark.parametrize(
    ("fixture", "step"),
    [
        ("sdk-python_stream_fixture_basic_response.txt", text("Hello there!")),
        (
            "sdk-python_stream_fixture_tool_use_response.txt",
            tool_use("get_weather", {"location": "Paris"}, text="I'll check the weather."),
        ),
    ],
)
async def test_the_fake_streams_the_event_shapes_of_a_recorded_real_stream(
    fake: FakeAnthropic, fixture: str, step: Any
) -> None:
    real = sse_events((FIXTURES / fixture).read_text())
    fake.push(step)
    body = {"model": MODEL, "max_tokens": 64, "stream": True}
    response = await raw_post(fake, body | {"messages": HI})

    assert response.headers["content-type"].startswith("text/event-stream")
    ours = sse_events(response.text)
    assert outline(ours) == outline(real)
    # The fake sends at least the usage keys of each recorded event (newer API fields too).
    for recorded, sent in zip(usages(real), usages(ours), strict=True):
        assert recorded <= sent


async def test_the_fakes_json_answer_has_the_keys_of_a_recorded_real_answer(
    fake: FakeAnthropic,
) -> None:
    recorded = json.loads((FIXTURES / RECORDED).read_text())
    real = recorded[0]["response"]["body"]
    fake.push(tool_use("get_weather", {"location": "San Francisco, CA", "units": "f"}))

    response = await raw_post(fake, recorded[0]["request"]["body"])

    ours = response.json()
    assert response.status_code == 200
    assert set(ours) == set(real)
    assert set(ours["usage"]) == set(real["usage"])
    assert set(ours["usage"]["cache_creation"]) == set(real["usage"]["cache_creation"])
    assert set(ours["content"][0]) == set(real["content"][0])


async def test_the_fake_refuses_requests_without_a_key_or_an_api_version(
    fake: FakeAnthropic,
) -> None:
    body = {"model": MODEL, "max_tokens": 8, "messages": HI}
    no_key = await raw_post(fake, body, **{"x-api-key": ""})
    no_version = await raw_post(fake, body, **{"anthropic-version": ""})
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    assert no_version.status_code == 400 and no_version.json()["type"] == "error"
    assert fake.requests[0].has_key is False and "x-api-key" not in fake.requests[1].headers


async def test_a_responder_answers_from_the_request_it_gets() -> None:
    async with FakeAnthropic(lambda r: text(r.body["messages"][-1]["content"].upper())) as fake:
        response = await raw_post(fake, {"model": MODEL, "max_tokens": 8, "messages": HI})
    assert response.json()["content"] == [{"type": "text", "text": "HI"}]


async def test_the_fake_forgets_a_cached_prefix_five_minutes_after_its_last_use() -> None:
    now = [0.0]
    system = [{"type": "text", "text": "x" * 5000, "cache_control": EPHEMERAL}]
    body = {"model": MODEL, "max_tokens": 8, "system": system, "messages": HI}
    async with FakeAnthropic(clock=lambda: now[0]) as fake:
        usage = []
        for at in (0.0, 299.0, 598.0, 899.0):  # each read refreshes the 300 s lifetime
            now[0] = at
            usage.append((await raw_post(fake, body)).json()["usage"])
    assert [u["cache_read_input_tokens"] > 0 for u in usage] == [False, True, True, False]
    assert usage[0]["cache_creation_input_tokens"] == usage[1]["cache_read_input_tokens"] > 1024


async def test_a_missing_api_key_is_a_config_error_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicModel(MODEL, ProviderOptions())


async def test_a_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'equipage\[anthropic\]'"):
        AnthropicModel(MODEL, ProviderOptions(anthropic_api_key=KEY))


async def test_load_model_builds_an_anthropic_chat_model() -> None:
    model = load_model(f"anthropic:{MODEL}", ProviderOptions(anthropic_api_key=KEY))
    assert isinstance(model, ChatModel) and isinstance(model, AnthropicModel)
    assert model.name == f"anthropic:{MODEL}" and KEY not in repr(model)
    await model.aclose()


async def test_the_api_key_never_appears_in_errors_or_log_records(
    fake: FakeAnthropic, model_for: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.push(
        error(429, "rate_limit_error", "Slow down.", retry_after=0.05),
        text("ok"),
        error(401, "authentication_error", f"invalid x-api-key {KEY}"),
        delay(30),
    )
    model = model_for(max_retries=1)
    await model.complete(HELLO, [])
    failures = []
    for options in ({}, {"timeout": 0.3}):
        with pytest.raises(ModelError) as caught:
            await model_for(max_retries=0, **options).complete(HELLO, [])
        failures.append(caught.value)

    assert "check ANTHROPIC_API_KEY" in str(failures[0])
    assert caplog.records, "the SDK and the provider log at DEBUG and INFO"
    for failure in failures:
        assert KEY not in str(failure) and KEY not in repr(failure)
    assert KEY not in caplog.text
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_the_models_tests_use_are_priced_and_not_deprecated_by_the_installed_sdk() -> None:
    exported = {name: getattr(models, name) for name in models.__all__}
    specs = {name: m if ":" in m else f"anthropic:{m}" for name, m in exported.items()}
    for name, spec in specs.items():
        model = spec.removeprefix("anthropic:")
        assert spec in pricing.PRICES, f"{name} = {model!r} has no row in equipage/llm/pricing.py"
        assert model not in DEPRECATED_MODELS, (
            f"anthropic {anthropic.__version__} deprecates {model!r} ({name}; end of life "
            f"{DEPRECATED_MODELS[model]}): pick a newer priced model in equipage/testing/models.py"
        )


async def test_a_model_the_sdk_deprecates_still_answers_and_is_logged_once(
    fake: FakeAnthropic, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deprecation, "_known", {})  # once per process: this test starts afresh
    caplog.set_level(logging.INFO)
    filters = list(warnings.filters)
    options = ProviderOptions(anthropic_api_key=KEY, anthropic_base_url=fake.url)
    first, second = AnthropicModel(DEPRECATED, options), AnthropicModel(DEPRECATED, options)
    try:
        answers = [await m.complete(HELLO, []) for m in (first, second, first)]
    finally:
        await first.aclose()
        await second.aclose()

    assert [a.content for a in answers] == [DEFAULT_TEXT] * 3
    assert [r.body["model"] for r in fake.requests] == [DEPRECATED] * 3
    assert warnings.filters == filters  # -W error still holds for everything else
    said = [r for r in caplog.records if "deprecated" in r.getMessage()]
    assert [(r.name, r.levelno, r.getMessage()) for r in said] == [
        (
            "equipage.llm.anthropic",
            logging.WARNING,
            f"model {DEPRECATED} is deprecated by Anthropic and reaches end-of-life on "
            f"{DEPRECATED_MODELS[DEPRECATED]}: choose a newer model in company.yaml",
        )
    ]
