"""company.yaml loading, its error messages, the environment settings and the starter."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from equipage.config import (
    KNOWN_TOOLS,
    PACKAGED_ROLES,
    CompanyConfig,
    Settings,
    load_config,
    load_prompt,
    packaged_prompt,
)
from equipage.errors import ConfigError
from equipage.keys import Keys
from equipage.scaffold import write_starter

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "company.yaml"

BASE = """\
company:
  name: Acme Cloud
  profile:
    sells: "Managed hosting for SMEs"
    where: [fr, be]
    languages: [FR, en]
members:
  - id: alice
    name: Alice Martin
    role: owner
    identities: {console: alice, telegram: 123456}
  - id: bob
    name: Bob Durand
    role: member
    identities:
      slack: U0123
roles:
  ceo:
    description: "Runs the company"
    handles: [strategy, Stratégie]
    tools: [delegate, reply, ask_human]
  cto:
    description: "Hosting and costs"
    prompt: prompts/cto.md
    model: anthropic:claude-sonnet-4-5
    daily_budget: 2.5
workflows: [tenders]
schedules:
  - name: weekly-tenders
    cron: "0 8 * * MON"
    workflow: tenders
    role: cto
runtime:
  entry_role: ceo
  max_hops: 4
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "cto.md").write_text("You are the CTO of {company_name}.\n")
    path = tmp_path / "company.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, snippet: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if snippet in line)


def test_the_example_company_loads_with_the_packaged_prompts() -> None:
    config = load_config(EXAMPLE)
    assert config.source == EXAMPLE
    assert config.runtime.entry_role in config.roles
    assert set(config.roles) == set(PACKAGED_ROLES)
    for name in PACKAGED_ROLES:
        assert config.roles[name].prompt_path == packaged_prompt(name)
    assert "hébergement" in config.roles["cto"].handles
    assert config.company.profile.where == ("FR", "BE")


@pytest.mark.parametrize("role", PACKAGED_ROLES)
def test_each_packaged_prompt_fills_and_ends_with_an_answer_template(role: str) -> None:
    config = load_config(EXAMPLE)
    text = load_prompt(config, role)
    filled = text.format_map({**config.prompt_variables(), "brief": "THE-BRIEF"})
    template = filled.split("\n## Answer template\n", 1)[1]
    assert "THE-BRIEF" in template
    assert "\n## " not in template  # the template is the last section
    assert "{" not in filled and "}" not in filled


