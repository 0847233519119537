"""Every YAML file Equipage reads besides company.yaml goes through ``equipage.yamlread``.

A workflow's input file, its ``--set`` values and the migration price table: an alias bomb
or a character YAML forbids is a ConfigError naming the file, line and column, never a
traceback or gigabytes of repeated values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from equipage.errors import ConfigError
from equipage.workflow import read_input
from tests.test_config import alias_bomb
from workflows.migration.prices import read_prices

#: The "billion laughs" on one line, as a ``--set`` value would carry it.
FLOW_BOMB = (
    "[&a [l, l, l, l, l, l, l, l, l], &b [*a, *a, *a, *a, *a, *a, *a, *a, *a], "
    + ", ".join(
        f"&{name} [{', '.join([f'*{before}'] * 9)}]"
        for before, name in zip("bcdefgh", "cdefghi", strict=True)
    )
    + "]"
)


def test_an_alias_bomb_in_a_workflow_input_file_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    with pytest.raises(ConfigError, match="alias") as caught:
        read_input(path)
    assert caught.value.path == str(path)
    assert caught.value.line is not None and 2 <= caught.value.line <= 9


def test_a_nul_character_in_a_workflow_input_file_is_refused_at_its_line_and_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "input.yaml"
    path.write_text("source: stdin\nlanguage: f\x00r\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"column 12: U\+0000") as caught:
        read_input(path)
    assert caught.value.path == str(path)
    assert caught.value.line == 2


def test_an_alias_bomb_in_a_set_value_is_refused_naming_the_option() -> None:
    with pytest.raises(ConfigError, match=r"--set sources\.x.*alias"):
        read_input(None, [f"sources.x={FLOW_BOMB}"])


def test_a_set_value_is_still_read_as_a_yaml_scalar() -> None:
    data = read_input(None, ["sources.bundled=true", "limit=3", "language=fr", "note="])
    assert data == {"sources": {"bundled": True}, "limit": 3, "language": "fr", "note": ""}


def test_an_alias_bomb_in_the_price_table_is_refused_naming_the_file() -> None:
    with pytest.raises(ConfigError, match="alias") as caught:
        read_prices(alias_bomb(), "prices.yaml")
    assert caught.value.path == "prices.yaml"
    assert caught.value.line is not None


def test_a_nul_character_in_the_price_table_is_refused_at_its_line() -> None:
    with pytest.raises(ConfigError, match=r"U\+0000") as caught:
        read_prices("title: Prices\nchecked: 2026-01-0\x001\n", "prices.yaml")
    assert caught.value.path == "prices.yaml"
    assert caught.value.line == 2
