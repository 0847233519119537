"""``--set key=value`` read by the type of the input field it sets, not as a YAML guess.

YAML reads ``language=no`` as false and ``explain=ted:1`` as a text where a list is
wanted; here a field's type decides: a date is a date (``2026-12-06`` or ``06/12/2026``),
a number a number, a list JSON (``[a, b]``) or comma-separated, a yes/no ``true``,
``false``, ``oui``, ``non``..., a path a path. A value that does not read as its field's
type is a ConfigError naming the field and the type expected (the CLI exits 2).
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import BaseModel, JsonValue

from equipage import yamlread
from equipage.errors import ConfigError

__all__ = ["apply_overrides", "read_value"]

_TRUE = {"true", "yes", "y", "on", "1", "oui", "o", "vrai"}
_FALSE = {"false", "no", "n", "off", "0", "non", "faux"}
_NONE = {"", "none", "null", "~"}
_LISTS = (list, tuple, set, frozenset, Sequence)


class _Unreadable(ValueError):
    """``raw`` is not a value of the type: ``expected`` says what would be."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def apply_overrides(
    data: dict[str, JsonValue], overrides: Sequence[str], model: type[BaseModel]
) -> dict[str, JsonValue]:
    """``data`` with each ``key.sub=value`` set, the value read as ``model``'s field type."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {override!r}: write KEY=VALUE, e.g. sources.bundled=true")
        *parents, leaf = key.split(".")
        node: Any = data
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {override!r}: {part} is not a mapping in the input")
        node[leaf] = read_value(key, raw, _field_type(model, key))
    return data


def read_value(key: str, raw: str, kind: object) -> JsonValue:
    """``raw`` as a JSON value of type ``kind``; ConfigError naming ``key`` when it is not."""
    try:
        return _read(raw.strip(), kind, key)
    except _Unreadable as error:
        raise ConfigError(
            f"--set {key}={raw}: {key} expects {error.expected}; "
            f"write e.g. --set {key}={_example(kind)}"
        ) from None


def _field_type(model: type[BaseModel], key: str) -> object:
    """The annotation of the field ``key`` (dotted) names in ``model``; Any past what is typed."""
    kind: object = model
    for depth, part in enumerate(key.split(".")):
        kind = _bare(kind)
        if get_origin(kind) in (Union, types.UnionType):  # ``Profile | None``: the mapping
            kind = next((k for k in get_args(kind) if _mapping(_bare(k))), Any)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            fields = kind.model_fields
            found = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
            if found is None:
                where = ".".join(key.split(".")[:depth]) or "the input"
                raise ConfigError(
                    f"--set {key}: {where} has no field {part!r}; "
                    f"its fields are {', '.join(fields)}"
                )
            kind = found.annotation
        elif get_origin(kind) in (dict, Mapping) and len(get_args(kind)) == 2:
            kind = get_args(kind)[1]
        else:
            return Any
    return kind


def _mapping(kind: object) -> bool:
    """True for a type whose values are mappings (a model or a dict)."""
    is_model = isinstance(kind, type) and issubclass(kind, BaseModel)
    return is_model or get_origin(kind) in (dict, Mapping)


def _bare(kind: object) -> object:
    """``kind`` without ``Annotated[...]`` metadata (``OwnerOnly``, constraints)."""
    while get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    return kind


def _read(raw: str, kind: object, key: str) -> JsonValue:
    kind = _bare(kind)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return _one_of(raw, get_args(kind), key)
    if origin is Literal:
        return _choice(raw, get_args(kind))
    if origin in _LISTS or kind in _LISTS:
        args = get_args(kind)
        return _items(raw, args[0] if args else Any, key)
    if _mapping(kind):
        value = _yaml(raw, key)
        if not isinstance(value, dict):
            raise _Unreadable("a mapping, such as {name: value}")
        return value
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise _Unreadable("yes or no: true, false, oui or non")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return _choice(raw, tuple(member.value for member in kind))
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise _Unreadable("a whole number") from None
    if kind is float:
        try:
            return float(raw.replace(",", ".")) if raw.count(",") == 1 else float(raw)
        except ValueError:
            raise _Unreadable("a number") from None
    if kind is datetime:
        try:
            return datetime.fromisoformat(raw).isoformat()
        except ValueError:
            raise _Unreadable("a date and time, such as 2026-12-06T09:30") from None
    if kind is date:
        return _date(raw)
    if isinstance(kind, type) and issubclass(kind, PurePath):
        if not raw:
            raise _Unreadable("a path")
        return str(Path(raw).expanduser())
    if kind is str:
        return raw
    return _yaml(raw, key)  # Any, or a type with no reading of its own: as YAML reads it


def _one_of(raw: str, kinds: tuple[object, ...], key: str) -> JsonValue:
    """The first of ``kinds`` that reads ``raw``; text, the catch-all, is tried last."""
    if type(None) in kinds and raw.lower() in _NONE:
        return None
    tried = sorted((k for k in kinds if k is not type(None)), key=lambda k: _bare(k) is str)
    expected = []
    for kind in tried:
        try:
            return _read(raw, kind, key)
        except _Unreadable as error:
            expected.append(error.expected)
    raise _Unreadable(" or ".join(expected) or "nothing")


def _choice(raw: str, choices: tuple[object, ...]) -> JsonValue:
    for choice in choices:
        if str(choice).lower() == raw.lower():
            return cast(JsonValue, choice)
    raise _Unreadable("one of " + ", ".join(str(c) for c in choices))


def _items(raw: str, kind: object, key: str) -> JsonValue:
    """A list: JSON or YAML flow (``[a, b]``), else comma-separated; each item of ``kind``."""
    if raw.startswith("["):
        given = _yaml(raw, key)
        if not isinstance(given, list):
            raise _Unreadable("a list, such as [a, b] or a,b")
        return [
            item if isinstance(item, dict | list) else _read(str(item), kind, key) for item in given
        ]
    return [_read(part.strip(), kind, key) for part in raw.split(",") if part.strip()]


def _date(raw: str) -> str:
    """An ISO date (2026-12-06), or as the French write it (06/12/2026)."""
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    try:
        return datetime.strptime(raw, "%d/%m/%Y").date().isoformat()
    except ValueError:
        raise _Unreadable("a date, such as 2026-12-06 or 06/12/2026") from None


def _yaml(raw: str, key: str) -> JsonValue:
    if not raw:
        return ""
    return _json(yamlread.load(raw, f"--set {key}"))


def _json(value: object) -> JsonValue:
    """YAML's data as JSON: its dates as ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return cast(JsonValue, value)


def _example(kind: object) -> str:
    kind = _bare(kind)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        kinds = [k for k in get_args(kind) if k is not type(None)]
        return _example(kinds[0]) if kinds else "none"
    if origin is Literal:
        return str(get_args(kind)[0])
    if origin in _LISTS or kind in _LISTS:
        args = get_args(kind)
        item = _example(args[0]) if args else "a"
        return f"{item},{item}"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return str(next(iter(kind)).value)
    examples: dict[object, str] = {
        bool: "true",
        int: "3",
        float: "2.5",
        date: "2026-12-06",
        datetime: "2026-12-06T09:30",
        str: "text",
    }
    if isinstance(kind, type) and issubclass(kind, PurePath):
        return "./file.pdf"
    if _mapping(kind):
        return "'{name: value}'"
    return examples.get(kind, "value")
