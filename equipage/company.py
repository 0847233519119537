"""company.yaml as checked models: the company, its members, roles, workflows, schedules.

``equipage.config`` loads the file into ``CompanyConfig`` and reads the environment; these
models say what each field means and turn every mistake into a message that names it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from equipage.cron import check_cron
from equipage.errors import ConfigError
from equipage.keys import validate_company_id
from equipage.yamlpos import FieldIssues, Loc

__all__ = [
    "KNOWN_TOOLS",
    "PACKAGED_ROLES",
    "ChannelsConfig",
    "Company",
    "CompanyConfig",
    "McpServer",
    "Member",
    "Profile",
    "RoleConfig",
    "RuntimeConfig",
    "Schedule",
    "TenderProfile",
    "load_prompt",
    "offered_name",
    "packaged_prompt",
    "slugify",
]


KNOWN_TOOLS = ("delegate", "reply", "remember", "recall", "ask_human", "start_workflow")
#: Roles whose prompt ships in ``agents/prompts``.
PACKAGED_ROLES = ("ceo", "cto", "marketing", "support")
_MODEL_PROVIDERS = ("anthropic", "openai")
_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def slugify(name: str) -> str:
    """A company id derived from its name: ``"Société Générale"`` -> ``"societe-generale"``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "-", plain.lower()).strip("-_")[:63].rstrip("-_")


def packaged_prompt(role: str) -> Path | None:
    """The prompt shipped for ``role`` in ``agents/prompts``, if there is one."""
    resource = files("agents") / "prompts" / f"{role}.md"
    # pip installs packages as files, so the resource is a real path we can store.
    return resource if isinstance(resource, Path) and resource.is_file() else None


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} must start with a-z and use only a-z, 0-9, '-' or '_'")
    return value


