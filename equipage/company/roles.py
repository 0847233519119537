"""A role of the crew: what it handles, its prompt, its model, its tools and MCP servers.

Prompt paths are resolved when the whole file is checked (``CompanyConfig``), relative to
company.yaml; a role without ``prompt:`` uses the one shipped in ``agents/prompts``.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from equipage.company.fields import ConfigModel, Keyword, Name, OneLine, Tool
from equipage.errors import ConfigError
from equipage.llm.providers import OFFLINE, spec_help, spec_problem
from equipage.roletools import KNOWN_TOOLS
from equipage.yamlpos import FieldIssues, Loc

__all__ = ["McpServer", "RoleConfig", "offered_name", "packaged_prompt", "resolve_prompt"]


def packaged_prompt(role: str) -> Path | None:
    """The prompt shipped for ``role`` in ``agents/prompts``, if there is one."""
    resource = files("agents") / "prompts" / f"{role}.md"
    # pip installs packages as files, so the resource is a real path we can store.
    return resource if isinstance(resource, Path) and resource.is_file() else None


def _model(spec: str) -> str:
    if problem := spec_problem(spec):
        raise ValueError(problem)
    return spec


def offered_name(server: str, tool: str) -> str:
    """The name a model sees for an MCP server's tool: ``files__read_file``.

    Model APIs take only letters, digits, '_' and '-' in tool names; MCP also allows '.'
    and '/', which become '_'.
    """
    return f"{server}__{re.sub(r'[^A-Za-z0-9_-]', '_', tool)}"


class McpServer(ConfigModel):
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
    describe: dict[str, Annotated[OneLine, Field(min_length=1)]] = Field(
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


class RoleConfig(ConfigModel):
    """One role agent: what it handles, its prompt, model, tools and budget."""

    description: OneLine = Field(min_length=1, description="one line shown to the other agents")
    handles: tuple[Keyword, ...] = Field((), description="routing keywords, e.g. [cost, coût]")
    prompt: str | None = Field(None, description="prompt file, relative to company.yaml")
    model: Annotated[str, AfterValidator(_model)] = Field(OFFLINE, description=spec_help())
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


def resolve_prompt(role: str, prompt: str | None, base: Path) -> Path:
    """The prompt file of ``role``: ``prompt`` relative to ``base``, else the packaged one."""
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
