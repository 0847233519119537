"""A small HCL writer: blocks, escaped strings, valid identifiers, and a parse check.

Names and strings come from outside (an inventory): they are quoted with every escape
HCL needs, including ``${`` and ``%{`` which would otherwise start a template, and
resource labels are reduced to identifiers. Every file is parsed back with python-hcl2
before anyone sees it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from equipage.errors import RuntimeFailure

__all__ = ["Block", "Names", "check_parses", "comment", "dns_label", "quote", "render"]

_NOT_IDENT = re.compile(r"[^a-z0-9_]+")
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")


def quote(text: str) -> str:
    """A quoted HCL string literal holding ``text`` exactly (no interpolation)."""
    return json.dumps(text, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def dns_label(text: str, limit: int = 63) -> str:
    """A lowercase name of letters, digits and hyphens, as servers and buckets require."""
    label = _NOT_LABEL.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return label or "resource"


class Names:
    """Unique Terraform identifiers per resource type, derived from outside names."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, str]] = set()

    def ident(self, rtype: str, name: str) -> str:
        base = _NOT_IDENT.sub("_", name.lower()).strip("_") or "resource"
        if not base[0].isalpha():
            base = f"r_{base}"
        base = base[:60]
        candidate, n = base, 1
        while (rtype, candidate) in self._taken:
            n += 1
            candidate = f"{base}_{n}"
        self._taken.add((rtype, candidate))
        return candidate


@dataclass
class Block:
    """``head "label" ... { attrs; blocks }``; attribute values are HCL expressions."""

    head: str
    labels: tuple[str, ...] = ()
    attrs: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    def set(self, key: str, expression: str) -> Block:
        self.attrs.append((key, expression))
        return self

    def add(self, block: Block) -> Block:
        self.blocks.append(block)
        return self

    def lines(self, indent: int = 0) -> list[str]:
        pad = "  " * indent
        out = [f"{pad}# {line}" for c in self.comments for line in c.splitlines()]
        labels = "".join(f" {quote(label)}" for label in self.labels)
        out.append(f"{pad}{self.head}{labels} {{")
        width = max((len(k) for k, _ in self.attrs), default=0)
        for key, value in self.attrs:
            out.append(f"{pad}  {key.ljust(width)} = {value}")
        for block in self.blocks:
            out.extend(block.lines(indent + 1))
        out.append(f"{pad}}}")
        return out


def comment(text: str) -> str:
    """A ``#`` comment line (or lines) with no way to end early."""
    return "\n".join(f"# {line}" for line in text.splitlines() or [""])


def render(parts: list[Block | str]) -> str:
    """Blocks and comment lines, separated by blank lines, ending with a newline."""
    chunks = ["\n".join(p.lines()) if isinstance(p, Block) else comment(p) for p in parts]
    return "\n\n".join(chunks) + "\n"


def check_parses(text: str, name: str) -> None:
    """Raise RuntimeFailure when python-hcl2 cannot parse a generated file (a bug of ours)."""
    import hcl2

    try:
        hcl2.loads(text)
    except Exception as err:  # lark raises several unrelated types
        raise RuntimeFailure(
            f"the generated {name} does not parse as HCL ({type(err).__name__}: {err}); "
            "this is a bug in the migration workflow: report it with the inventory file"
        ) from err
