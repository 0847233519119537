"""How the runtime writes the context a model sees, and how the offline model reads it back.

Both sides import these helpers, so the conventions (section titles, result lines) live once.

Answer templates: a prompt's ``## Answer template`` section is the answer's shape in the
default language (English in the packaged prompts); ``## Answer template (fr)``, or any
other language code in the brackets, is the same answer in that language.
``answer_template`` picks the one for the reader's language, and falls back on the
untagged one, so a prompt written with one template keeps working for every reader.
Real models see every template, and the prompt's own words say which applies when.
The company's languages reach the model in the line ``It works in these languages: fr,
en.`` of the packaged prompts (``company_language`` reads the first back).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from equipage.llm.messages import Message

__all__ = [
    "ANSWER_TEMPLATE",
    "LANGUAGES",
    "TEAM",
    "TeamMember",
    "answer_template",
    "company_language",
    "fill",
    "listing",
    "parse_listing",
    "parse_result",
    "parse_team",
    "result_text",
    "team_section",
]

TEAM = "## Team"
ANSWER_TEMPLATE = "## Answer template"
LANGUAGES = "It works in these languages:"
_RESULT = re.compile(r"^Result from (?P<sender>[\w.:-]+) \(call (?P<call>[\w-]+)\):\n", re.S)
_FENCE = re.compile(r'^<untrusted source="[^"]*">\n(?P<body>.*)\n</untrusted>$', re.S)
_TAGGED = re.compile(rf"^{ANSWER_TEMPLATE} \((?P<code>[\w-]+)\)$", re.M)
_LANGUAGES = re.compile(rf"{LANGUAGES} *(?P<first>[A-Za-z]{{2,3}}\b)")
_TEAM_LINE = re.compile(r"^- (?P<role>[\w-]+): (?P<desc>.*?)(?: \(handles: (?P<kw>.*)\))?$")


@dataclass(frozen=True)
class TeamMember:
    role: str
    description: str
    handles: tuple[str, ...]


def listing(members: Sequence[TeamMember]) -> str:
    """One ``- name: description (handles: a, b)`` line per role or workflow."""
    lines = []
    for m in members:
        handles = f" (handles: {', '.join(m.handles)})" if m.handles else ""
        lines.append(f"- {m.role}: {m.description}{handles}")
    return "\n".join(lines)


def parse_listing(text: str) -> list[TeamMember]:
    """Read back the lines written by ``listing``."""
    found = []
    for line in text.splitlines():
        if m := _TEAM_LINE.match(line.strip()):
            kw = tuple(k.strip() for k in (m["kw"] or "").split(",") if k.strip())
            found.append(TeamMember(m["role"], m["desc"], kw))
    return found


def team_section(members: Sequence[TeamMember]) -> str:
    """The ``## Team`` section listing the roles an agent may delegate to."""
    return f"{TEAM}\nDelegate with `delegate(role, brief)` to:\n{listing(members)}"


def parse_team(system: str) -> list[TeamMember]:
    """Read back the ``## Team`` section of a system prompt."""
    return parse_listing(_section(system, TEAM))


def answer_template(system: str, language: str = "en") -> str:
    """The answer template of a system prompt for a reader of ``language``, or an empty string.

    The section tagged with the language first, else the untagged one, else the first tagged
    one: the prompt's author wrote only that one, and a template beats no answer.
    """
    found = _section(system, f"{ANSWER_TEMPLATE} ({language})") or _section(system, ANSWER_TEMPLATE)
    if not found and (tagged := _TAGGED.search(system)):
        found = _section(system, tagged[0])
    return found.strip()


def company_language(system: str) -> str | None:
    """The company's default language as a system prompt states it, None when it does not."""
    found = _LANGUAGES.search(system)
    return found["first"].lower() if found else None


def result_text(sender: str, call_id: str, text: str) -> str:
    """How a delegated result (or a workflow's) appears in the delegating thread."""
    return f"Result from {sender} (call {call_id}):\n{text}"


def parse_result(message: Message) -> tuple[str, str, str] | None:
    """``(sender, call_id, text)`` if ``message`` is a delegated result, else None.

    A result carrying outside content reaches the model fenced (``policy.wrap_untrusted``);
    it is still a result.
    """
    content = message.content
    if (fenced := _FENCE.match(content)) is not None:
        content = fenced["body"]
    if message.role != "user" or not (m := _RESULT.match(content)):
        return None
    return m["sender"], m["call"], content[m.end() :]


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{name}`` placeholders found in ``values``; leave every other brace alone.

    Not ``str.format``: prompts written by users may hold JSON or code with braces.
    """
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), template)


def _section(text: str, heading: str) -> str:
    start = text.find(heading + "\n")
    if start < 0:
        return ""
    body = text[start + len(heading) + 1 :]
    end = re.search(r"^## ", body, re.M)
    return body[: end.start()] if end else body
