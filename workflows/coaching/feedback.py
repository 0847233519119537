"""Three strengths, three things to work on and one exercise, from the model or from rules.

The model gets the figures (and a short excerpt, fenced as data) and writes the prose in
the transcript's language. Offline, rules pick the real strengths and weaknesses from
the figures, each with its number, and the template says it was written by rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from equipage.workflow import WorkflowContext
from workflows.coaching.measures import UNMARKED, Measures
from workflows.coaching.report import figures_markdown
from workflows.coaching.templates import ALIASES, EXERCISES, HEADINGS, INSTRUCTIONS
from workflows.coaching.verdicts import Verdicts, classify

__all__ = ["Feedback", "rules_feedback", "write_feedback"]


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str  # Markdown
    by: str  # the model that wrote it, or "template"


@dataclass(frozen=True)
class _Note:
    key: str
    strength: bool
    weight: float
    en: str
    fr: str


def _n(value: float, lang: str, digits: int = 0) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def _pace_notes(m: Measures, v: Verdicts) -> list[_Note]:
    notes: list[_Note] = []
    if m.wpm is None:
        return notes
    low, high = m.comfortable_wpm
    wpm_en, wpm_fr = _n(m.wpm, "en"), _n(m.wpm, "fr")
    if v.pace == "comfortable":
        notes.append(
            _Note(
                "pace",
                True,
                3.0,
                f"Your overall pace, {wpm_en} words per minute, sits in the comfortable "
                f"{low}–{high} range.",
                f"Votre débit moyen, {wpm_fr} mots par minute, est dans la zone confortable "
                f"({low}–{high}).",
            )
        )
    elif v.pace == "fast":
        notes.append(
            _Note(
                "pace_fast",
                False,
                2.0 + (m.wpm - high) / 20,
                f"At {wpm_en} words per minute you speak faster than the comfortable "
                f"{low}–{high}; listeners may lose the thread.",
                f"À {wpm_fr} mots par minute, vous parlez plus vite que la zone confortable "
                f"({low}–{high}) : l'auditoire risque de décrocher.",
            )
        )
    else:
        notes.append(
            _Note(
                "pace_slow",
                False,
                2.0 + (low - m.wpm) / 20,
                f"At {wpm_en} words per minute you are slower than the comfortable "
                f"{low}–{high}; the energy may drop.",
                f"À {wpm_fr} mots par minute, vous êtes en dessous de la zone confortable "
                f"({low}–{high}) : l'énergie peut retomber.",
            )
        )
    if v.spread_range is not None:
        lo, hi = (_n(p, "en") for p in v.spread_range)
        if v.spread == "uneven":
            notes.append(
                _Note(
                    "pace_uneven",
                    False,
                    2.0,
                    f"Your pace swings between {lo} and {hi} words per minute from one "
                    f"{m.window_seconds:g}-second stretch to the next.",
                    f"Votre débit varie entre {lo} et {hi} mots par minute d'une tranche de "
                    f"{m.window_seconds:g} secondes à l'autre.",
                )
            )
        elif v.spread == "steady" and v.pace == "comfortable":
            # Steady is praise only at a comfortable pace: steadily too fast is too fast.
            notes.append(
                _Note(
                    "pace_steady",
                    True,
                    1.2,
                    f"Your pace stays controlled: most {m.window_seconds:g}-second stretches "
                    f"run between {lo} and {hi} words per minute.",
                    f"Votre débit reste maîtrisé : la plupart des tranches de "
                    f"{m.window_seconds:g} secondes sont entre {lo} et {hi} mots par minute.",
                )
            )
    return notes


def _filler_notes(m: Measures, v: Verdicts) -> list[_Note]:
    if v.fillers is None:
        return []
    rate_en, rate_fr = _n(m.fillers_per_100_words, "en", 1), _n(m.fillers_per_100_words, "fr", 1)
    top = ", ".join(f"« {f.filler} » ×{f.count}" for f in m.fillers[:3])
    if v.fillers == "few":
        return [
            _Note(
                "few_fillers",
                True,
                2.5,
                f"Few filler words: {m.filler_total} in {m.words} words ({rate_en} per 100).",
                f"Peu de mots de remplissage : {m.filler_total} sur {m.words} mots "
                f"({rate_fr} pour 100).",
            )
        ]
    weight = 1.2 if v.fillers == "some" else 2.0 + m.fillers_per_100_words / 2
    return [
        _Note(
            "fillers",
            False,
            weight,
            f"Filler words: {rate_en} per 100 words, mostly {top}.",
            f"Mots de remplissage : {rate_fr} pour 100 mots, surtout {top}.",
        )
    ]


def _pause_notes(m: Measures, v: Verdicts) -> list[_Note]:
    if v.pauses is None or m.duration_seconds is None:
        return []
    count = len(m.pauses)
    per_minute = count / (m.duration_seconds / 60)
    long = [p for p in m.pauses if p.seconds > 5]
    notes: list[_Note] = []
    if v.pauses == "none":
        notes.append(
            _Note(
                "no_pauses",
                False,
                1.5,
                "No silence longer than 1.5 seconds: the audience gets no time to absorb a point.",
                "Aucun silence de plus de 1,5 seconde : l'auditoire n'a pas le temps de "
                "digérer une idée.",
            )
        )
    elif v.pauses == "good":
        notes.append(
            _Note(
                "pauses",
                True,
                1.8,
                f"You leave {count} pauses longer than 1.5 seconds, about "
                f"{_n(per_minute, 'en', 1)} a minute: room to breathe and let ideas land.",
                f"Vous marquez {count} pauses de plus de 1,5 seconde, environ "
                f"{_n(per_minute, 'fr', 1)} par minute : de quoi respirer et laisser les "
                "idées se poser.",
            )
        )
    if v.pauses == "long":
        notes.append(
            _Note(
                "long_pauses",
                False,
                1.3,
                f"{len(long)} silences last more than 5 seconds (the longest "
                f"{_n(max(p.seconds for p in long), 'en', 1)} s): check whether they were "
                "chosen or lost moments.",
                f"{len(long)} silences durent plus de 5 secondes (le plus long "
                f"{_n(max(p.seconds for p in long), 'fr', 1)} s) : voulus ou trous de "
                "mémoire ?",
            )
        )
    return notes


def _repeat_notes(m: Measures, v: Verdicts) -> list[_Note]:
    notes: list[_Note] = []
    doubled = sum(r.count for r in m.repeated_words)
    if v.stumbles:
        example = m.repeated_words[0].text
        notes.append(
            _Note(
                "stumbles",
                False,
                1.5,
                f"{doubled} stumbles where a word comes twice in a row, such as “{example}”.",
                f"{doubled} hésitations où un mot est répété deux fois de suite, comme "
                f"« {example} ».",
            )
        )
    elif v.stumbles is False:
        notes.append(
            _Note(
                "no_stumbles",
                True,
                1.2,
                "Clean delivery: no word is doubled (“the the”) anywhere.",
                "Élocution nette : aucun mot doublé (« le le ») dans tout le texte.",
            )
        )
    heavy = [r for r in m.repeated_phrases if r.count >= 4]
    if heavy:
        notes.append(
            _Note(
                "phrases",
                False,
                1.4,
                f"You come back to “{heavy[0].text}” {heavy[0].count} times.",
                f"Vous revenez {heavy[0].count} fois à « {heavy[0].text} ».",
            )
        )
    return notes


def _sentence_notes(m: Measures, v: Verdicts) -> list[_Note]:
    if v.sentences is None or m.sentence_mean is None:
        return []
    mean_en, mean_fr = _n(m.sentence_mean, "en", 1), _n(m.sentence_mean, "fr", 1)
    long = m.long_sentences or 0
    if v.sentences == "long":
        return [
            _Note(
                "long_sentences",
                False,
                1.6,
                f"Long sentences: {mean_en} words on average, {long} over 30 words "
                f"(the longest {m.sentence_max}).",
                f"Phrases longues : {mean_fr} mots en moyenne, {long} de plus de 30 mots "
                f"(la plus longue en compte {m.sentence_max}).",
            )
        ]
    if v.sentences == "short":
        return [
            _Note(
                "short_sentences",
                True,
                1.8,
                f"Sentences are easy to follow: {mean_en} words on average.",
                f"Des phrases faciles à suivre : {mean_fr} mots en moyenne.",
            )
        ]
    return []


def _speaker_notes(m: Measures, v: Verdicts) -> list[_Note]:
    real = [s for s in m.speakers if s.speaker != UNMARKED]
    if v.balance is None:
        return []
    top = real[0]
    share = _n(top.word_share * 100, "en")
    notes: list[_Note] = []
    if v.balance == "monologue":
        notes.append(
            _Note(
                "monologue",
                False,
                1.5,
                f"{top.speaker} says {share}% of the words: the exchange is mostly one voice.",
                f"{top.speaker} prononce {share} % des mots : l'échange est surtout un monologue.",
            )
        )
    elif v.balance == "balanced":
        notes.append(
            _Note(
                "balanced",
                True,
                1.3,
                f"A balanced exchange: the most talkative speaker, {top.speaker}, says "
                f"{share}% of the words.",
                f"Un échange équilibré : {top.speaker}, qui parle le plus, prononce {share} % "
                "des mots.",
            )
        )
    longest = m.longest_monologue
    if v.long_turn and longest and longest.seconds:
        minutes = _n(longest.seconds / 60, "en", 1)
        notes.append(
            _Note(
                "long_turn",
                False,
                1.4,
                f"{longest.speaker} keeps the floor for {minutes} minutes in one go.",
                f"{longest.speaker} garde la parole {_n(longest.seconds / 60, 'fr', 1)} minutes "
                "d'affilée.",
            )
        )
    return notes


def rules_feedback(m: Measures) -> str:
    """The offline template: strengths and weaknesses, each from the figures' one verdict."""
    v = classify(m)
    notes = [
        *_pace_notes(m, v), *_filler_notes(m, v), *_pause_notes(m, v), *_repeat_notes(m, v),
        *_sentence_notes(m, v), *_speaker_notes(m, v),
    ]  # fmt: skip
    lang = m.language
    strengths = sorted((n for n in notes if n.strength), key=lambda n: -n.weight)[:3]
    weaknesses = sorted((n for n in notes if not n.strength), key=lambda n: -n.weight)[:3]
    good, work, exercise, few, none_else, note = HEADINGS[lang]
    lines = [f"**{good}**", ""]
    lines += [f"- {n.fr if lang == 'fr' else n.en}" for n in strengths]
    if len(strengths) < 3:
        lines.append(f"- {few.format(n=len(strengths))}")
    lines += ["", f"**{work}**", ""]
    lines += [f"- {n.fr if lang == 'fr' else n.en}" for n in weaknesses]
    if len(weaknesses) < 3:
        lines.append(f"- {none_else}")
    key = ALIASES.get(weaknesses[0].key, weaknesses[0].key) if weaknesses else "default"
    en, fr = EXERCISES.get(key, EXERCISES["default"])
    target = round(sum(m.comfortable_wpm) / 2)
    lines += ["", f"**{exercise}**", "", (fr if lang == "fr" else en).format(target=target)]
    lines += ["", note]
    return "\n".join(lines)


async def write_feedback(ctx: WorkflowContext, m: Measures, excerpt: str) -> Feedback:
    """The model's feedback, or the rules' template when the model is offline."""
    material = f"{figures_markdown(m)}\n\nExcerpt:\n{excerpt[:3000]}"
    written = await ctx.write(INSTRUCTIONS[m.language], material, fallback=rules_feedback(m))
    return Feedback(text=written.text, by=written.by)
