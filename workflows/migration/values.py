"""Careful reads of untrusted JSON values, with Go-template placeholders as unknowns.

Some real exports (terraform-validator test data, templated state files) hold strings such
as ``{{.Provider.project}}`` where a value will be filled in later: such a value is unknown,
not an error, and the field is remembered so the plan can say what it could not read.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Fields", "is_placeholder", "last_segment", "null_placeholders"]

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def is_placeholder(value: object) -> bool:
    """True for a string that carries a ``{{...}}`` template placeholder."""
    return isinstance(value, str) and _PLACEHOLDER.search(value) is not None


def null_placeholders(text: str) -> str:
    """JSON text with bare placeholders (``"n": {{.Number}}``) replaced by ``null``.

    Placeholders inside strings are left alone: they parse, and ``Fields`` reads them as
    unknown.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif text.startswith("{{", i):
            end = text.find("}}", i)
            if end < 0:
                break
            out.append("null")
            i = end + 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def last_segment(value: str | None) -> str | None:
    """``.../zones/us-central1-b`` → ``us-central1-b``."""
    if not value:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1] or None


class Fields:
    """Typed reads from one JSON object; placeholders read as None and are remembered."""

    def __init__(self, data: Any, unknown: list[str] | None = None, prefix: str = "") -> None:
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.unknown: list[str] = unknown if unknown is not None else []
        self.prefix = prefix

    def _raw(self, key: str) -> Any:
        value = self.data.get(key)
        if is_placeholder(value):
            self.unknown.append(self.prefix + key)
            return None
        return value

    def text(self, key: str) -> str | None:
        value = self._raw(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value).strip()
            return text or None
        return None

    def num(self, key: str) -> float | None:
        value = self._raw(key)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return None
        return None

    def flag(self, key: str) -> bool:
        return self._raw(key) is True or self._raw(key) == "true"

    def sub(self, key: str) -> Fields:
        """A nested object; a Terraform block list ``[{...}]`` reads as its first block."""
        value = self._raw(key)
        if isinstance(value, list):
            value = value[0] if value else {}
        return Fields(value, self.unknown, f"{self.prefix}{key}.")

    def items(self, key: str) -> list[Fields]:
        """A list of nested objects (anything else in the list is skipped)."""
        value = self._raw(key)
        if not isinstance(value, list):
            return []
        return [
            Fields(item, self.unknown, f"{self.prefix}{key}[{n}].")
            for n, item in enumerate(value)
            if isinstance(item, dict)
        ]

    def strings(self, key: str) -> list[str]:
        value = self._raw(key)
        if not isinstance(value, list):
            return []
        return [str(v) for v in value if isinstance(v, str | int) and not is_placeholder(v)]
