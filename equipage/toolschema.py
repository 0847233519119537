"""An outside tool's JSON Schema cut down to what a model needs to call it, and no prose.

An MCP server writes its tools' input schemas, so every string in them is outside content:
a ``description``, a ``title``, an ``examples`` list or an unknown keyword can carry orders
that the model would read as part of its instructions. What a model needs to build a call
is structure: types, properties, required names, bounds, and enums of plain tokens. We keep
those, from a list of known keywords, and drop everything else; names that are not plain
identifiers (a property named by a sentence) and enums that hold sentences go too.
"""

from __future__ import annotations

import json
import re

from pydantic import JsonValue

__all__ = ["MAX_SCHEMA", "reduce_schema"]

#: Characters of a reduced schema a model is given; a larger one is refused, not cut.
MAX_SCHEMA = 16_000
_MAX_DEPTH = 8
_MAX_ENUM = 100
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
# An enum value is a token, not a sentence: no spaces, no braces, no quotes.
_TOKEN = re.compile(r"[\w.:/@+#-]{1,64}")
_REF = re.compile(r"#/\$defs/([A-Za-z_][A-Za-z0-9_.-]{0,63})")
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_FORMATS = frozenset(
    {"date", "date-time", "time", "duration", "email", "uri", "uuid", "ipv4", "ipv6", "hostname"}
)
_NUMBERS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
    }
)
_ALTERNATIVES = ("anyOf", "oneOf", "allOf")


def reduce_schema(schema: dict[str, JsonValue]) -> dict[str, JsonValue]:
    """The structure of ``schema`` (an object's input schema) without any free text.

    Raises ``ValueError`` when what is left is over ``MAX_SCHEMA`` characters.
    """
    raw_defs = schema.get("$defs")
    defs: dict[str, JsonValue] = {}
    if isinstance(raw_defs, dict):
        names = {name for name in raw_defs if _NAME.fullmatch(name)}
        defs = {name: _node(raw_defs[name], 1, names) for name in sorted(names)}
    reduced = _node(schema, 0, set(defs))
    reduced["type"] = "object"
    reduced.setdefault("properties", {})
    if defs:
        reduced["$defs"] = defs
    size = len(json.dumps(reduced, ensure_ascii=False))
    if size > MAX_SCHEMA:
        raise ValueError(f"its input schema is {size} characters once reduced (most: {MAX_SCHEMA})")
    return reduced


def _node(value: JsonValue, depth: int, defs: set[str]) -> dict[str, JsonValue]:
    if not isinstance(value, dict) or depth > _MAX_DEPTH:
        return {}  # any value: the server checks what it receives
    kept: dict[str, JsonValue] = {}
    ref = value.get("$ref")
    if isinstance(ref, str):
        match = _REF.fullmatch(ref)
        return {"$ref": ref} if match and match.group(1) in defs else {}
    kind = value.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        kept["type"] = kind
    elif isinstance(kind, list) and kind and all(k in _TYPES for k in kind):
        kept["type"] = list(kind)
    form = value.get("format")
    if isinstance(form, str) and form in _FORMATS:
        kept["format"] = form
    for key in _NUMBERS:
        number = value.get(key)
        if isinstance(number, int | float) and not isinstance(number, bool):
            kept[key] = number
    if isinstance(value.get("uniqueItems"), bool):
        kept["uniqueItems"] = value["uniqueItems"]
    enum = value.get("enum")
    if isinstance(enum, list) and 0 < len(enum) <= _MAX_ENUM and all(map(_plain, enum)):
        kept["enum"] = list(enum)
    if "const" in value and _plain(value["const"]):
        kept["const"] = value["const"]
    default = value.get("default")
    if "default" in value and not isinstance(default, str) and _plain(default):
        kept["default"] = default  # numbers, booleans and null carry no words
    properties = value.get("properties")
    if isinstance(properties, dict):
        kept["properties"] = {
            name: _node(inner, depth + 1, defs)
            for name, inner in properties.items()
            if _NAME.fullmatch(name)
        }
    required = value.get("required")
    named = kept.get("properties")
    if isinstance(required, list) and isinstance(named, dict):
        needed: list[JsonValue] = [n for n in required if isinstance(n, str) and n in named]
        if needed:
            kept["required"] = needed
    for key in ("items", "not"):
        if isinstance(value.get(key), dict):
            kept[key] = _node(value[key], depth + 1, defs)
    extra = value.get("additionalProperties")
    if isinstance(extra, bool):
        kept["additionalProperties"] = extra
    elif isinstance(extra, dict):
        kept["additionalProperties"] = _node(extra, depth + 1, defs)
    for key in _ALTERNATIVES:
        options = value.get(key)
        if isinstance(options, list):
            kept[key] = [_node(option, depth + 1, defs) for option in options]
    return kept


def _plain(value: JsonValue) -> bool:
    """A value that carries no words: a number, a boolean, null, or a short token."""
    if isinstance(value, str):
        return _TOKEN.fullmatch(value) is not None
    return value is None or isinstance(value, bool | int | float)