def test_a_valid_file_is_normalised_and_resolved(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.company.id == "acme-cloud"  # derived from the name
    assert config.company.profile.where == ("FR", "BE")
    assert config.company.profile.languages == ("fr", "en")
    assert config.company.profile.language == "fr"
    assert config.roles["ceo"].handles == ("strategy", "stratégie")
    assert config.roles["cto"].tools == KNOWN_TOOLS
    assert config.roles["cto"].prompt_path == tmp_path / "prompts" / "cto.md"
    assert config.roles["cto"].prompt_text() == "You are the CTO of {company_name}.\n"
    assert config.roles["ceo"].prompt_path == packaged_prompt("ceo")
    assert config.runtime.max_hops == 4
    assert config.runtime.workers == 2


def test_the_owner_and_members_are_found_by_platform_identity(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.owner.id == "alice"
    assert config.member_for("telegram", "123456") is config.owner  # YAML int, kept as text
    assert config.member_for("telegram", 123456) is config.owner
    bob = config.member_for("slack", "U0123")
    assert bob is not None and bob.id == "bob"
    assert config.member_for("slack", "U9999") is None
    assert config.member_for("whatsapp", "123456") is None


ERRORS = [
    pytest.param(
        ("daily_budget: 2.5", "daily_budget: cheap"),
        "daily_budget: cheap",
        "roles.cto.daily_budget",
        "should be a number",
        id="wrong type",
    ),
    pytest.param(
        ("daily_budget: 2.5", "dayly_budget: 2.5"),
        "dayly_budget",
        "roles.cto.dayly_budget",
        "did you mean `daily_budget`",
        id="unknown field",
    ),
    pytest.param(
        ('    description: "Hosting and costs"\n', ""),
        "  cto:",
        "roles.cto.description",
        "add `description:` under roles.cto",
        id="missing field",
    ),
    pytest.param(
        ("    role: member", "    role: owner"),
        "Bob Durand",  # the role line follows the name line
        "members[1].role",
        "there is only one",
        id="two owners",
    ),
    pytest.param(
        ("    role: owner", "    role: member"),
        "members:",
        "members",
        "no member has role: owner",
        id="no owner",
    ),
    pytest.param(
        ("workflows: [tenders]", "workflows: [migration]"),
        "workflow: tenders",
        "schedules[0].workflow",
        "add it to `workflows:`",
        id="schedule workflow not enabled",
    ),
    pytest.param(
        ("[delegate, reply, ask_human]", "[delegate, rply, ask_human]"),
        "rply",
        "roles.ceo.tools[1]",
        "known tools: delegate, reply, remember, recall, ask_human, start_workflow",
        id="unknown tool",
    ),
    pytest.param(
        ("anthropic:claude-sonnet-4-5", "mistral:large"),
        "mistral:large",
        "roles.cto.model",
        "'openai:<model>'",
        id="unknown model provider",
    ),
    pytest.param(
        ("entry_role: ceo", "entry_role: boss"),
        "entry_role: boss",
        "runtime.entry_role",
        "set runtime.entry_role to one of them",
        id="entry role missing",
    ),
    pytest.param(
        ("prompt: prompts/cto.md", "prompt: prompts/nope.md"),
        "prompts/nope.md",
        "roles.cto.prompt",
        "nope.md does not exist",
        id="prompt file not found",
    ),
    pytest.param(
        ("workflows:", "  lawyer:\n    description: Contracts\nworkflows:"),
        "  lawyer:",  # the missing field's nearest parent
        "roles.lawyer.prompt",
        "has no packaged prompt",
        id="no packaged prompt",
    ),
    pytest.param(
        ('cron: "0 8 * * MON"', 'cron: "0 8 * MON"'),
        "cron:",
        "schedules[0].cron",
        "write 5",
        id="cron field count",
    ),
    pytest.param(
        ('cron: "0 8 * * MON"', 'cron: "0 25 * * MON"'),
        "cron:",
        "schedules[0].cron",
        "hour '25' is not valid",
        id="cron value",
    ),
    pytest.param(
        ("company:\n  name: Acme Cloud", "company:\n  id: Acme!\n  name: Acme Cloud"),
        "id: Acme!",
        "company.id",
        "set company.id",
        id="bad company id",
    ),
    pytest.param(
        ("    role: cto\n", "    role: cfo\n"),
        "role: cfo",
        "schedules[0].role",
        "does not exist",
        id="schedule role missing",
    ),
    pytest.param(
        ("      slack: U0123", "      telegram: 123456"),
        "      telegram: 123456",
        "members[1].identities.telegram",
        "already belongs to another member",
        id="identity used twice",
    ),
    pytest.param(
        ("  max_hops: 4", "  max_hops: 4\n  timezone: Paris/France"),
        "timezone: Paris/France",
        "runtime.timezone",
        "use an IANA name such as 'Europe/Paris'",
        id="unknown time zone",
    ),
    pytest.param(
        ("  cto:", "  CTO:"),
        "CTO:",
        "roles.CTO",
        "must start with a-z",
        id="bad role name",
    ),
]


@pytest.mark.parametrize(("change", "at", "field", "hint"), ERRORS)
def test_each_mistake_names_the_file_the_line_and_the_field(
    tmp_path: Path, change: tuple[str, str], at: str, field: str, hint: str
) -> None:
    old, new = change
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = write(tmp_path, text)
    line = line_of(text, at) + (1 if at == "Bob Durand" else 0)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert hint in message
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), line, field)


def test_several_mistakes_are_listed_each_with_its_own_line(tmp_path: Path) -> None:
    text = BASE.replace("max_hops: 4", "max_hops: 0").replace(
        "daily_budget: 2.5", "daily_budget: -1"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{path}:{line_of(text, 'daily_budget')}: roles.cto.daily_budget: ")
    assert lines[1].startswith(f"{path}:{line_of(text, 'max_hops')}: runtime.max_hops: ")
    assert "greater than or equal to 1" in lines[1]


def test_an_unknown_field_without_a_close_match_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("  max_hops: 4", "  colour: blue"))
    with pytest.raises(ConfigError, match=r"runtime\.colour: unknown field; .*: entry_role, "):
        load_config(path)


def test_a_missing_file_says_to_run_equipage_init(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    with pytest.raises(ConfigError, match="run 'equipage init'") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_a_yaml_syntax_error_points_at_its_line(tmp_path: Path) -> None:
    text = BASE.replace("    handles: [strategy, Stratégie]", "    handles: [strategy, Stratégie")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_config(path)
    assert caught.value.line is not None
    assert line_of(text, "[strategy, Stratégie") <= caught.value.line <= line_of(text, "tools:")
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: ")


def test_a_key_written_twice_is_an_error(tmp_path: Path) -> None:
    text = BASE.replace("  max_hops: 4", "  max_hops: 4\n  max_hops: 6")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"runtime\.max_hops is written twice") as caught:
        load_config(path)
    assert caught.value.line == line_of(text, "max_hops: 6")


