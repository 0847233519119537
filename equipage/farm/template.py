"""Crew templates: a company.yaml with ``$placeholders``, rendered into one crew's config.

Placeholders are ``string.Template`` ones, not braces: the YAML holds flow mappings like
``{console: "alice"}``. Every value is written as a YAML double-quoted scalar, so what a
person typed (an owner's name) stays one value and can never add a key.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from string import Template

import yaml

from equipage.config import CompanyConfig, load_config
from equipage.errors import ConfigError
from equipage.scaffold import write_starter

__all__ = ["PLACEHOLDERS", "CrewValues", "default_template", "render", "write_rendered"]

#: What a template may use, and what each stands for.
PLACEHOLDERS = {
    "crew": "the crew's name, also its company id",
    "owner_name": "how the agents address the crew's owner",
    "owner_identities": "the owner's ids per platform, as a flow mapping",
    "language": "the crew's first language (ISO 639-1)",
}


class CrewValues:
    """The values of one crew's placeholders, each quoted for YAML."""

    def __init__(
        self, crew: str, owner_name: str, identities: dict[str, str], language: str
    ) -> None:
        pairs = ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in identities.items())
        self.mapping = {
            "crew": _quote(crew),
            "owner_name": _quote(owner_name),
            "owner_identities": "{" + pairs + "}",
            "language": _quote(language),
        }


def _quote(value: str) -> str:
    # The emitter escapes what YAML cannot hold raw (line breaks, NEL, control characters);
    # an unbounded width keeps the scalar on one line, so template lines stay where they are.
    text = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=1 << 30)
    return text.rstrip("\n")


def render(template: Path, values: CrewValues) -> str:
    """The company.yaml text of ``template`` with ``values``; a bad placeholder names its line."""
    try:
        text = template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read this template: {err}", path=str(template)) from err
    try:
        return Template(text).substitute(values.mapping)
    except KeyError as err:
        name = str(err.args[0])
        line = _line_of(text, re.compile(r"\$\{?" + re.escape(name) + r"\b"))
        raise ConfigError(
            f"unknown placeholder ${name}; use one of: "
            + ", ".join(f"${known}" for known in PLACEHOLDERS),
            path=str(template),
            line=line,
            field=name,
        ) from err
    except ValueError as err:
        line = _line_of(text, re.compile(r"\$(?![\w{$])"))
        raise ConfigError(
            "a lone '$' is not a placeholder; write '$$' for a dollar sign",
            path=str(template),
            line=line,
        ) from err


def write_rendered(template: Path, values: CrewValues, target: Path) -> CompanyConfig:
    """Render ``template`` into ``target`` (overwritten) and return its config once it loads.

    A problem is reported at the template's line: placeholders stay on their line, since
    every value is a one-line scalar. A text that does not load is not left behind.
    """
    text = render(template, values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    try:
        return load_config(target)
    except ConfigError as err:
        target.unlink()
        # The rendered file is gone: every line of the message names the template instead.
        message = str(err).removeprefix(f"{target}:{err.line}: ").removeprefix(f"{target}: ")
        message = message.replace(f"\n{target}:", f"\n{template}:")
        raise ConfigError(message, path=str(template), line=err.line, field=err.field) from err


def _line_of(text: str, pattern: re.Pattern[str]) -> int | None:
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else None


#: (what the starter writes, what the template writes instead): each must be found once.
_EDITS = (
    ("  id: my-company\n", "  id: $crew\n"),
    ('  name: "My Company"\n', "  name: $crew\n"),
    ("    languages: [en]\n", "    languages: [$language]\n"),
    ("    name: Founder        #", "    name: $owner_name    #"),
    ('    identities:\n      console: "owner"\n', "    identities: $owner_identities\n"),
)


def default_template() -> str:
    """The farm's default template: ``equipage init``'s company.yaml with placeholders.

    Roles keep their packaged prompts (no ``prompt:`` line), so a crew needs no files of
    its own to start.
    """
    with tempfile.TemporaryDirectory() as folder:
        config = write_starter(Path(folder), company_name="My Company", owner_console_id="owner")
        text = config[0].read_text(encoding="utf-8")
    text = text.replace("$", "$$")
    for old, new in _EDITS:
        if text.count(old) != 1:
            raise RuntimeError(f"the starter company.yaml changed; update _EDITS for {old!r}")
        text = text.replace(old, new)
    text = re.sub(r"(?m)^    prompt: prompts/[a-z0-9_-]+\.md\n", "", text)
    # The header names placeholders without their dollar sign: it would render too.
    header = "".join(f"#   {name}: {what}\n" for name, what in PLACEHOLDERS.items())
    return (
        "# A crew template of the farm. Its placeholders, each written with a dollar sign\n"
        f"# before the name, and two dollar signs for one:\n{header}{text}"
    )
