"""The rules' feedback never contradicts itself, nor the figures, over a grid of measures."""

from __future__ import annotations

import itertools

import pytest

from workflows.coaching.feedback import rules_feedback
from workflows.coaching.fillers import FillerCount, Repeat
from workflows.coaching.lexicon import COMFORTABLE_WPM, Language
from workflows.coaching.measures import Measures, Monologue, Pause, SpeakerShare, Window
from workflows.coaching.report import figures_markdown

WORDS = 1200
DURATION = 480.0  # 8 minutes, 16 windows of 30 s

# (a strength's words, a weakness's words): both in one feedback judge one thing two ways.
CONTRADICTIONS: dict[Language, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "en": [
        (("comfortable", "controlled"), ("faster than", "slower than")),
        (("Few filler words",), ("Filler words:",)),
        (("room to breathe",), ("No silence", "silences last more")),
        (("Clean delivery",), ("stumbles",)),
        (("easy to follow",), ("Long sentences",)),
        (("balanced exchange",), ("one voice", "keeps the floor")),
    ],
    "fr": [
        (("zone confortable (", "maîtrisé"), ("plus vite que", "en dessous de la zone")),
        (("Peu de mots de remplissage",), ("Mots de remplissage :",)),
        (("de quoi respirer",), ("Aucun silence", "silences durent")),
        (("Élocution nette",), ("hésitations",)),
        (("faciles à suivre",), ("Phrases longues",)),
        (("échange équilibré",), ("monologue", "garde la parole")),
    ],
}
# What the report's pace line says -> what a strength must then not say.
REPORT_PACE: dict[Language, list[tuple[str, tuple[str, ...]]]] = {
    "en": [
        ("above the comfortable range", ("comfortable", "controlled")),
        ("below the comfortable range", ("comfortable", "controlled")),
        ("within the comfortable range", ("faster than", "slower than")),
    ],
    "fr": [
        ("au-dessus de la zone confortable", ("zone confortable (", "maîtrisé")),
        ("en dessous de la zone confortable", ("zone confortable (", "maîtrisé")),
        ("dans la zone confortable", ("plus vite que", "en dessous de la zone confortable (")),
    ],
}


def _windows(wpm: float, swing: float) -> tuple[Window, ...]:
    """16 windows around ``wpm``, alternating by ``swing`` (0.1 steady, 0.6 uneven)."""
    out = []
    for i in range(16):
        pace = wpm * (1 + swing if i % 2 else 1 - swing)
        out.append(Window(start=i * 30.0, end=(i + 1) * 30.0, words=round(pace / 2), wpm=pace))
    return tuple(out)


def _measures(
    language: Language,
    wpm: float,
    swing: float,
    filler_rate: float,
    pauses: str,
    doubled: int,
    sentence_mean: float,
    share: float,
    long_turn: bool,
) -> Measures:
    fillers = round(filler_rate * WORDS / 100)
    pause_list = {
        "none": (),
        "good": tuple(Pause(start=i * 60.0, seconds=2.0, before="…") for i in range(8)),
        "long": tuple(Pause(start=i * 60.0, seconds=6.0, before="…") for i in range(8)),
    }[pauses]
    sentences = round(WORDS / sentence_mean)
    return Measures(
        language=language,
        format="vtt",
        focus=None,
        words=WORDS,
        distinct_words=400,
        timed=True,
        word_timed=True,
        start=0.0,
        duration_seconds=DURATION,
        wpm=wpm,
        comfortable_wpm=COMFORTABLE_WPM[language],
        window_seconds=30.0,
        windows=_windows(wpm, swing),
        pauses_between="words",
        pauses=pause_list,
        fillers=(FillerCount(filler="euh", count=fillers, loose=False),) if fillers else (),
        filler_total=fillers,
        fillers_per_100_words=fillers * 100 / WORDS,
        repeated_words=(Repeat(text="le le", count=doubled),) if doubled else (),
        repeated_phrases=(),
        punctuated=True,
        sentences=sentences,
        sentence_mean=sentence_mean,
        sentence_median=sentence_mean,
        sentence_max=round(sentence_mean * 2),
        long_sentences=round(sentences * 0.3) if sentence_mean > 25 else 0,
        speakers=(
            SpeakerShare(
                speaker="A",
                words=round(WORDS * share),
                word_share=share,
                seconds=None,
                time_share=None,
                turns=4,
            ),
            SpeakerShare(
                speaker="B",
                words=round(WORDS * (1 - share)),
                word_share=1 - share,
                seconds=None,
                time_share=None,
                turns=4,
            ),
        ),
        longest_monologue=Monologue(
            speaker="A", start=0.0, seconds=240.0 if long_turn else 60.0, words=300
        ),
    )


