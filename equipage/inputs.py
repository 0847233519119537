"""Workflow inputs: the fields only the owner sets, and the owner's settings under every run.

A field marked ``OwnerOnly`` (``host: Annotated[str, OwnerOnly()] = "127.0.0.1"``) chooses
something outside the crew's own data: an address to listen on, a URL to fetch from. Only
the owner's config (``workflows.<name>`` in company.yaml, a schedule's ``input``) or the
owner's own command line (``equipage workflow run NAME --set``) may set it; a run the crew
starts (``start_workflow``) may leave it out, repeat the value that applies anyway, or pick
one of the marker's ``crew_may`` values, and is refused anything else with the reason.

An input read from a file or pasted text has a size limit, an owner-only field of its own
(``max_bytes``), checked before anything is read (``check_size``): a run on a file many
times the usual size would otherwise hold a worker, and its memory, for as long as it
takes, and every run after it would wait.
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from equipage.errors import ConfigError, InputRejected

__all__ = [
    "OwnerOnly",
    "check_settings",
    "check_size",
    "crew_refusal",
    "owner_only_fields",
    "with_settings",
]


@dataclass(frozen=True)
class OwnerOnly:
    """Marks an input field only the owner may set; ``crew_may``: values the crew may pick."""

    crew_may: tuple[JsonValue, ...] = ()


_NO_DEFAULT: JsonValue = {"no default": True}  # a required field: nothing applies anyway


@dataclass(frozen=True)
class _Marked:
    marker: OwnerOnly
    field: FieldInfo


def owner_only_fields(model: type[BaseModel]) -> dict[str, OwnerOnly]:
    """Dotted names of the owner-only fields of ``model``, nested models included."""
    return {name: found.marker for name, found in _marked(model, (), frozenset())}


def _marked(
    model: type[BaseModel], prefix: tuple[str, ...], seen: frozenset[type[BaseModel]]
) -> Iterator[tuple[str, _Marked]]:
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        marker = next((m for m in info.metadata if isinstance(m, OwnerOnly)), None)
        if marker is not None:
            yield ".".join(path), _Marked(marker, info)
            continue
        for inner in _models(info.annotation):
            if inner not in seen:  # a model that holds itself is walked once
                yield from _marked(inner, path, seen | {model})


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """Models a field holds as a mapping: ``Model``, ``Model | None``; not lists of them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _models(arg)


def with_settings(
    settings: Mapping[str, JsonValue], data: Mapping[str, JsonValue]
) -> dict[str, JsonValue]:
    """``data`` over ``settings``: nested mappings merge, anything else in ``data`` wins."""
    merged: dict[str, JsonValue] = dict(settings)
    for key, value in data.items():
        under = merged.get(key)
        if isinstance(value, Mapping) and isinstance(under, Mapping):
            merged[key] = with_settings(under, value)
        else:
            merged[key] = value
    return merged


def check_settings(
    workflow: str, model: type[BaseModel], settings: Mapping[str, JsonValue]
) -> None:
    """ConfigError unless company.yaml's ``workflows.<workflow>`` is a valid input of it."""
    try:
        model.model_validate(settings)
    except ValidationError as err:
        problems = "; ".join(
            f"workflows.{workflow}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in err.errors()
        )
        raise ConfigError(
            f"company.yaml: {problems}; settings under a workflow are fields of its input "
            f"(`equipage workflow list` shows them)",
            field=f"workflows.{workflow}",
        ) from err


def crew_refusal(
    workflow: str,
    model: type[BaseModel],
    data: Mapping[str, JsonValue],
    settings: Mapping[str, JsonValue] | None = None,
) -> str | None:
    """Why the crew may not start ``workflow`` with ``data``, or None when it may.

    ``settings`` are company.yaml's for the workflow: a value they set is the one that
    applies, so the crew may repeat it (as it may repeat a default).
    """
    refused: list[str] = []
    choices: list[str] = []
    for name, found in _marked(model, (), frozenset()):
        given, value = _lookup(data, name)
        if not given:
            continue
        configured, setting = _lookup(settings or {}, name)
        applies = setting if configured else _default(found.field)
        allowed = [*found.marker.crew_may, applies]
        if any(value == v for v in allowed):
            continue
        refused.append(name)
        if found.marker.crew_may:
            listed = ", ".join(str(v) for v in dict.fromkeys(allowed))
            choices.append(f"{name} may be {listed}")
    if not refused:
        return None
    where = ", ".join(f"workflows.{workflow}.{name}" for name in refused)
    example = f"{refused[0]}=…"
    choice = f" Here {'; '.join(choices)}." if choices else ""
    return (
        f"workflow {workflow} was not started: {', '.join(refused)} can only be set by the "
        f"owner, in company.yaml ({where}) or with `equipage workflow run {workflow} --set "
        f"{example}`.{choice} Leave {'it' if len(refused) == 1 else 'them'} out and start it "
        "again, or ask the owner."
    )


def _lookup(data: Mapping[str, JsonValue], dotted: str) -> tuple[bool, JsonValue]:
    node: JsonValue = dict(data)
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _default(field: FieldInfo) -> JsonValue:
    value = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return _NO_DEFAULT
    dumped: JsonValue = TypeAdapter(Any).dump_python(value, mode="json")
    return dumped


def check_size(
    workflow: str,
    what: str,
    source: str | os.PathLike[str],
    limit: int,
    *,
    setting: str = "max_bytes",
    instead: str = "send a shorter one",
) -> None:
    """InputRejected, naming the limit and how to raise it, if ``source`` is over ``limit``
    bytes: a file (measured on disk, so nothing is read) or pasted text."""
    from equipage.documents import size_text  # documents imports more than this needs

    if isinstance(source, str):
        # A character is 1 to 4 bytes: only a text near the limit is encoded to measure it.
        near = len(source) <= limit < 4 * len(source)
        size = len(source.encode("utf-8", "surrogatepass")) if near else len(source)
        named = what
    else:
        try:
            size = os.stat(source).st_size
        except OSError:
            return  # whoever opens it says why it cannot be read
        named = f"{what} {os.path.basename(source)}"
    if size <= limit:
        return
    raise InputRejected(
        f"the {named} is {size_text(size)}, over the {size_text(limit)} limit of the "
        f"{workflow} workflow, so it was not read; {instead}. The owner can raise the "
        f"limit with workflows.{workflow}.{setting}: <bytes> in company.yaml, or for one "
        f"run with `equipage workflow run {workflow} --set {setting}=<bytes>`."
    )