def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": each line repeats the previous one nine times, 9**9 in all."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * 9)}]"]
    for before, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]")
    return "\n".join(lines) + "\n"


#: Loads a company.yaml in a fresh process capped at 1 GB, then prints how much its
#: resident memory grew (MB) and what load_config said. The cap keeps a regression from
#: taking the machine's memory with it.
MEASURE = """\
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from equipage.config import load_config
from equipage.errors import ConfigError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_config(sys.argv[1])
    outcome = "loaded"
except ConfigError as err:
    outcome = str(err)
except MemoryError:
    outcome = "MemoryError"
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown // 1024)  # ru_maxrss is in KB on Linux
print(outcome)
"""


def test_an_alias_bomb_is_refused_at_an_alias_line_using_little_memory(tmp_path: Path) -> None:
    text = alias_bomb()
    assert len(text.encode()) < 500
    path = write(tmp_path, text)

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )

    grown_mb, outcome = done.stdout.split("\n", 1)
    assert outcome.startswith(f"{path}:"), outcome
    line = int(outcome.split(":")[1])
    assert 2 <= line <= 9  # a line holding aliases
    assert "alias" in outcome
    assert int(grown_mb) < 50


def test_anchors_and_aliases_that_reuse_a_small_block_still_load(tmp_path: Path) -> None:
    roles = """\
roles:
  ceo: &role
    description: "Runs the company"
    model: &model anthropic:claude-sonnet-4-5
    daily_budget: 2.5
  cto:
    <<: *role
    description: "Hosting and costs"
  marketing:
    <<: *role
    description: "Tenders and campaigns"
  support:
    <<: *role
    description: "Answers customers"
    model: *model
"""
    text = BASE.split("roles:\n")[0] + roles + "runtime:\n  entry_role: ceo\n"
    config = load_config(write(tmp_path, text))
    assert {role.model for role in config.roles.values()} == {"anthropic:claude-sonnet-4-5"}
    assert {role.daily_budget for role in config.roles.values()} == {2.5}
    assert config.roles["support"].description == "Answers customers"


def test_an_alias_inside_its_own_anchor_is_refused_at_its_line(tmp_path: Path) -> None:
    text = BASE.replace("    handles: [strategy, Stratégie]", "    handles: &loop [a, *loop]")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"\*loop") as caught:
        load_config(path)
    assert caught.value.line == line_of(text, "*loop")


@pytest.mark.parametrize(
    ("character", "named"),
    [("\x00", "U+0000"), ("\x07", "U+0007"), ("\ufffe", "U+FFFE")],
)
def test_a_character_yaml_forbids_is_an_error_at_its_line_and_column(
    tmp_path: Path, character: str, named: str
) -> None:
    text = BASE.replace('"Hosting and costs"', f'"Hosting{character}and costs"')
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = line_of(text, "Hosting")
    column = text.splitlines()[line - 1].index(character) + 1
    assert str(caught.value).startswith(f"{path}:{line}: column {column}: {named} ")


def test_a_tab_in_the_indentation_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    text = BASE.replace("    max_hops: 4", "\tmax_hops: 4").replace(
        "  max_hops: 4", "\tmax_hops: 4"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid YAML") as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line_of(text, 'max_hops')}: column 1: ")


@pytest.mark.parametrize(
    ("value", "reason"),
    [("2026-13-45", "month must be in 1..12"), ("1" * 5000, "digits")],
)
def test_a_value_yaml_cannot_convert_is_an_error_at_its_line(
    tmp_path: Path, value: str, reason: str
) -> None:
    text = BASE.replace("  max_hops: 4", f"  max_hops: {value}")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=reason) as caught:
        load_config(path)
    assert caught.value.line == line_of(text, "max_hops")


def test_bytes_that_are_not_utf8_are_an_error_at_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    path.write_bytes(BASE.replace("Acme Cloud", "Acme\xe9Cloud").encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8") as caught:
        load_config(path)
    assert caught.value.line == line_of(BASE, "Acme Cloud")


def test_an_alias_that_nests_too_deeply_is_refused_at_its_line(tmp_path: Path) -> None:
    deep = "[" * 90 + "1" + "]" * 90
    text = BASE.replace(
        "  max_hops: 4", f"  max_hops: 4\ndeep: &deep {deep}\nx: [[[[[[[[[[*deep]]]]]]]]]]"
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"\*deep nests") as caught:
        load_config(path)
    assert caught.value.line == line_of(text, "x: ")


def test_a_file_nested_too_deeply_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = BASE.replace("  max_hops: 4", "  max_hops: " + "[" * 5000 + "]" * 5000)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="nested") as caught:
        load_config(path)
    assert caught.value.line == line_of(text, "max_hops")