def _sections(text: str, language: Language) -> tuple[list[str], list[str]]:
    """The strengths' and the weaknesses' bullets of a rules feedback."""
    good, work = ("Points forts", "Axes de progrès") if language == "fr" else (
        "Strengths", "Things to work on",
    )  # fmt: skip
    part_good = text.split(f"**{good}**")[1].split(f"**{work}**")[0]
    part_work = text.split(f"**{work}**")[1].split("**")[0]

    def bullets(part: str) -> list[str]:
        return [line for line in part.splitlines() if line.startswith("- ")]

    return bullets(part_good), bullets(part_work)


def _says(lines: list[str], markers: tuple[str, ...]) -> bool:
    return any(marker in line for line in lines for marker in markers)


GRID = list(
    itertools.product(
        ("en", "fr"),
        (100.0, 150.0, 165.0, 230.0),  # words per minute: slow, comfortable (both), fast
        (0.05, 0.25, 0.6),  # pace swing between windows: steady, moderate, uneven
        (0.5, 2.0, 5.0),  # fillers per 100 words
        ("none", "good", "long"),
        (0, 12),  # doubled words
        (15.0, 30.0),  # mean sentence length
        (0.5, 0.9),  # the most talkative speaker's share of words
        (False, True),  # a turn of four minutes
    )
)


def test_feedback_over_a_grid_of_measures_never_says_two_opposite_things() -> None:
    checked = 0
    for params in GRID:
        language: Language = params[0]  # type: ignore[assignment]
        m = _measures(language, *params[1:])
        text = rules_feedback(m)
        strengths, weaknesses = _sections(text, language)
        for praise, blame in CONTRADICTIONS[language]:
            assert not (_says(strengths, praise) and _says(weaknesses, blame)), (params, text)
        figures = figures_markdown(m)
        for line, banned in REPORT_PACE[language]:
            if line in figures:
                said = (
                    strengths if banned[0] in ("comfortable", "zone confortable (") else weaknesses
                )
                assert not _says(said, banned), (params, line, text)
        checked += 1
    assert checked == len(GRID) > 2000


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_steady_but_fast_pace_is_called_fast_and_never_controlled(language: Language) -> None:
    m = _measures(language, 230.0, 0.05, 2.0, "good", 0, 15.0, 0.5, False)
    text = rules_feedback(m)
    strengths, weaknesses = _sections(text, language)
    fast, controlled = ("plus vite que", "maîtrisé") if language == "fr" else (
        "faster than", "controlled",
    )  # fmt: skip
    assert _says(weaknesses, (fast,))
    assert not _says(strengths, (controlled,))
    above = "au-dessus de la zone" if language == "fr" else "above the comfortable range"
    assert above in figures_markdown(m)


def test_a_steady_comfortable_pace_is_praised_as_controlled() -> None:
    m = _measures("en", 150.0, 0.05, 0.5, "good", 0, 15.0, 0.5, False)
    strengths, _ = _sections(rules_feedback(m), "en")
    assert _says(strengths, ("controlled",)) or _says(strengths, ("comfortable",))
    assert "within the comfortable range" in figures_markdown(m)
