"""Workflow inputs: owner-only fields, and company.yaml's settings under every run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from equipage.config import CompanyConfig
from equipage.errors import ConfigError
from equipage.inputs import (
    OwnerOnly,
    check_settings,
    crew_refusal,
    owner_only_fields,
    with_settings,
)
from tests.test_crew import company
from workflows.live_assist import LiveInput
from workflows.tenders import TendersInput


class Where(BaseModel):
    url: Annotated[str, OwnerOnly()] = "https://api.example.org"
    days: int = 7


class Job(BaseModel):
    where: Where = Field(default_factory=Where)
    spare: Where | None = None
    mode: Annotated[Literal["quiet", "loud", "radio"], OwnerOnly(crew_may=("quiet",))] = "quiet"
    pick: int = 1


def test_owner_only_fields_are_found_in_nested_models() -> None:
    assert set(owner_only_fields(Job)) == {"where.url", "spare.url", "mode"}
    assert set(owner_only_fields(TendersInput)) == {
        "sources.ted_base_url",
        "sources.boamp_base_url",
    }
    # "audio": where a call is heard from is the owner's word too (``equipage live --audio-*``).
    assert set(owner_only_fields(LiveInput)) == {"source", "host", "port", "audio"}


@pytest.mark.parametrize(
    "data",
    [
        {"pick": 3, "where": {"days": 30}},  # no owner-only field
        {"where": {"url": "https://api.example.org"}},  # the default, repeated
        {"mode": "quiet"},  # a value the crew may pick
    ],
)
def test_the_crew_may_leave_out_repeat_or_pick_what_it_is_allowed(data: dict[str, Any]) -> None:
    assert crew_refusal("job", Job, data) is None


def test_the_crew_may_repeat_what_company_yaml_configures_but_nothing_else() -> None:
    settings: dict[str, Any] = {"mode": "radio", "where": {"url": "http://10.0.0.5"}}
    assert crew_refusal("job", Job, {"mode": "radio"}, settings) is None
    assert crew_refusal("job", Job, {"where": {"url": "http://10.0.0.5"}}, settings) is None
    refusal = crew_refusal("job", Job, {"mode": "loud", "spare": {"url": "x"}}, settings)
    assert refusal == (
        "workflow job was not started: spare.url, mode can only be set by the owner, in "
        "company.yaml (workflows.job.spare.url, workflows.job.mode) or with `equipage "
        "workflow run job --set spare.url=…`. Here mode may be quiet, radio. Leave them out "
        "and start it again, or ask the owner."
    )


def test_settings_lie_under_the_input_and_nested_mappings_merge() -> None:
    settings: dict[str, Any] = {"where": {"url": "http://mirror", "days": 3}, "pick": 2}
    merged = with_settings(settings, {"where": {"days": 10}, "mode": "quiet"})
    assert merged == {"where": {"url": "http://mirror", "days": 10}, "pick": 2, "mode": "quiet"}


def test_company_yaml_enables_workflows_by_list_or_with_settings() -> None:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["workflows"] = ["digest", "tenders"]
    assert CompanyConfig.model_validate(data).workflows == {"digest": {}, "tenders": {}}
    data["workflows"] = {"digest": None, "tenders": {"sources": {"ted_base_url": "http://m"}}}
    enabled = CompanyConfig.model_validate(data).workflows
    assert list(enabled) == ["digest", "tenders"] and "tenders" in enabled
    assert enabled["tenders"] == {"sources": {"ted_base_url": "http://m"}}


def test_settings_that_are_not_fields_of_the_input_are_a_config_error() -> None:
    check_settings("tenders", TendersInput, {"sources": {"ted_base_url": "http://mirror"}})
    with pytest.raises(ConfigError, match=r"workflows\.tenders\.sources\.ted_url: Extra inputs"):
        check_settings("tenders", TendersInput, {"sources": {"ted_url": "http://mirror"}})