def test_settings_come_from_the_given_environment() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://:hunter2@redis:6379/0",
            "EQUIPAGE_HOME": "/srv/eq",
            "EQUIPAGE_CONFIG": "/srv/company.yaml",
            "ANTHROPIC_API_KEY": "sk-ant-secret",
            "OPENAI_API_KEY": "",  # set but empty means unset
            "OPENAI_BASE_URL": "http://localhost:11434/v1",
            "EQUIPAGE_NAMESPACE": "test",
        }
    )
    assert settings.redis_url == "redis://:hunter2@redis:6379/0"
    assert settings.home == Path("/srv/eq")
    assert settings.config_path == Path("/srv/company.yaml")
    assert settings.anthropic_api_key == "sk-ant-secret"
    assert settings.openai_api_key is None
    assert settings.openai_base_url == "http://localhost:11434/v1"
    assert settings.namespace == "test"


def test_settings_default_to_a_local_embedded_setup() -> None:
    assert Settings.from_env({}) == Settings(
        redis_url=None, home=Path(".equipage"), config_path=Path("company.yaml"), namespace="eq"
    )


def test_the_settings_repr_hides_secrets() -> None:
    settings = Settings.from_env(
        {"ANTHROPIC_API_KEY": "sk-ant-secret", "REDIS_URL": "redis://user:hunter2@redis:6379"}
    )
    shown = repr(settings)
    assert "sk-ant-secret" not in shown and "hunter2" not in shown
    assert "anthropic_api_key='***'" in shown
    assert "openai_api_key=None" in shown
    assert "redis://user:***@redis:6379" in shown


def test_a_namespace_with_a_colon_is_refused() -> None:
    with pytest.raises(ConfigError, match="EQUIPAGE_NAMESPACE"):
        Settings.from_env({"EQUIPAGE_NAMESPACE": "a:b"})


def test_the_starter_loads_and_uses_its_own_prompt_copies(tmp_path: Path) -> None:
    written = write_starter(tmp_path, company_name='Société "Test"', owner_console_id="bob")
    assert tmp_path / "company.yaml" in written
    config = load_config(tmp_path / "company.yaml")
    assert config.company.id == "societe-test"
    assert config.company.name == 'Société "Test"'
    assert config.member_for("console", "bob") is config.owner
    for role in PACKAGED_ROLES:
        copy = tmp_path / "prompts" / f"{role}.md"
        assert config.roles[role].prompt_path == copy
        assert copy.read_text(encoding="utf-8") == load_prompt(load_config(EXAMPLE), role)


def test_the_starter_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "cto.md").write_text("mine\n")
    with pytest.raises(ConfigError, match="pass --force") as caught:
        write_starter(tmp_path)
    assert caught.value.path == str(tmp_path / "prompts" / "cto.md")
    assert not (tmp_path / "company.yaml").exists()  # nothing half-written

    write_starter(tmp_path, force=True)
    assert (tmp_path / "prompts" / "cto.md").read_text() != "mine\n"
    load_config(tmp_path / "company.yaml")


def test_a_config_built_in_code_is_checked_too() -> None:
    data = {
        "company": {"name": "Acme", "profile": {"sells": "hosting"}},
        "members": [{"id": "a", "name": "A", "role": "member"}],
        "roles": {"ceo": {"description": "boss"}},
    }
    with pytest.raises(ValueError, match="no member has role: owner"):
        CompanyConfig.model_validate(data)
    data["members"] = [{"id": "a", "name": "A", "role": "owner"}]
    config = CompanyConfig.model_validate(data)
    assert config.source is None
    assert config.roles["ceo"].prompt_path == packaged_prompt("ceo")


@pytest.mark.parametrize("company_id", ["acme\n", "acme\r\n", " acme", "ac:me", "", "a" * 64])
def test_a_company_id_with_a_trailing_newline_or_other_stray_character_is_refused(
    company_id: str,
) -> None:
    # A `$` would let "acme\n" through: its keys would hold a newline, beside acme's own.
    with pytest.raises(ValueError, match="company id"):
        Keys(company_id)


def test_company_yaml_strips_the_spaces_around_its_id_and_refuses_any_other_character() -> None:
    def with_id(company_id: str) -> CompanyConfig:
        return CompanyConfig.model_validate(
            {
                "company": {"id": company_id, "name": "Acme", "profile": {"sells": "hosting"}},
                "members": [{"id": "a", "name": "A", "role": "owner"}],
                "roles": {"ceo": {"description": "boss"}},
            }
        )

    assert with_id("acme\n").company.id == "acme"
    with pytest.raises(ValueError, match=r"set company\.id"):
        with_id("ac\nme")
