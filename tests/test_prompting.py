"""The prompt conventions both sides read: answer templates per language, the company's."""

from __future__ import annotations

import pytest

from equipage.prompting import answer_template, company_language


@pytest.mark.parametrize("language", ["fr", "en", "de"])
def test_prompt_with_only_a_french_template_gives_it_to_every_reader(language: str) -> None:
    system = "# Role\n\n## Answer template (fr)\nBonjour {brief}\n\n## Team\n- cto: hosting"

    assert answer_template(system, language) == "Bonjour {brief}"
    assert answer_template("# Role\n\nNo template here.", language) == ""


def test_template_in_the_readers_language_wins_over_the_untagged_one() -> None:
    system = "## Answer template (de)\nHallo {brief}\n\n## Answer template\nHello {brief}\n"

    assert answer_template(system, "de") == "Hallo {brief}"
    assert answer_template(system, "fr") == "Hello {brief}"
    assert answer_template(system) == "Hello {brief}"


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("You run Acme.\nIt sells in: FR. It works in these languages: fr, en.\n", "fr"),
        ("It works in these languages: en.", "en"),
        ("You run Acme, in English and French.", None),
    ],
)
def test_company_language_is_the_first_the_prompt_states(system: str, expected: str | None) -> None:
    assert company_language(system) == expected
