"""The openai provider, through the real SDK against the fake OpenAI-compatible server."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import httpx
import openai
import pytest

from equipage.errors import ConfigError, MissingExtraError, ModelError
from equipage.llm.base import load_model
from equipage.llm.messages import Message, ToolCall, ToolSpec, Usage
from equipage.llm.openai import OpenAIModel
from equipage.llm.options import ProviderOptions
from equipage.testing.fake_openai import FakeCall, FakeOpenAI

KEY = "sk-test-0123456789-secret"
MODEL = "mistral-small-latest"
SEARCH = ToolSpec(
    name="search",
    description="Search the web.",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}},
)
HELLO = [Message.system("You are the CEO."), Message.user("Bonjour !")]

Factory = Callable[..., OpenAIModel]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def model_for(fake: FakeOpenAI) -> AsyncIterator[Factory]:
    """Builds models on the fake; closes their connections before the fake stops."""
    made: list[OpenAIModel] = []

    def build(**overrides: Any) -> OpenAIModel:
        settings: dict[str, Any] = {"openai_api_key": KEY, "openai_base_url": fake.url}
        settings |= {"timeout": 5.0, "max_retries": 0, **overrides}
        made.append(OpenAIModel(MODEL, ProviderOptions(**settings)))
        return made[-1]

    yield build
    for model in made:
        await model.aclose()


async def test_streamed_text_reaches_on_text_in_order(fake: FakeOpenAI, model_for: Factory) -> None:
    fake.push_text("Bon", "jour", " à ", "tous")
    seen: list[str] = []

    async def sink(text: str) -> None:
        seen.append(text)

    completion = await model_for().complete(HELLO, [], on_text=sink)

    assert seen == ["Bon", "jour", " à ", "tous"]
    assert completion.content == "Bonjour à tous"
    assert (completion.stop_reason, completion.model) == ("stop", MODEL)
    assert completion.tool_calls == ()


async def test_tool_call_arguments_split_across_chunks_become_one_tool_call(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_tool_calls(FakeCall("search", '{"query": "crêpes à Rennes", "n": 3}', pieces=5))

    completion = await model_for().complete(HELLO, [SEARCH])

    assert completion.tool_calls == (
        ToolCall(id="call_0", name="search", arguments={"query": "crêpes à Rennes", "n": 3}),
    )
    assert completion.stop_reason == "tool_calls"


async def test_two_parallel_tool_calls_come_back_in_order(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_tool_calls(
        FakeCall("search", '{"query": "crêpes"}', id="call_a"),
        FakeCall("search", '{"query": "galettes"}', id="call_b"),
        text="Je cherche.",
    )

    completion = await model_for().complete(HELLO, [SEARCH])

    assert completion.content == "Je cherche."
    assert [(c.id, c.arguments) for c in completion.tool_calls] == [
        ("call_a", {"query": "crêpes"}),
        ("call_b", {"query": "galettes"}),
    ]


@pytest.mark.parametrize("indexes", ["omitted", "zero"])
async def test_parallel_tool_calls_stay_apart_when_the_server_botches_their_index(
    indexes: Literal["omitted", "zero"],
) -> None:
    async with FakeOpenAI(tool_call_indexes=indexes) as fake:
        fake.push_tool_calls(
            FakeCall("search", '{"query": "crêpes"}'), FakeCall("remember", '{"fact": "x"}')
        )
        model = OpenAIModel("qwen2.5", ProviderOptions(openai_base_url=fake.url))
        try:
            completion = await model.complete(HELLO, [SEARCH])
        finally:
            await model.aclose()

    assert completion.tool_calls == (
        ToolCall(id="call_0", name="search", arguments={"query": "crêpes"}),
        ToolCall(id="call_1", name="remember", arguments={"fact": "x"}),
    )


async def test_malformed_tool_arguments_are_kept_raw_for_the_tool_layer(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_tool_calls(FakeCall("search", '{"query": "crê'))

    completion = await model_for().complete(HELLO, [SEARCH])

    assert completion.tool_calls[0].arguments == {"_raw": '{"query": "crê'}


async def test_a_conversation_with_a_tool_result_is_sent_in_openai_shape(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    call = ToolCall(id="call_1", name="search", arguments={"query": "crêpes"})
    conversation = [
        *HELLO,
        Message.assistant("Je regarde.", (call,)),
        Message.tool(call, "3 results"),
        Message.assistant("Voilà."),
    ]

    await model_for(max_tokens=256).complete(conversation, [SEARCH])

    (request,) = fake.requests
    assert request.authorized
    assert request.body["messages"] == [
        {"role": "system", "content": "You are the CEO."},
        {"role": "user", "content": "Bonjour !"},
        {
            "role": "assistant",
            "content": "Je regarde.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "search", "arguments": '{"query": "crêpes"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3 results"},
        {"role": "assistant", "content": "Voilà."},
    ]
    assert request.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "search",
                "description": "Search the web.",
                "parameters": SEARCH.parameters,
            },
        }
    ]
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}
    assert (request.body["model"], request.body["max_tokens"]) == (MODEL, 256)


async def test_a_tool_call_without_text_is_sent_with_null_content_and_no_tools_field(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    call = ToolCall(id="call_1", name="search", arguments={"_raw": '{"query": "cr'})

    await model_for().complete([*HELLO, Message.assistant("", (call,))], [])

    request = fake.requests[0]
    assert "tools" not in request.body
    assistant = request.messages[-1]
    assert assistant["content"] is None
    # What the model wrote goes back verbatim, not our wrapper around it.
    assert assistant["tool_calls"][0]["function"]["arguments"] == '{"query": "cr'


async def test_a_rate_limit_waits_for_retry_after_then_succeeds(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_error(429, "Rate limit reached.", retry_after=1)
    fake.push_text("Enfin.")

    completion = await model_for(max_retries=2).complete(HELLO, [])

    assert completion.content == "Enfin."
    first, second = fake.requests
    assert second.at - first.at >= 0.95


async def test_retries_stop_at_the_bound_with_a_model_error_that_says_what_to_do(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_error(503, "Service overloaded.", retry_after=0.05)
    fake.push_error(503, "Service overloaded.", retry_after=0.05)
    fake.push_text("too late")

    with pytest.raises(ModelError, match="try again") as caught:
        await model_for(max_retries=1).complete(HELLO, [])

    assert len(fake.requests) == 2
    assert "503" in str(caught.value) and "Service overloaded" in str(caught.value)
    assert isinstance(caught.value.__cause__, openai.APIStatusError)


async def test_a_slow_endpoint_times_out_as_a_model_error(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_delay(30)
    fake.push_text("too late")

    with pytest.raises(ModelError, match=r"did not answer within 0\.3s"):
        await model_for(timeout=0.3).complete(HELLO, [])


@pytest.mark.parametrize("base_url", [None, "https://api.mistral.ai/v1"])
def test_a_missing_key_for_a_remote_endpoint_is_a_config_error(base_url: str | None) -> None:
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY") as caught:
        OpenAIModel(MODEL, ProviderOptions(openai_base_url=base_url))

    assert "https://api.mistral.ai/v1" in str(caught.value)
    assert "https://api.scaleway.ai/v1" in str(caught.value)


async def test_a_localhost_endpoint_needs_no_key(fake: FakeOpenAI) -> None:
    fake.push_text("Ollama here.")
    model = OpenAIModel("llama3.2", ProviderOptions(openai_base_url=fake.url))
    try:
        completion = await model.complete(HELLO, [])
    finally:
        await model.aclose()

    assert completion.content == "Ollama here."
    assert fake.requests[0].authorized  # a placeholder: the SDK refuses to send none


async def test_usage_is_mapped_and_an_unpriced_model_costs_nothing(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_text("ok", usage=(1234, 56))

    completion = await model_for().complete(HELLO, [])

    assert completion.usage == Usage(input_tokens=1234, output_tokens=56, cost=0.0)


async def test_a_server_that_sends_no_usage_leaves_usage_at_zero(
    fake: FakeOpenAI, model_for: Factory
) -> None:
    fake.push_text("ok", usage=None)

    completion = await model_for().complete(HELLO, [])

    assert (completion.content, completion.usage) == ("ok", Usage())


async def test_the_key_never_appears_in_errors_or_logs(
    fake: FakeOpenAI, model_for: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.push_error(429, "Slow down.", retry_after=0.05)
    fake.push_error(401, f"Incorrect API key provided: {KEY}.")
    model = model_for(max_retries=1)

    with pytest.raises(ModelError, match="Check OPENAI_API_KEY") as caught:
        await model.complete(HELLO, [])

    assert len(fake.requests) == 2 and caplog.records
    assert KEY not in str(caught.value)
    assert KEY not in caplog.text
    assert KEY not in repr(model)
    assert KEY not in repr(ProviderOptions(openai_api_key=KEY))


async def test_load_model_finds_the_openai_provider_by_name(fake: FakeOpenAI) -> None:
    fake.push_text("Bonjour.")
    options = ProviderOptions(openai_api_key="k", openai_base_url=fake.url)

    model = load_model(f"openai:{MODEL}", options)
    assert isinstance(model, OpenAIModel) and model.name == f"openai:{MODEL}"
    try:
        assert (await model.complete(HELLO, [])).content == "Bonjour."
    finally:
        await model.aclose()


def test_a_missing_openai_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)

    with pytest.raises(MissingExtraError, match=r"pip install 'equipage\[openai\]'"):
        OpenAIModel(MODEL, ProviderOptions(openai_api_key="k"))


async def test_the_fake_refuses_a_request_without_a_bearer_token(fake: FakeOpenAI) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.url}/chat/completions", json={"model": MODEL})

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests[0].authorized is False


async def test_the_fake_answers_without_streaming_too(fake: FakeOpenAI) -> None:
    fake.push_tool_calls(FakeCall("search", '{"query": "x"}'), text="Je cherche.")
    async with openai.AsyncOpenAI(base_url=fake.url, api_key="test") as client:
        answer = await client.chat.completions.create(model=MODEL, messages=[])

    message = answer.choices[0].message
    assert (message.content, answer.choices[0].finish_reason) == ("Je cherche.", "tool_calls")
    assert message.tool_calls is not None and message.tool_calls[0].id == "call_0"
    assert answer.usage is not None and answer.usage.prompt_tokens == 11
