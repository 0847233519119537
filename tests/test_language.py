"""One language module: which language a text is in, and which one a reader gets."""

from __future__ import annotations

import pytest

from equipage.failure_text import no_longer_open, too_many_hops, workflow_failed
from equipage.language import choose, detect, is_french, language_of, number, pick, said


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Prépare un post de lancement pour la semaine prochaine", "fr"),
        ("Prepare a launch post for next week", "en"),
        ("C'est trop cher pour nous.", "fr"),
        ("We already use another vendor.", "en"),
        ("Évidemment", "fr"),  # no function word: the accent tells
        ("/status", None),
        ("42", None),
        ("", None),
    ],
)
def test_a_texts_language_is_read_off_its_function_words(text: str, language: str | None) -> None:
    assert language_of(text) == language
    assert is_french(text) is (language == "fr")


def test_a_greeting_tells_a_speakers_language_but_not_a_writers() -> None:
    assert language_of("Hello?") is None  # French founders write "hello" too
    assert language_of("Hello?", spoken=True) == "en"
    assert detect("Hello?", "fr", spoken=True) == "en"


def test_a_text_that_tells_nothing_takes_the_default() -> None:
    assert detect("/status") == "en"
    assert detect("/status", default="fr") == "fr"
    assert detect("Bonjour, nous avons une question") == "fr"


@pytest.mark.parametrize(
    ("code", "language"),
    [("fr", "fr"), ("FR", "fr"), ("fr-CA", "fr"), ("en", "en"), ("de", "en"), (None, "en")],
)
def test_any_french_code_is_answered_in_french_and_every_other_in_english(
    code: str | None, language: str
) -> None:
    assert said(code) == language
    assert pick(code, "en", "fr") == language


def test_the_first_french_or_english_choice_wins() -> None:
    assert choose("auto", None, "fr") == "fr"
    assert choose("en", "fr", "fr") == "en"
    assert choose("auto", "de", None) == "en"


def test_numbers_read_the_french_way_for_a_french_reader() -> None:
    assert number(12345.5, ",.1f", "fr") == "12\u00a0345,5"
    assert number(12345.5, ",.1f", "en") == "12,345.5"


def test_what_the_runner_tells_a_person_exists_in_both_languages() -> None:
    assert no_longer_open("q1", "en") == "Question q1 is no longer open; nothing was changed."
    assert no_longer_open("q1", "fr") == "La question q1 n'est plus ouverte ; rien n'a été changé."
    english = too_many_hops(9, 8, None)
    assert english.startswith("this thread took 9 hops between agents, over the limit of 8")
    assert too_many_hops(9, 8, "fr").startswith("ce fil a fait 9 allers-retours entre agents")
    assert "runtime.max_hops" in too_many_hops(9, 8, "fr")


def test_a_refused_input_reads_the_error_form_for_agents_and_french_for_a_founder() -> None:
    assert workflow_failed("digest", None, problems="hours: too small") == (
        "error: workflow digest refused its input: hours: too small"
    )
    assert workflow_failed("digest", None, reason="no transcript") == (
        "error: workflow digest could not use its input: no transcript"
    )
    assert workflow_failed("digest", None, refusal="owner only") == "error: owner only"
    assert workflow_failed("digest", "fr", problems="hours: too small") == (
        "erreur : le workflow digest a refusé son entrée : hours: too small"
    )
