"""Parse YAML with the line of every key, and turn validation errors into errors at those lines."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from equipage.errors import ConfigError
from equipage.yamlread import compose, construct

__all__ = ["FieldIssues", "Loc", "Positions", "config_error", "dotted", "issues_of", "parse_yaml"]

Loc = tuple[str | int, ...]


def dotted(loc: Sequence[str | int]) -> str:
    """``("roles", "cto", "tools", 1)`` -> ``roles.cto.tools[1]``, the way errors name fields."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for "the key itself", already named
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass(frozen=True)
class Positions:
    """1-based line of every mapping key and list item, by its path from the root."""

    lines: dict[tuple[str, ...], int]

    def line_for(self, loc: Sequence[str | int]) -> int:
        """Line of ``loc``, or of its nearest parent written in the file (a missing field)."""
        parts = _key(loc)
        for end in range(len(parts), 0, -1):
            line = self.lines.get(parts[:end])
            if line is not None:
                return line
        return 1


def parse_yaml(text: str, path: str) -> tuple[object, Positions]:
    """Return the YAML document in ``text`` and the positions of its keys and items."""
    node = compose(text, path)
    lines: dict[tuple[str, ...], int] = {}
    if node is None:
        return None, Positions(lines)
    # Index before constructing: constructing a merge key (`<<: *base`) rewrites the node.
    _index(node, (), lines, path)
    return construct(node, path), Positions(lines)


def _index(node: yaml.Node, loc: Loc, lines: dict[tuple[str, ...], int], path: str) -> None:
    # yamlread refused aliases inside their own anchor, so this walk ends.
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                continue
            child: Loc = (*loc, str(key.value))
            line = key.start_mark.line + 1
            seen = lines.get(_key(child))
            if seen is not None:
                # The YAML loader silently keeps the last one; a user never means that.
                raise ConfigError(
                    f"{dotted(child)} is written twice (lines {seen} and {line}); keep one",
                    path=path,
                    line=line,
                    field=dotted(child),
                )
            lines[_key(child)] = line
            _index(value, child, lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            child = (*loc, number)
            lines[_key(child)] = item.start_mark.line + 1
            _index(item, child, lines, path)


def _key(loc: Sequence[str | int]) -> tuple[str, ...]:
    # pydantic gives list indexes as ints and YAML keys as text; compare both as text.
    return tuple(str(part) for part in loc)


class FieldIssues(ValueError):
    """Raised by a model validator for problems across fields, each with the field to fix."""

    def __init__(self, issues: list[tuple[Loc, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{dotted(loc)}: {message}" for loc, message in issues))


def config_error(
    err: ValidationError, path: str, positions: Positions, root: type[BaseModel]
) -> ConfigError:
    """One ConfigError listing every problem of ``err``, each on its own line with its line."""
    problems = [
        (positions.line_for(loc), dotted(loc), message) for loc, message in issues_of(err, root)
    ]
    problems.sort(key=lambda problem: problem[0])
    (line, field, message), *rest = problems
    more = "".join(f"\n{path}:{n}: {f}: {m}" for n, f, m in rest)
    return ConfigError(f"{field}: {message}{more}", path=path, line=line, field=field)


def issues_of(err: ValidationError, root: type[BaseModel], at: Loc = ()) -> list[tuple[Loc, str]]:
    """Each problem of ``err`` (raised by ``root``) as the field to fix and what to write.

    ``at`` is where ``root`` sits in the file, for messages that name a parent field.
    """
    issues: list[tuple[Loc, str]] = []
    for detail in err.errors():
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, FieldIssues):
            issues += [((*detail["loc"], *loc), message) for loc, message in cause.issues]
        else:
            issues.append((tuple(detail["loc"]), _explain(detail, root, at)))
    return issues


_FRIENDLY = {
    "model_type": "should be a mapping of `key: value` lines",
    "dict_type": "should be a mapping of `key: value` lines",
    "tuple_type": "should be a list (`- item` lines, or [a, b])",
    "list_type": "should be a list (`- item` lines, or [a, b])",
    "string_type": "should be text",
    "float_parsing": "should be a number",
    "float_type": "should be a number",
    "int_parsing": "should be a whole number",
    "int_type": "should be a whole number",
    "int_from_float": "should be a whole number",
}


def _explain(detail: ErrorDetails, root: type[BaseModel], at: Loc = ()) -> str:
    loc, kind = detail["loc"], detail["type"]
    if kind == "extra_forbidden":
        known = list(_model_fields(root, loc[:-1]))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if close:
            return f"unknown field; did you mean `{close[0]}`?"
        return f"unknown field; remove it, or use one of: {', '.join(known)}"
    if kind == "value_error":
        return str((detail.get("ctx") or {}).get("error", detail["msg"]))
    # A list item or a mapping key is described by the field that holds it.
    field = list(loc)
    while field and (isinstance(field[-1], int) or field[-1] == "[key]"):
        field.pop()
    info = _model_fields(root, field[:-1]).get(str(field[-1])) if field else None
    expected = f" Expected: {info.description}." if info and info.description else ""
    if kind == "missing":
        parent = (*at, *loc[:-1])
        under = f" under {dotted(parent)}" if parent else ""
        return f"is required but missing; add `{loc[-1]}:`{under}.{expected}"
    found = repr(detail["input"])
    found = found if len(found) <= 60 else found[:57] + "..."
    return f"{_FRIENDLY.get(kind, detail['msg'])}, found {found}.{expected}"


def _model_fields(root: type[BaseModel], loc: Sequence[str | int]) -> dict[str, FieldInfo]:
    """The fields of the model at ``loc`` under ``root`` (empty when it is not a model)."""
    kind: object = root
    for part in [*loc, None]:
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        if part is None:
            break
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            info = kind.model_fields.get(str(part))
            kind = info.annotation if info else None
        elif get_origin(kind) in (tuple, list, dict):
            kind = get_args(kind)[1 if get_origin(kind) is dict else 0]
        else:
            return {}
    return dict(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else {}
