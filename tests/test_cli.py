"""The ``equipage`` command as a user runs it: one process per command, in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from equipage.approvals import Approval
from equipage.connection import EmbeddedRedis
from equipage.keys import Keys

FIXTURES = Path(__file__).parent / "fixtures"

#: What the demo must show crossing the bus: (kind, from, to).
DEMO_ROWS = {
    ("task", "member:camille", "ceo"),
    ("task", "ceo", "cto"),
    ("task", "ceo", "marketing"),
    ("reply", "ceo", "human"),
    ("result", "marketing", "ceo"),
    ("result", "cto", "ceo"),
    ("question", "ceo", "human"),
    ("answer", "member:camille", "ceo"),
    ("workflow", "marketing", "workflow.tenders"),
    ("question", "workflow.tenders", "human"),
    ("answer", "member:camille", "workflow.tenders"),
    ("result", "workflow.tenders", "marketing"),
    ("result", "marketing", "ceo"),
}


def clean_env() -> dict[str, str]:
    """The user's environment without a Redis URL, model keys or Equipage settings."""
    dropped = {"REDIS_URL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"}
    env = {
        k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("EQUIPAGE_")
    }
    env["COLUMNS"] = "120"
    return env


def equipage(cwd: Path, *args: str, code: int = 0) -> str:
    """Run ``equipage ARGS`` in ``cwd``; check its exit code and return stdout and stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "equipage.cli", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == code, (
        f"equipage {' '.join(args)} exited {done.returncode}, expected {code}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    return output


def table_rows(output: str) -> set[tuple[str, str, str]]:
    """(kind, from, to) of each numbered row of the demo's table."""
    rows = set()
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 7 and cells[1].isdigit():
            rows.add((cells[2], cells[3], cells[4]))
    return rows


def set_sells(folder: Path, sells: str) -> None:
    config = folder / "company.yaml"
    text = config.read_text(encoding="utf-8")
    updated = re.sub(r'(?m)^(\s+sells:) ".*"$', rf'\1 "{sells}"', text, count=1)
    assert updated != text, "the starter's sells: line moved"
    config.write_text(updated, encoding="utf-8")


def test_init_writes_the_starter_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    output = equipage(tmp_path, "init", "--name", "Société Générale")

    config = (tmp_path / "company.yaml").read_text(encoding="utf-8")
    assert "id: societe-generale" in config
    assert 'name: "Société Générale"' in config
    for role in ("ceo", "cto", "marketing", "support"):
        assert (tmp_path / "prompts" / f"{role}.md").read_text(encoding="utf-8").strip()
        assert f"prompts/{role}.md" in output

    again = equipage(tmp_path, "init", code=2)
    assert "company.yaml" in again
    assert "--force" in again
    assert (tmp_path / "company.yaml").read_text(encoding="utf-8") == config


def test_status_reports_a_bad_field_with_its_file_line_and_path(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    config = tmp_path / "company.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    # The CEO's budget is the first daily_budget of the starter.
    line = next(i for i, text in enumerate(lines, 1) if "daily_budget:" in text)
    lines[line - 1] = lines[line - 1].replace("5.0", "lots")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    output = equipage(tmp_path, "status", code=2)

    assert f"company.yaml:{line}:" in output
    assert "roles.ceo.daily_budget" in output
    assert "'lots'" in output
    # Only init's audit key is there: a bad config must fail before Redis starts.
    assert [p.name for p in (tmp_path / ".equipage").iterdir()] == ["audit.key"]


#: ``python -m equipage.cli`` with its memory capped at 1 GB: a file written to exhaust
#: memory must fail the test, not the machine.
CAPPED_CLI = (
    "import resource, runpy; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    "runpy.run_module('equipage.cli', run_name='__main__')"
)

#: Nine lines of nine aliases each, 9**9 values once expanded (the "billion laughs").
ALIAS_BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join([f'*{before}'] * 9)}]\n"
    for before, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize("command", ["up", "status"])
