"""The company config (company.yaml) and the environment, read in one place.

No other module reads ``os.environ``: what it needs arrives as ``Settings`` or ``CompanyConfig``.
The models of company.yaml live in ``equipage.company``; they are re-exported here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from equipage.company import (
    KNOWN_TOOLS,
    PACKAGED_ROLES,
    Company,
    CompanyConfig,
    McpServer,
    Member,
    Profile,
    RoleConfig,
    RuntimeConfig,
    Schedule,
    TenderProfile,
    load_prompt,
    offered_name,
    packaged_prompt,
    slugify,
)
from equipage.errors import ConfigError
from equipage.llm.options import ProviderOptions
from equipage.llm.providers import key_variables
from equipage.registry import platforms
from equipage.yamlpos import config_error, parse_yaml

__all__ = [
    "KNOWN_TOOLS",
    "PACKAGED_ROLES",
    "Company",
    "CompanyConfig",
    "McpServer",
    "Member",
    "Profile",
    "RoleConfig",
    "RuntimeConfig",
    "Schedule",
    "Settings",
    "TenderProfile",
    "load_config",
    "load_prompt",
    "mcp_process_env",
    "offered_name",
    "packaged_prompt",
    "redact_secrets",
    "slugify",
]


def load_config(path: str | Path) -> CompanyConfig:
    """Read and check company.yaml; any mistake raises ConfigError with file, line and field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(
            "no such file; run 'equipage init' to create one, or set EQUIPAGE_CONFIG to its path",
            path=str(file),
        ) from err
    except UnicodeDecodeError as err:
        line = err.object.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"byte {err.object[err.start]:#04x} is not UTF-8 text ({err.reason}); save the file "
            "as UTF-8 (accented letters are fine, written as UTF-8)",
            path=str(file),
            line=line,
        ) from err
    except OSError as err:
        raise ConfigError(f"cannot read this file: {err}", path=str(file)) from err
    data, positions = parse_yaml(text, str(file))
    if not isinstance(data, dict):
        raise ConfigError(
            "the file must be a YAML mapping with company:, members: and roles: at the top; "
            "run 'equipage init' in an empty folder for a commented starter",
            path=str(file),
            line=1,
        )
    try:
        return CompanyConfig.model_validate(data, context={"source": file.resolve()})
    except ValidationError as err:
        raise config_error(err, str(file), positions, CompanyConfig) from err


#: Environment variables a stdio MCP server does not inherit: the crew's own secrets.
_CREW_SECRETS = frozenset(
    {*key_variables(), "REDIS_URL", "EQUIPAGE_AUDIT_KEY", "EQUIPAGE_SPEECH_API_KEY"}
)

#: Names of environment variables whose values are secrets, whoever reads them.
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASS)$", re.I)


