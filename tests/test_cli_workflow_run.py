"""``equipage workflow run`` reports: progress, where its files are, exit codes, typed --set.

The --set values are read against the real workflows' inputs; the runs are the CLI as a
user runs it, on the real notices shipped with Equipage and a real inventory export.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, JsonValue

from equipage.cli.setvalues import apply_overrides, read_value
from equipage.errors import ConfigError
from equipage.inputs import OwnerOnly
from tests.test_cli import FIXTURES, equipage
from workflows.coaching import CoachingInput
from workflows.migration.contract import MigrationInput
from workflows.tenders import TendersInput


def overridden(model: type[BaseModel], *overrides: str) -> dict[str, JsonValue]:
    data = apply_overrides({}, overrides, model)
    model.model_validate(data)  # what the CLI sets, the workflow takes
    return data


# -- --set read by the field's type ---------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "today"),
    [("2019-12-02", "2019-12-02"), ("02/12/2019", "2019-12-02"), ("none", None)],
)
def test_a_date_is_read_as_a_date_written_the_iso_or_the_french_way(
    given: str, today: str | None
) -> None:
    assert overridden(TendersInput, f"today={given}") == {"today": today}


def test_numbers_yes_no_lists_and_nested_fields_take_their_fields_types() -> None:
    data = overridden(
        TendersInput,
        "pick=2",
        "sources.bundled=oui",
        "sources.ted=non",
        "explain=ted:1, ted:2",
        "ids=[ted:3]",
        "language=FR",
    )

    assert data == {
        "pick": 2,
        "sources": {"bundled": True, "ted": False},
        "explain": ["ted:1", "ted:2"],
        "ids": ["ted:3"],
        "language": "fr",
    }


def test_a_list_of_choices_and_a_french_decimal_are_read_for_the_migration() -> None:
    data = overridden(MigrationInput, "targets=hetzner", "bandwidth_mbps=12,5", "paths=a.json")

    assert data == {"targets": ["hetzner"], "bandwidth_mbps": 12.5, "paths": ["a.json"]}


def test_a_text_stays_text_where_yaml_would_have_made_it_a_yes_or_a_date() -> None:
    assert overridden(CoachingInput, "speaker=no", "text=2019-12-02") == {
        "speaker": "no",
        "text": "2019-12-02",
    }


class Color(StrEnum):
    RED = "red"


class Shape(BaseModel):
    where: Path
    color: Color = Color.RED
    kept: Annotated[int, OwnerOnly()] = 1
    mode: Literal["a", "b"] = "a"


def test_a_path_is_a_path_and_owner_only_fields_keep_their_type() -> None:
    data = apply_overrides({}, ["where=~/rc.pdf", "kept=7", "color=RED"], Shape)

    assert data == {"where": str(Path("~/rc.pdf").expanduser()), "kept": 7, "color": "red"}


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("today=demain", "today expects a date, such as 2026-12-06 or 06/12/2026"),
        ("pick=deux", "pick expects a whole number"),
        ("sources.bundled=peut-être", "sources.bundled expects yes or no"),
        ("language=de", "language expects one of auto, fr, en"),
        ("profile=cloud", "profile expects a mapping"),
        ("nope=1", "the input has no field 'nope'; its fields are sources, pick"),
        ("sources.nope=1", "sources has no field 'nope'"),
        ("pick", "write KEY=VALUE"),
    ],
)
def test_a_value_not_of_its_fields_type_is_refused_naming_the_field_and_the_type(
    override: str, said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        apply_overrides({}, [override], TendersInput)

    assert said in str(refused.value)


def test_the_refusal_shows_how_to_write_the_value() -> None:
    with pytest.raises(ConfigError, match=r"write e\.g\. --set targets=scaleway,scaleway"):
        read_value("targets", "ovh", MigrationInput.model_fields["targets"].annotation)


# -- the command, as a user runs it ---------------------------------------------------------
FILES = re.compile(r"Files written \((\d+)\):\n((?:/.*\n?)+)")


@pytest.mark.e2e
def test_a_run_shows_its_progress_and_where_each_file_it_wrote_is(tmp_path: Path) -> None:
    equipage(tmp_path, "init")

    output = equipage(
        tmp_path, "workflow", "run", "tenders", "--set", "sources.bundled=true", "--yes"
    )

    # Not a terminal: the workflow's own progress() steps, one plain line each.
    assert "… tenders: reading bundled notices as of 2019-12-02" in output
    assert "… tenders: exported 2 file(s)" in output
    found = FILES.search(output)
    assert found, output
    paths = [Path(line) for line in found[2].splitlines()]
    assert len(paths) == int(found[1]) == 2
    assert {p.suffix for p in paths} == {".docx", ".md"}
    files = (tmp_path / ".equipage" / "files").resolve()
    assert all(p.is_absolute() and p.is_file() and files in p.parents for p in paths)


@pytest.mark.e2e
def test_a_set_value_of_the_wrong_type_exits_2_before_anything_runs(tmp_path: Path) -> None:
    equipage(tmp_path, "init")

    output = equipage(tmp_path, "workflow", "run", "tenders", "--set", "today=demain", code=2)

    assert "error: --set today=demain: today expects a date" in output
    assert "…" not in output  # nothing ran


@pytest.mark.e2e
def test_an_input_the_workflow_refuses_exits_2_and_says_why(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    (tmp_path / "inventory.json").write_bytes(b"\x00\x01 not an inventory")

    output = equipage(
        tmp_path, "workflow", "run", "migration", "--set", "paths=inventory.json", code=2
    )

    assert "Cloud Asset Inventory export" in output  # what it reads instead
    assert "Files written" not in output


@pytest.mark.e2e
def test_a_run_still_going_after_the_timeout_exits_1(tmp_path: Path) -> None:
    equipage(tmp_path, "init")
    inventory = FIXTURES / "gcp" / "cai_export_policy-library_enforce_labels_gke.json"

    output = equipage(
        tmp_path, "workflow", "run", "migration", "--set", f"paths={inventory}",
        "--timeout", "0", code=1,
    )  # fmt: skip

    assert "the crew was still working after 0s" in output


def test_the_help_documents_the_exit_codes(tmp_path: Path) -> None:
    output = equipage(tmp_path, "workflow", "run", "--help")

    assert "Exit codes: 0 it ran; 1 it failed" in output
    assert "2 its input was refused" in " ".join(output.split())
