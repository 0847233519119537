"""The model provider registry: specs, keys and the demo's default, all from one table."""

from __future__ import annotations

import pytest

from equipage.errors import ConfigError
from equipage.llm.base import load_model
from equipage.llm.offline import OfflineModel
from equipage.llm.options import ProviderOptions
from equipage.llm.providers import (
    OFFLINE,
    PROVIDERS,
    Provider,
    default_help,
    default_spec,
    env_variables,
    key_variables,
    missing_key,
    options_from,
    spec_help,
    spec_problem,
)


@pytest.mark.parametrize(
    "spec", ["offline", "anthropic:claude-haiku-4-5", "openai:gpt-4o-mini", "openai:local model"]
)
def test_a_known_provider_with_a_model_is_a_valid_spec(spec: str) -> None:
    assert spec_problem(spec) is None


@pytest.mark.parametrize(
    "spec", ["mistral:large", "anthropic", "anthropic:", "anthropic: ", "offline:x", ""]
)
def test_an_unknown_or_incomplete_spec_is_refused_with_every_way_to_write_one(spec: str) -> None:
    problem = spec_problem(spec)
    assert problem is not None and problem.startswith(f"unknown model {spec!r}; write ")
    assert all(p.hint in problem for p in PROVIDERS.values())
    assert problem.endswith(" or 'openai:<model>' (any OpenAI-compatible API)")


def test_the_spec_help_lists_every_provider() -> None:
    assert spec_help() == "'offline', 'anthropic:<model>' or 'openai:<model>'"


def test_a_provider_whose_key_is_unset_names_its_variable() -> None:
    none = ProviderOptions()
    assert missing_key("anthropic:claude-haiku-4-5", none) == "ANTHROPIC_API_KEY"
    assert missing_key("openai:gpt-4o-mini", none) == "OPENAI_API_KEY"
    assert missing_key(OFFLINE, none) is None
    keyed = ProviderOptions(anthropic_api_key="sk-ant-test", openai_api_key="sk-test")
    assert missing_key("anthropic:claude-haiku-4-5", keyed) is None
    assert missing_key("openai:gpt-4o-mini", keyed) is None


def test_every_key_variable_is_listed_as_a_secret() -> None:
    assert set(key_variables()) == {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"}


def test_the_demo_runs_offline_unless_a_provider_with_a_default_has_its_key() -> None:
    assert default_spec(ProviderOptions()) == OFFLINE
    assert default_spec(ProviderOptions(openai_api_key="sk-test")) == OFFLINE
    chosen = default_spec(ProviderOptions(anthropic_api_key="sk-ant-test"))
    assert chosen == "anthropic:claude-haiku-4-5"
    assert default_help() == (
        "anthropic:claude-haiku-4-5 when ANTHROPIC_API_KEY is set, else offline"
    )


def test_load_model_builds_the_provider_the_spec_names() -> None:
    assert isinstance(load_model(OFFLINE), OfflineModel)
    with pytest.raises(ConfigError, match="known providers: anthropic, offline, openai"):
        load_model("mistral:large")


def test_a_provider_reads_its_key_under_its_variable_name_in_lowercase() -> None:
    provider = Provider("anthropic", "x:y", "", key_variable="ANTHROPIC_API_KEY")
    assert provider.api_key(ProviderOptions(anthropic_api_key="sk-ant-test")) == "sk-ant-test"
    assert provider.api_key(ProviderOptions()) is None


def test_options_are_read_from_the_providers_variables_only() -> None:
    assert set(env_variables()) == {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
    }
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": "http://llm:8000/v1", "HOME": "/x"}
    options = options_from(env)
    assert options.openai_api_key == "sk-test" and options.openai_base_url == env["OPENAI_BASE_URL"]
    assert options.anthropic_api_key is None and options.max_tokens == ProviderOptions().max_tokens