def redact_secrets(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with the values of secret-looking environment variables blanked.

    For what a person reads of an error: an error can quote a URL or a header, and the
    variables of MCP servers and plugins are not all known here.
    """
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "***")
        # Whatever its name, a URL's password is a secret (REDIS_URL, a proxy's URL).
        password = _url_password(value)
        if password and len(password) >= 4 and password in text:
            text = text.replace(password, "***")
    return text


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        # Several hosts (a cluster's redis+cluster://) are not a port urlsplit can read,
        # but the user's part before the "@" is all that is wanted here.
        return urlsplit(value).password
    except ValueError:
        return None


def _channel_env_names(env: Mapping[str, str]) -> tuple[str, ...]:
    """Environment variables of the chat platforms, as each declares them (the registry),
    and those of farm crews' own bots (``EQUIPAGE_CREW_<CREW>_...``, ``equipage.farm.bots``)."""
    declared = tuple(name for platform in platforms().values() for name in platform.env)
    return (*declared, *(name for name in env if name.startswith("EQUIPAGE_CREW_")))


@dataclass(frozen=True, repr=False)
class Settings:
    """What Equipage takes from the environment, read once by ``from_env``."""

    redis_url: str | None = None
    home: Path = Path(".equipage")
    config_path: Path = Path("company.yaml")
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    #: EQUIPAGE_SPEECH_API_KEY: the key of a speech-to-text server company.yaml names
    #: (``speech.base_url``), which never gets the key meant for OPENAI_BASE_URL.
    speech_api_key: str | None = None
    namespace: str = "eq"
    #: Signs the audit chain (EQUIPAGE_AUDIT_KEY); unset: ``<home>/audit.key``.
    audit_key: str | None = None
    #: Chat platform secrets and endpoints, by environment variable name.
    channel_env: Mapping[str, str] = field(default_factory=dict)
    #: EQUIPAGE_HEALTH_PORT: serve /healthz, /readyz and /metrics/lag on this port
    #: (``equipage.health``), for an orchestrator's probes; unset: only beside webhooks.
    health_port: int | None = None
    #: EQUIPAGE_LOG_FORMAT: ``json`` for one JSON object a line (``equipage.logs``).
    log_format: Literal["text", "json"] = "text"
    #: Where spans go with OTLP over HTTP: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
    #: OTEL_EXPORTER_OTLP_ENDPOINT's /v1/traces; unset: none are (``equipage.tracing``).
    traces_endpoint: str | None = None
    #: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: spans record what is said.
    trace_content: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read REDIS_URL, EQUIPAGE_* and the model keys from ``environ`` (or os.environ)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            # `KEY=` in a compose or .env file means unset, not an empty key.
            return env.get(name, "").strip() or None

        namespace = get("EQUIPAGE_NAMESPACE") or "eq"
        if ":" in namespace or "{" in namespace:
            raise ConfigError(
                f"EQUIPAGE_NAMESPACE={namespace!r} must not contain ':' or '{{'; use e.g. 'eq'",
                field="EQUIPAGE_NAMESPACE",
            )
        return cls(
            redis_url=get("REDIS_URL"),
            home=Path(get("EQUIPAGE_HOME") or ".equipage").expanduser(),
            config_path=Path(get("EQUIPAGE_CONFIG") or "company.yaml").expanduser(),
            anthropic_api_key=get("ANTHROPIC_API_KEY"),
            anthropic_base_url=get("ANTHROPIC_BASE_URL"),
            openai_api_key=get("OPENAI_API_KEY"),
            openai_base_url=get("OPENAI_BASE_URL"),
            speech_api_key=get("EQUIPAGE_SPEECH_API_KEY"),
            namespace=namespace,
            audit_key=get("EQUIPAGE_AUDIT_KEY"),
            channel_env={name: value for name in _channel_env_names(env) if (value := get(name))},
            health_port=_port(get("EQUIPAGE_HEALTH_PORT"), "EQUIPAGE_HEALTH_PORT"),
            log_format=_log_format(get("EQUIPAGE_LOG_FORMAT")),
            traces_endpoint=get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            or _signal_url(get("OTEL_EXPORTER_OTLP_ENDPOINT"), "traces"),
            trace_content=(get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT") or "").lower()
            == "true",
        )

    def provider_options(self) -> ProviderOptions:
        """What model providers need from the environment: keys and base URLs."""
        return ProviderOptions(
            anthropic_api_key=self.anthropic_api_key,
            anthropic_base_url=self.anthropic_base_url,
            openai_api_key=self.openai_api_key,
            openai_base_url=self.openai_base_url,
            speech_api_key=self.speech_api_key,
        )

    def __repr__(self) -> str:
        shown: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in (*(name.lower() for name in key_variables()), "audit_key", "speech_api_key"):
            if shown.get(secret) is not None:
                shown[secret] = "***"
        shown["channel_env"] = sorted(self.channel_env)  # names only, never values
        if self.redis_url:
            shown["redis_url"] = _hide_password(self.redis_url)
        return f"Settings({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


def _port(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ConfigError(f"{name}={value!r} must be a port number, 1 to 65535", field=name)
    return int(value)


def _signal_url(base: str | None, signal: str) -> str | None:
    """OTLP over HTTP: a signal's URL under the endpoint all signals share."""
    return f"{base.rstrip('/')}/v1/{signal}" if base else None


def _log_format(value: str | None) -> Literal["text", "json"]:
    if value is None or value == "text":
        return "text"
    if value == "json":
        return "json"
    raise ConfigError(
        f"EQUIPAGE_LOG_FORMAT={value!r} must be 'text' or 'json'", field="EQUIPAGE_LOG_FORMAT"
    )


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def mcp_process_env(server: McpServer, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment of a stdio MCP server: ours without the crew's secrets, then its ``env``."""
    inherited = os.environ if environ is None else environ
    # The chat platforms' variables hold the bots' tokens and signing secrets: the crew's,
    # never an outside server's; nor is another crew's own bot token (EQUIPAGE_CREW_*).
    secrets = _CREW_SECRETS | set(_channel_env_names({}))
    kept = {
        key: value
        for key, value in inherited.items()
        if key not in secrets and not key.startswith("EQUIPAGE_CREW_")
    }
    return kept | dict(server.env)