def _tool(name: str) -> str:
    if name not in KNOWN_TOOLS:
        close = difflib.get_close_matches(name, KNOWN_TOOLS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown tool {name!r}; {hint}known tools: {', '.join(KNOWN_TOOLS)}")
    return name


def _model(spec: str) -> str:
    provider, colon, name = spec.partition(":")
    if spec == "offline" or (colon and provider in _MODEL_PROVIDERS and name.strip()):
        return spec
    raise ValueError(
        f"unknown model {spec!r}; write 'offline' (no network), 'anthropic:<model>' "
        "(e.g. anthropic:claude-haiku-4-5) or 'openai:<model>' (any OpenAI-compatible API)"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _code(value: str, kind: str, example: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(f"{value!r} is not {kind}; write two letters, e.g. {example}")
    return value


def _user_id(value: object) -> object:
    # YAML reads `telegram: 123456` as an int; ids are text on every platform.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _enabled(value: object) -> object:
    """``workflows: [tenders]`` is ``workflows: {tenders: {}}``; a name alone has no settings."""
    if isinstance(value, list | tuple) and all(isinstance(name, str) for name in value):
        return {name: {} for name in value}
    if isinstance(value, dict):
        return {name: {} if settings is None else settings for name, settings in value.items()}
    return value


Name = Annotated[str, AfterValidator(_name)]
Tool = Annotated[str, AfterValidator(_tool)]
Keyword = Annotated[str, AfterValidator(str.casefold), Field(min_length=1)]
UserId = Annotated[str, BeforeValidator(_user_id), Field(min_length=1)]


def _norway(value: object) -> object:
    # YAML 1.1 reads an unquoted NO as false: the one country code it turns into a bool.
    return "NO" if value is False else value


Country = Annotated[
    str,
    BeforeValidator(_norway),
    AfterValidator(lambda v: _code(v, "an ISO country code", "FR").upper()),
]
Language = Annotated[str, AfterValidator(lambda v: _code(v, "an ISO 639-1 language", "fr").lower())]


class _Model(BaseModel):
    # extra="forbid" turns every typo in company.yaml into an error that names it.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _cpv_prefix(value: str) -> str:
    digits = value.strip().split("-")[0]
    if not (digits.isdigit() and 2 <= len(digits) <= 8):
        raise ValueError(f"{value!r} is not a CPV prefix; write 2 to 8 digits, e.g. '72' or '4800'")
    return digits


CpvPrefix = Annotated[str, AfterValidator(_cpv_prefix)]


class TenderProfile(_Model):
    """What public tenders the company answers; the ``tenders`` workflow matches on it."""

    cpv: tuple[CpvPrefix, ...] = Field(
        (), description="CPV code prefixes, e.g. ['72', '48'] (IT services, software)"
    )
    keywords: tuple[Keyword, ...] = Field(
        (), description="words or phrases in any language, e.g. [cloud, hébergement]"
    )
    exclude: tuple[Keyword, ...] = Field(
        (), description="words that rule a notice out, e.g. [travaux, works]"
    )
    countries: tuple[Country, ...] = Field(
        (), description="ISO country codes; empty means company.profile.where"
    )
    min_value: float = Field(0, ge=0, description="smallest estimated value worth answering")
    horizon_days: int = Field(
        90, ge=1, description="ignore notices whose deadline is further away than this"
    )
    min_days: int = Field(
        7, ge=0, description="ignore notices whose deadline is closer than this (no time to bid)"
    )
    bundled: bool = Field(
        False,
        description="read the real notices shipped with Equipage instead of TED and BOAMP "
        "(demos, machines without network)",
    )


class Profile(_Model):
    """What the company sells, where, and in which languages; every prompt reads it."""

    sells: str = Field(min_length=1, description="what the company sells, in one line")
    where: tuple[Country, ...] = Field((), description="ISO country codes, e.g. [FR, BE]")
    languages: tuple[Language, ...] = Field(
        ("en",), min_length=1, description="ISO 639-1 codes, e.g. [fr, en]; the first is default"
    )
    description: str | None = Field(None, description="optional free text about the company")
    tenders: TenderProfile | None = Field(
        None, description="what public tenders to watch for (the tenders workflow)"
    )

    @property
    def language(self) -> str:
        """The default language."""
        return self.languages[0]


class Company(_Model):
    """The company's identity."""

    id: str = Field("", validate_default=True, description="a slug used in Redis keys")
    name: str = Field(min_length=1, description="the company's name")
    profile: Profile

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("id") is None and isinstance(data.get("name"), str):
            return {**data, "id": slugify(data["name"])}
        return data

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        try:
            return validate_company_id(value)
        except ValueError as err:
            raise ValueError(f"{err}; set company.id to a short slug such as 'acme'") from err


class Member(_Model):
    """A person who may talk to the crew."""

    id: str = Field(min_length=1, description="a short unique id, e.g. alice")
    name: str = Field(min_length=1, description="how the agents address this person")
    role: Literal["owner", "member"] = Field("member", description="owner or member")
    identities: dict[Name, UserId] = Field(
        default_factory=dict, description="platform -> user id, e.g. {telegram: '123456'}"
    )


def offered_name(server: str, tool: str) -> str:
    """The name a model sees for an MCP server's tool: ``files__read_file``.

    Model APIs take only letters, digits, '_' and '-' in tool names; MCP also allows '.'
    and '/', which become '_'.
    """
    return f"{server}__{re.sub(r'[^A-Za-z0-9_-]', '_', tool)}"


class McpServer(_Model):
    """An MCP server whose tools a role may use: a command (stdio) or a URL (streamable HTTP)."""

    name: Name = Field(description="unique in the role; its tools show as <name>__<tool>")
    command: tuple[Annotated[str, Field(min_length=1)], ...] | None = Field(
        None, min_length=1, description="argv of a stdio server, e.g. [python, -m, my_server]"
    )
    url: str | None = Field(None, description="a streamable HTTP endpoint, e.g. http://host/mcp")
    env: dict[str, str] = Field(
        default_factory=dict, description="variables added to a stdio server's environment"
    )
    allow: tuple[Annotated[str, Field(min_length=1)], ...] = Field(
        description="the server's tools this role may use, e.g. [read_file]"
    )
    read_only: tuple[str, ...] = Field(
        (),
        description="allowed tools that change nothing outside the crew, e.g. [search]; "
        "the others ask you first in a thread that holds outside content, whatever the "
        "server says of them",
    )
    describe: dict[str, Annotated[str, AfterValidator(_one_line), Field(min_length=1)]] = Field(
        default_factory=dict,
        description="tool -> what it does, in your words, e.g. {search: Search our wiki}; "
        "the model sees this instead of the server's own description",
    )
    server_descriptions: bool = Field(
        False,
        description="also show the model the server's own descriptions, fenced as outside "
        "content; every thread of the role then counts as holding outside content",
    )
    trusted: bool = Field(False, description="true only if results never carry outside content")

    @model_validator(mode="before")
    @classmethod
    def _side_effects_is_gone(cls, data: object) -> object:
        if isinstance(data, dict) and "side_effects" in data:
            message = (
                "side_effects: is gone: every allowed tool is side-effecting unless listed "
                "in `read_only:`; remove side_effects: and list the tools that only read there"
            )
            raise FieldIssues([(("side_effects",), message)])
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        issues: list[tuple[Loc, str]] = []
        if self.command is not None and self.url is not None:
            message = "write either `command:` (stdio) or `url:` (streamable HTTP), not both"
            issues.append((("url",), message))
        elif self.command is None and self.url is None:
            message = "add `command: [program, args...]` (stdio) or `url: http://...` (HTTP)"
            issues.append(((), message))
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                message = f"{self.url!r} is not an http(s) URL, e.g. http://127.0.0.1:8931/mcp"
                issues.append((("url",), message))
            if self.env:
                message = "only a stdio server (command:) gets env:; set them where it runs"
                issues.append((("env",), message))
        if not self.allow:
            message = "list the tools this role may use, e.g. [read_file]; none are offered"
            issues.append((("allow",), message))
        for i, tool in enumerate(self.read_only):
            if tool not in self.allow:
                issues.append((("read_only", i), f"{tool!r} is not in allow; add it there"))
        for tool in self.describe:
            if tool not in self.allow:
                issues.append((("describe", tool), f"{tool!r} is not in allow; add it there"))
        if issues:
            raise FieldIssues(issues)
        return self


class RoleConfig(_Model):
    """One role agent: what it handles, its prompt, model, tools and budget."""

    description: Annotated[str, AfterValidator(_one_line)] = Field(
        min_length=1, description="one line shown to the other agents"
    )
    handles: tuple[Keyword, ...] = Field((), description="routing keywords, e.g. [cost, coût]")
    prompt: str | None = Field(None, description="prompt file, relative to company.yaml")
    model: Annotated[str, AfterValidator(_model)] = Field(
        "offline", description="'offline', 'anthropic:<model>' or 'openai:<model>'"
    )
    tools: tuple[Tool, ...] = Field(KNOWN_TOOLS, description=f"some of {', '.join(KNOWN_TOOLS)}")
    daily_budget: float = Field(
        5.0, ge=0, allow_inf_nan=False, description="model spend allowed per day, e.g. 5.0"
    )
    mcp: tuple[McpServer, ...] = Field((), description="MCP servers whose tools the role uses")
    _prompt_path: Path | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check_mcp(self) -> Self:
        issues: list[tuple[Loc, str]] = []
        servers: dict[str, int] = {}
        offered: dict[str, tuple[int, int]] = {}
        for i, server in enumerate(self.mcp):
            if servers.setdefault(server.name, i) != i:
                issues.append((("mcp", i, "name"), f"{server.name!r} is used twice in this role"))
                continue
            for j, tool in enumerate(server.allow):
                name = offered_name(server.name, tool)
                if len(name) > 64:
                    message = f"{name!r} is over the 64 characters models take; shorten the name"
                    issues.append((("mcp", i, "allow", j), message))
                elif offered.setdefault(name, (i, j)) != (i, j):
                    issues.append((("mcp", i, "allow", j), f"{name!r} is offered twice"))
        if issues:
            raise FieldIssues(issues)
        return self

    @property
    def prompt_path(self) -> Path:
        """Absolute path of the prompt file, resolved when the config was loaded."""
        if self._prompt_path is None:
            raise ConfigError("this role was not validated inside a CompanyConfig")
        return self._prompt_path

    def prompt_text(self) -> str:
        """The raw prompt, placeholders still in braces."""
        return self.prompt_path.read_text(encoding="utf-8")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(
            f"{value!r} is not a time zone; use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from err
    return value


class Schedule(_Model):
    """A workflow run on a cron schedule."""

    name: Name = Field(description="a unique name, e.g. weekly-tenders")
    cron: Annotated[str, AfterValidator(check_cron)] = Field(
        description="5 fields, e.g. '0 8 * * MON'"
    )
    workflow: Name = Field(description="an enabled workflow")
    input: dict[str, JsonValue] = Field(default_factory=dict, description="the workflow's input")
    role: Name | None = Field(None, description="the role that owns the run")
    notify: Literal["telegram", "slack", "whatsapp", "console"] | None = Field(
        None, description="where the owner gets the result; default: their first platform"
    )


class RuntimeConfig(_Model):
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


class TelegramConfig(_Model):
    """Telegram: TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_SECRET for webhooks)."""

    mode: Literal["polling", "webhook"] = Field("polling", description="polling or webhook")
    webhook_url: str | None = Field(
        None,
        description="webhook mode: the public HTTPS URL of /telegram/webhook, registered "
        "with Telegram at start (e.g. https://crew.example.com/telegram/webhook)",
    )

    @model_validator(mode="after")
    def _check_webhook(self) -> Self:
        if self.webhook_url is None:
            return self
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" or not parts.hostname:
            message = (
                f"{self.webhook_url!r} is not an HTTPS URL, and Telegram only calls those: "
                "give the public address of /telegram/webhook, e.g. "
                "https://crew.example.com/telegram/webhook"
            )
            raise FieldIssues([(("webhook_url",), message)])
        if self.mode != "webhook":
            message = "a webhook URL is for webhook mode: set mode: webhook, or remove it"
            raise FieldIssues([(("webhook_url",), message)])
        return self


class SlackConfig(_Model):
    """Slack: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (http) or SLACK_APP_TOKEN (socket)."""

    mode: Literal["http", "socket"] = Field(
        "http",
        description="http (Events API webhooks, needs a public URL) or socket (Socket Mode, "
        "no public URL)",
    )


class WhatsAppConfig(_Model):
    """WhatsApp Cloud API: WHATSAPP_TOKEN, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN."""

    phone_number_id: str = Field(min_length=1, description="the business phone number id")


class WebConfig(_Model):
    """Where ``equipage up`` serves the platforms' webhooks."""

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=1, le=65535, description="port to listen on")


class ChannelsConfig(_Model):
    """Chat platforms ``equipage up`` starts; the console is always there."""

    telegram: TelegramConfig | None = None
    slack: SlackConfig | None = None
    whatsapp: WhatsAppConfig | None = None
    web: WebConfig = Field(default_factory=WebConfig)


class CompanyConfig(_Model):
    """Everything company.yaml says, checked."""

    company: Company
    members: tuple[Member, ...] = Field(min_length=1, description="at least the owner")
    roles: dict[Name, RoleConfig] = Field(min_length=1, description="role name -> role")
    workflows: Annotated[dict[Name, dict[str, JsonValue]], BeforeValidator(_enabled)] = Field(
        default_factory=dict,
        description="enabled workflows: a list of names, or name -> settings, the owner's "
        "values under every run of it (e.g. tenders: {sources: {ted_base_url: ...}}); only "
        "settings and your command line may set the fields a workflow keeps for you",
    )
    schedules: tuple[Schedule, ...] = Field((), description="workflows run on a schedule")
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
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
                role._prompt_path = _resolve_prompt(name, role.prompt, base)
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


def _resolve_prompt(role: str, prompt: str | None, base: Path) -> Path:
    if prompt is None:
        packaged = packaged_prompt(role)
        if packaged is None:
            raise ValueError(
                f"role {role!r} has no packaged prompt; write one and set "
                f"`prompt: prompts/{role}.md` (relative to {base})"
            )
        return packaged
    path = Path(prompt).expanduser()
    path = (path if path.is_absolute() else base / path).resolve()
    if not path.is_file():
        raise ValueError(f"prompt file {path} does not exist; create it or fix the path")
    return path


def load_prompt(config: CompanyConfig, role_name: str) -> str:
    """The raw prompt of ``role_name``, placeholders still in braces."""
    role = config.roles.get(role_name)
    if role is None:
        raise ConfigError(f"no role {role_name!r}; roles are {', '.join(config.roles)}")
    return role.prompt_text()
