"""company.yaml as a whole: the company, its members, roles, workflows, schedules and runtime.

``equipage.config`` loads the file into ``CompanyConfig``; the checks that span sections
(one owner, schedules naming enabled workflows, prompt files that exist) live here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    JsonValue,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)

from equipage.company.fields import ConfigModel, Name, UserId, enabled
from equipage.company.platforms import ChannelsConfig, platform_names
from equipage.company.profile import Company
from equipage.company.roles import RoleConfig, resolve_prompt
from equipage.company.speech import SpeechConfig
from equipage.cron import check_cron
from equipage.errors import ConfigError
from equipage.yamlpos import FieldIssues, Loc

__all__ = ["CompanyConfig", "Member", "RuntimeConfig", "Schedule", "load_prompt"]


class Member(ConfigModel):
    """A person who may talk to the crew."""

    id: str = Field(min_length=1, description="a short unique id, e.g. alice")
    name: str = Field(min_length=1, description="how the agents address this person")
    role: Literal["owner", "member"] = Field("member", description="owner or member")
    identities: dict[Name, UserId] = Field(
        default_factory=dict, description="platform -> their user id there, e.g. {console: alice}"
    )


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(
            f"{value!r} is not a time zone; use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from err
    return value


def _platform(value: str) -> str:
    known = platform_names()
    if value not in known:
        raise ValueError(f"unknown platform {value!r}; use one of: {', '.join(known)}")
    return value


class Schedule(ConfigModel):
    """A workflow run on a cron schedule."""

    name: Name = Field(description="a unique name, e.g. weekly-tenders")
    cron: Annotated[str, AfterValidator(check_cron)] = Field(
        description="5 fields, e.g. '0 8 * * MON'"
    )
    workflow: Name = Field(description="an enabled workflow")
    input: dict[str, JsonValue] = Field(default_factory=dict, description="the workflow's input")
    role: Name | None = Field(None, description="the role that owns the run")
    notify: Annotated[str, AfterValidator(_platform)] | None = Field(
        None, description="where the owner gets the result; default: their first platform"
    )


class RuntimeConfig(ConfigModel):
    """How the crew runs; the defaults suit a laptop."""

    entry_role: Name = Field("ceo", description="the role that receives the founder's messages")
    max_hops: int = Field(8, ge=1, description="hops between agents before a thread stops")
    max_attempts: int = Field(5, ge=1, description="deliveries before the dead-letter stream")
    visibility_timeout: float = Field(60.0, gt=0, description="seconds before a reclaim")
    workers: int = Field(2, ge=1, description="concurrent handlers per worker process")
    long_runs: int = Field(
        4, ge=1, description="workflow runs that last (live calls) held at once per process"
    )
    document_memory_mb: int = Field(
        512,
        ge=128,
        description="most memory, in MB, that reading one file a person sent may take; "
        "the process reading it is stopped past it",
    )
    monthly_budget: float = Field(
        50.0, ge=0, description="most the company spends on model calls per month"
    )
    compact_at_tokens: int = Field(
        24_000, ge=1_000, description="history size (estimated tokens) that triggers a summary"
    )
    keep_recent: int = Field(8, ge=2, description="messages kept verbatim after a summary")
    timezone: Annotated[str, AfterValidator(_timezone)] = Field(
        "UTC", description="IANA time zone of the schedules' cron times, e.g. Europe/Paris"
    )
    recover_within: float = Field(
        300.0,
        gt=0,
        description="seconds a loop (a worker, the gateway, a channel) may stay down, "
        "retried meanwhile, e.g. while Redis is away; past it the process exits with code 3 "
        "so that its process supervisor (systemd, Docker) restarts it",
    )


class CompanyConfig(ConfigModel):
    """Everything company.yaml says, checked."""

    company: Company
    members: tuple[Member, ...] = Field(min_length=1, description="at least the owner")
    roles: dict[Name, RoleConfig] = Field(min_length=1, description="role name -> role")
    workflows: Annotated[dict[Name, dict[str, JsonValue]], BeforeValidator(enabled)] = Field(
        default_factory=dict,
        description="enabled workflows: a list of names, or name -> settings, the owner's "
        "values under every run of it (e.g. tenders: {sources: {ted_base_url: ...}}); only "
        "settings and your command line may set the fields a workflow keeps for you",
    )
    schedules: tuple[Schedule, ...] = Field((), description="workflows run on a schedule")
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    speech: SpeechConfig | None = Field(
        None, description="speech-to-text for voice notes; unset: voice notes are refused"
    )
    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The company.yaml this was loaded from, if any."""
        return self._source

    @property
    def owner(self) -> Member:
        """The founder: the one member whose role is owner."""
        return next(member for member in self.members if member.role == "owner")

    def member_for(self, platform: str, user_id: str | int) -> Member | None:
        """The member known as ``user_id`` on ``platform``, or None for a stranger."""
        wanted = str(user_id)
        return next((m for m in self.members if m.identities.get(platform) == wanted), None)

    def prompt_variables(self) -> dict[str, str]:
        """Values for the prompts' placeholders, except ``{brief}``."""
        profile = self.company.profile
        return {
            "company_name": self.company.name,
            "sells": profile.sells,
            "where": ", ".join(profile.where) or "every country",
            "languages": ", ".join(profile.languages),
        }

    @model_validator(mode="after")
    def _check_together(self, info: ValidationInfo) -> Self:
        source: Path | None = (info.context or {}).get("source")
        issues = self._member_issues() + self._schedule_issues()
        if self.runtime.entry_role not in self.roles:
            # Point at runtime.entry_role only when the user wrote it; else at roles.
            loc = ("runtime", "entry_role") if "runtime" in self.model_fields_set else ("roles",)
            message = (
                f"the entry role {self.runtime.entry_role!r} is not in roles "
                f"({', '.join(self.roles)}); add it, or set runtime.entry_role to one of them"
            )
            issues.append((loc, message))
        base = source.parent if source else Path.cwd()
        for name, role in self.roles.items():
            try:
                role._prompt_path = resolve_prompt(name, role.prompt, base)
            except ValueError as err:
                issues.append((("roles", name, "prompt"), str(err)))
        if issues:
            raise FieldIssues(issues)
        self._source = source
        return self

    def _member_issues(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        owners = [i for i, member in enumerate(self.members) if member.role == "owner"]
        if not owners:
            issues.append((("members",), "no member has role: owner; give it to the founder"))
        for i in owners[1:]:
            first = self.members[owners[0]].id
            message = f"{first!r} is already the owner and there is only one; set `role: member`"
            issues.append((("members", i, "role"), message))
        seen: dict[object, int] = {}
        for i, member in enumerate(self.members):
            if seen.setdefault(member.id, i) != i:
                issues.append((("members", i, "id"), f"member id {member.id!r} is used twice"))
            for platform, user in member.identities.items():
                if seen.setdefault((platform, user), i) != i:
                    message = f"{platform} user {user!r} already belongs to another member"
                    issues.append((("members", i, "identities", platform), message))
        return issues

    def _schedule_issues(self) -> list[tuple[Loc, str]]:
        issues: list[tuple[Loc, str]] = []
        names: set[str] = set()
        for i, schedule in enumerate(self.schedules):
            if schedule.name in names:
                issues.append((("schedules", i, "name"), f"{schedule.name!r} is used twice"))
            names.add(schedule.name)
            if schedule.workflow not in self.workflows:
                enabled = ", ".join(self.workflows) or "none"
                message = f"workflow {schedule.workflow!r} is not enabled; add it to `workflows:`"
                issues.append((("schedules", i, "workflow"), f"{message} (enabled: {enabled})"))
            if schedule.role is not None and schedule.role not in self.roles:
                message = (
                    f"role {schedule.role!r} does not exist; use one of {', '.join(self.roles)}"
                )
                issues.append((("schedules", i, "role"), message))
        return issues


def load_prompt(config: CompanyConfig, role_name: str) -> str:
    """The raw prompt of ``role_name``, placeholders still in braces."""
    role = config.roles.get(role_name)
    if role is None:
        raise ConfigError(f"no role {role_name!r}; roles are {', '.join(config.roles)}")
    return role.prompt_text()