@pytest.mark.parametrize(
    ("text", "line"),
    [(ALIAS_BOMB, 5), ("company:\n  name: Acme\x00Cloud\n", 2)],
    ids=["alias-bomb", "nul-character"],
)
def test_a_company_yaml_that_yaml_refuses_is_one_error_line_not_a_traceback(
    tmp_path: Path, command: str, text: str, line: int
) -> None:
    (tmp_path / "company.yaml").write_text(text, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, "-c", CAPPED_CLI, command],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: company.yaml:{line}: column "), done.stderr
    assert done.stderr.count("error:") == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".equipage").exists()  # refused before Redis starts


def test_status_shows_questions_and_errors_as_written_even_blank_or_with_brackets(
    tmp_path: Path,
) -> None:
    equipage(tmp_path, "init")
    keys = Keys("my-company")
    blank = Approval(id="0000aaaa", role="ceo", thread="cli:owner", text="", asked_at=1.0)
    brackets = Approval(
        id="0000bbbb", role="cto", thread="cli:x", text="Plan:\nMerge [/code] and [draft]?"
    )
    server = EmbeddedRedis(tmp_path / ".equipage").start()
    client = redis.Redis(unix_socket_path=server.socket_file)
    try:
        for approval in (blank, brackets):
            client.hset(keys.approvals, approval.id, approval.model_dump_json())
        client.xadd(keys.dead, {"env": "not json [/env]", "error": "KeyError: '[/tmp]'"})
    finally:
        client.close()
        server.stop()

    output = equipage(tmp_path, "status")

    assert "waiting on you: 2" in output
    assert "0000aaaa (ceo)   -> /approve 0000aaaa" in output
    assert "0000bbbb (cto) Merge [/code] and [draft]?  -> /approve 0000bbbb" in output
    assert "dead letters: 1" in output
    assert "not json [/env] after 0 attempts: KeyError: '[/tmp]'" in output


#: The envelopes' kinds as the French demo's table names them.
KINDS_FR = {"task": "tâche", "result": "résultat", "answer": "réponse", "reply": "message"}


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("lang", "complete", "confirmation"),
    [
        ("en", "Demo complete", "Nothing was published"),
        ("fr", "Démo terminée", "Rien n'a été publié"),
    ],
)
def test_demo_plays_the_whole_conversation_offline(
    tmp_path: Path, lang: str, complete: str, confirmation: str
) -> None:
    output = equipage(tmp_path, "demo", "--lang", lang)

    assert complete in output
    assert confirmation in output
    assert "Provision of IT Services Related to OP IT Systems" in output  # the best tender
    assert ".docx" in output
    kinds = KINDS_FR if lang == "fr" else {}
    assert table_rows(output) >= {(kinds.get(k, k), s, t) for k, s, t in DEMO_ROWS}, output
    # The demo cleans up after itself, but for the files the crew exported: they are kept
    # in the folder it names, each printed by its absolute path.
    assert [p.name for p in tmp_path.iterdir()] == ["equipage-demo"]
    kept = sorted((tmp_path / "equipage-demo").iterdir())
    assert {p.suffix for p in kept} == {".docx", ".md"}
    for path in kept:
        assert f"\n{path.resolve()}\n" in output


def test_demo_refuses_an_unknown_language(tmp_path: Path) -> None:
    output = equipage(tmp_path, "demo", "--lang", "de", code=2)

    assert "--lang must be one of en, fr" in output


