"""company.yaml's ``channels:``: one section per chat platform, checked by the platform's model.

Which platforms exist, and the model of each section, come from the registry
(``equipage.registry.platforms``): the core names none. A section left empty (``name:``
with nothing after it) leaves its platform off, as if it were not written.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from equipage.company.fields import ConfigModel
from equipage.registry import platforms
from equipage.yamlpos import FieldIssues, Loc, issues_of

__all__ = ["ChannelsConfig", "ConsoleConfig", "WebConfig", "platform_names"]


class ConsoleConfig(ConfigModel):
    """Where ``equipage up`` serves the web console (``equipage.web``)."""

    host: str = Field("127.0.0.1", description="address to listen on; loopback unless you mean it")
    port: int = Field(8321, ge=0, le=65535, description="port to listen on (0: any free one)")
    url: str | None = Field(
        None,
        description="the address people open when a proxy serves it, e.g. https://crew.example",
    )


class WebConfig(ConfigModel):
    """Where ``equipage up`` serves the platforms' webhooks, and the web console."""

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8080, ge=1, le=65535, description="port to listen on")
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)


def platform_names() -> tuple[str, ...]:
    """Every platform a message can go to, those with a section in ``channels:`` first."""
    known = platforms().values()
    return tuple(p.name for p in known if p.config) + tuple(p.name for p in known if not p.config)


class ChannelsConfig(ConfigModel):
    """Chat platforms ``equipage up`` starts, each under its name; the console is always there."""

    web: WebConfig = Field(default_factory=WebConfig)
    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @property
    def sections(self) -> Mapping[str, BaseModel]:
        """The checked section of each platform turned on, by platform name."""
        return self._sections

    def section(self, name: str) -> BaseModel | None:
        """The checked section of the platform ``name``; None when it is off."""
        return self._sections.get(name)

    @model_validator(mode="wrap")
    @classmethod
    def _check_sections(cls, data: object, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        own = {key: value for key, value in data.items() if key in cls.model_fields}
        sections, issues = _sections(
            {key: value for key, value in data.items() if key not in cls.model_fields}
        )
        try:
            made = handler(own)
        except ValidationError as err:
            if not issues:
                raise
            issues += issues_of(err, cls, ("channels",))
        if issues:
            raise FieldIssues(issues)
        made._sections = sections
        return made

    @model_serializer(mode="wrap")
    def _dump_sections(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        # A dump read back gives the same config: sections are written under their names.
        dumped: dict[str, Any] = handler(self)
        for name, section in self._sections.items():
            dumped[name] = section.model_dump(
                mode=info.mode, exclude_unset=info.exclude_unset, by_alias=info.by_alias
            )
        return dumped


def _sections(written: dict[str, Any]) -> tuple[dict[str, BaseModel], list[tuple[Loc, str]]]:
    """The platform sections of ``channels:`` checked by their models, and what is wrong."""
    known = {name: p.config for name, p in platforms().items() if p.config is not None}
    sections: dict[str, BaseModel] = {}
    issues: list[tuple[Loc, str]] = []
    for name, section in written.items():
        model = known.get(name)
        if model is None:
            issues.append(((name,), _unknown(str(name), [*known, *ChannelsConfig.model_fields])))
        elif section is not None:
            try:
                sections[name] = model.model_validate(section)
            except ValidationError as err:
                issues += [
                    ((name, *loc), m) for loc, m in issues_of(err, model, ("channels", name))
                ]
    return sections, issues


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown platform; did you mean `{close[0]}`?"
    return f"unknown platform; remove it, or use one of: {', '.join(known)}"