@pytest.mark.e2e
def test_approval_round_trip_survives_separate_processes(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    set_sells(tmp_path, "managed cloud hosting for small businesses")

    asked = equipage(tmp_path, "send", "Prepare a launch post and publish it")
    found = re.search(r"/approve ([0-9a-f]{8})", asked)
    assert found, f"no question to approve in:\n{asked}"
    question = found[1]
    assert "Shall I publish it?" in asked

    waiting = equipage(tmp_path, "status")
    assert "waiting on you: 1" in waiting
    assert re.search(rf"{question} \(ceo\) .*/approve {question}", waiting), waiting

    approved = equipage(tmp_path, "send", f"/approve {question}")
    assert f"Approved {question}" in approved
    assert "Nothing was published" in approved

    after = equipage(tmp_path, "status")
    assert "waiting on you: 0" in after
    assert "dead letters: 0" in after


def test_workflow_list_shows_installed_workflows_and_their_inputs(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    output = equipage(tmp_path, "workflow", "list")
    assert re.search(r"digest\s+│\s+yes\s+│\s+Counts what the crew did", output), output


def test_workflow_run_takes_its_input_from_a_file_and_prints_the_result(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    (tmp_path / "input.yaml").write_text("hours: 2\n")
    output = equipage(tmp_path, "workflow", "run", "digest", "--input", "input.yaml")
    assert "Crew activity over the last 2 h" in output
    output = equipage(tmp_path, "workflow", "run", "digest", "--set", "hours=3")
    assert "Crew activity over the last 3 h" in output


def test_workflow_run_reports_bad_input_before_running_anything(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    (tmp_path / "input.yaml").write_text("hours: -1\n")
    output = equipage(tmp_path, "workflow", "run", "digest", "-i", "input.yaml", code=2)
    assert "workflow digest refused its input: hours: Input should be greater than 0" in output
    (tmp_path / "broken.json").write_text('{"hours": ')
    output = equipage(tmp_path, "workflow", "run", "digest", "-i", "broken.json", code=2)
    assert "broken.json:1: column 11: this is not valid YAML" in output  # JSON is YAML
    output = equipage(tmp_path, "workflow", "run", "nope", code=2)
    assert "no workflow 'nope'" in output


def test_live_reads_the_conversation_on_stdin_and_prints_suggestions(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    done = subprocess.run(
        [sys.executable, "-m", "equipage.cli", "live", "--session", "call1", "--interval", "0"],
        cwd=tmp_path,
        env=clean_env(),
        input="client: honestly, it is too expensive for us\nme: I see\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "equipage live --session call1" in done.stdout
    assert "Price objection" in done.stdout, done.stdout
    assert "suggestions sent: 1" in done.stdout, done.stdout


TALK = FIXTURES / "transcripts" / "umd-mith_webvtt-player_unlocking-the-airwaves_en.vtt"
WORKFLOW_RUNS = [
    pytest.param(
        ["tenders", "--set", "sources.bundled=true", "--yes"],
        ["Provision of IT Services Related to OP IT Systems", ".docx"],
        id="tenders",
    ),
    pytest.param(
        [
            "migration",
            "--set",
            f"paths=[{FIXTURES / 'gcp' / 'cai_export_policy-library_enforce_labels_gke.json'}]",
            "--yes",
        ],
        ["Cloud migration plan", "main.tf"],
        id="migration",
    ),
    pytest.param(
        [
            "coaching",
            "--set",
            f"path={TALK}",
        ],
        ["words per minute", "pace.png"],
        id="coaching",
    ),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("args", "expected"), WORKFLOW_RUNS)
def test_each_workflow_runs_by_hand_on_real_inputs(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    equipage(tmp_path, "init")
    output = equipage(tmp_path, "workflow", "run", *args)
    for text in expected:
        assert text in output, output


def test_status_speaks_french_to_a_french_company(tmp_path: Path) -> None:
    """Issue 16, item 13: `equipage status` is read by the founder too."""
    from tests.english import english_in

    equipage(tmp_path, "init")
    config = tmp_path / "company.yaml"
    config.write_text(config.read_text().replace("languages: [en]", "languages: [fr]"))
    keys = Keys("my-company")
    asked = Approval(id="0000cccc", role="ceo", thread="cli:owner", text="Je publie ?")
    server = EmbeddedRedis(tmp_path / ".equipage").start()
    client = redis.Redis(unix_socket_path=server.socket_file)
    try:
        client.hset(keys.approvals, asked.id, asked.model_dump_json())
    finally:
        client.close()
        server.stop()

    output = equipage(tmp_path, "status")

    assert "en attente de vous : 1" in output
    assert "Équipage de my-company" in output and "Dépenses (USD)" in output
    # Ids, role names and the table's borders aside, not a word of English.
    assert english_in(output.splitlines(), sources=["my-company", "/approve", "ceo"]) == []
