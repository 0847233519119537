"""The Markdown report: the figures, the chart's path and the feedback, in the talk's language.

``figures_markdown`` is also the material the model reads before writing its feedback,
so the model and the person see the same numbers.
"""

from __future__ import annotations

from equipage.language import number
from workflows.coaching.lexicon import Language
from workflows.coaching.measures import UNMARKED, Measures
from workflows.coaching.verdicts import classify

__all__ = ["clock", "figures_markdown", "render_report"]

_MAX_WINDOW_ROWS = 24

_T: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Speaking coach report",
        "source": "Source: {source} ({fmt}, {lang}), {words} words{duration}.",
        "focus": "Measured for one speaker: **{speaker}** (speaker balance covers everyone).",
        "pace": "Pace",
        "wpm": "Overall: **{wpm:.0f} words per minute**, {where} ({low}–{high} wpm, a rule "
        "of thumb, not a standard).",
        "comfortable": "within the comfortable range",
        "fast": "above the comfortable range",
        "slow": "below the comfortable range",
        "no_pace": "Pace: not available — this transcript has no timings (plain text), so "
        "words per minute, pace over time and pauses cannot be measured.",
        "spread": "Between {window:g}-second windows the pace goes from {lo:.0f} to {hi:.0f} wpm.",
        "window_head": "| from | to | words | wpm |\n|---|---|---|---|",
        "cue_timing": "Without word timestamps, each cue's words are spread evenly over the "
        "cue, so the pace per window is approximate.",
        "pauses": "Pauses over {threshold:g} s",
        "pause_count": "{n} pause(s), {total} s in all, measured between {between}.",
        "between_words": "words (word timestamps)",
        "between_cues": "cues only: silences inside a cue cannot be seen",
        "pause_head": "| at | seconds | after |\n|---|---|---|",
        "fillers": "Filler words",
        "filler_total": "{n} filler word(s), {rate} per 100 words.",
        "filler_none": "No filler word found.",
        "filler_head": "| filler | count | how counted |\n|---|---|---|",
        "strict": "every occurrence",
        "loose": "loosely (context rule)",
        "loose_note": "Words such as “like”, “so”, “well”, “genre”, “voilà”, “quoi” are also "
        "ordinary words: they are counted only where a simple rule says they are fillers, "
        "so those counts are approximate.",
        "repeats": "Repetitions",
        "doubled": "Doubled words: {items}.",
        "doubled_none": "No doubled word (“the the”).",
        "phrases": "Phrases said 3 times or more: {items}.",
        "phrases_none": "No phrase of 3–5 words repeated 3 times or more.",
        "sentences": "Sentences",
        "sentence_stats": "{n} sentences, {mean} words on average (median {median}, "
        "longest {max}), {long} over 30 words.",
        "no_punct": "Sentence length not measured: the transcript has (almost) no "
        "punctuation, as raw speech recognition output often does.",
        "speakers": "Speakers",
        "speaker_head": "| speaker | words | share of words | share of time | turns |"
        "\n|---|---|---|---|---|",
        "longest": "Longest turn: {speaker}, {words} words{seconds}.",
        "unmarked": "{unmarked}: cues without a speaker label.",
        "chart": "Pace chart: `{path}`",
        "no_chart": "Pace chart: not drawn — {why}",
        "feedback": "Feedback",
        "by": "_Written by {by}._",
        "na": "n/a",
    },
    "fr": {
        "title": "Rapport de coaching",
        "source": "Source : {source} ({fmt}, {lang}), {words} mots{duration}.",
        "focus": "Mesuré pour un seul intervenant : **{speaker}** (la répartition de la "
        "parole couvre tout le monde).",
        "pace": "Débit",
        "wpm": "Moyenne : **{wpm:.0f} mots par minute**, {where} ({low}–{high} mots/min, "
        "repère empirique et non norme).",
        "comfortable": "dans la zone confortable",
        "fast": "au-dessus de la zone confortable",
        "slow": "en dessous de la zone confortable",
        "no_pace": "Débit : non disponible — cette transcription n'a pas de minutage (texte "
        "brut) : mots par minute, débit au fil du temps et pauses ne peuvent pas être mesurés.",
        "spread": "D'une fenêtre de {window:g} secondes à l'autre, le débit va de {lo:.0f} à "
        "{hi:.0f} mots/min.",
        "window_head": "| de | à | mots | mots/min |\n|---|---|---|---|",
        "cue_timing": "Sans horodatage par mot, les mots de chaque sous-titre sont répartis "
        "uniformément sur sa durée : le débit par fenêtre est approximatif.",
        "pauses": "Pauses de plus de {threshold:g} s",
        "pause_count": "{n} pause(s), {total} s au total, mesurées entre {between}.",
        "between_words": "les mots (horodatage par mot)",
        "between_cues": "les sous-titres seulement : un silence à l'intérieur d'un "
        "sous-titre ne se voit pas",
        "pause_head": "| à | secondes | après |\n|---|---|---|",
        "fillers": "Mots de remplissage",
        "filler_total": "{n} mot(s) de remplissage, {rate} pour 100 mots.",
        "filler_none": "Aucun mot de remplissage trouvé.",
        "filler_head": "| mot | nombre | comptage |\n|---|---|---|",
        "strict": "chaque occurrence",
        "loose": "approximatif (règle de contexte)",
        "loose_note": "« genre », « voilà », « quoi », « bon », « like », « so »… sont aussi "
        "des mots ordinaires : ils ne sont comptés que là où une règle simple y voit du "
        "remplissage, ces chiffres sont donc approximatifs.",
        "repeats": "Répétitions",
        "doubled": "Mots doublés : {items}.",
        "doubled_none": "Aucun mot doublé (« le le »).",
        "phrases": "Expressions dites 3 fois ou plus : {items}.",
        "phrases_none": "Aucune expression de 3 à 5 mots répétée 3 fois ou plus.",
        "sentences": "Phrases",
        "sentence_stats": "{n} phrases, {mean} mots en moyenne (médiane {median}, "
        "la plus longue {max}), {long} de plus de 30 mots.",
        "no_punct": "Longueur des phrases non mesurée : la transcription n'a (presque) pas "
        "de ponctuation, comme souvent en sortie brute de reconnaissance vocale.",
        "speakers": "Intervenants",
        "speaker_head": "| intervenant | mots | part des mots | part du temps | tours |"
        "\n|---|---|---|---|---|",
        "longest": "Plus longue prise de parole : {speaker}, {words} mots{seconds}.",
        "unmarked": "{unmarked} : sous-titres sans nom d'intervenant.",
        "chart": "Graphique du débit : `{path}`",
        "no_chart": "Graphique du débit : non produit — {why}",
        "feedback": "Retour du coach",
        "by": "_Rédigé par {by}._",
        "na": "n.d.",
    },
}


def clock(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a time in seconds."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _pace(m: Measures, t: dict[str, str]) -> list[str]:
    lines = [f"## {t['pace']}", ""]
    if m.wpm is None:
        return [*lines, t["no_pace"]]
    low, high = m.comfortable_wpm
    # The same verdict as the feedback's, so the figures and the advice agree.
    where = t[classify(m).pace or "comfortable"]
    lines.append(t["wpm"].format(wpm=m.wpm, where=where, low=low, high=high))
    if m.windows:
        paces = [w.wpm for w in m.windows]
        lines += ["", t["spread"].format(window=m.window_seconds, lo=min(paces), hi=max(paces))]
        if len(m.windows) <= _MAX_WINDOW_ROWS:
            lines += ["", t["window_head"]]
            lines += [
                f"| {clock(w.start)} | {clock(w.end)} | {w.words} | {w.wpm:.0f} |"
                for w in m.windows
            ]
    if not m.word_timed:
        lines += ["", t["cue_timing"]]
    return lines


def _pauses(m: Measures, t: dict[str, str]) -> list[str]:
    if m.pauses_between == "none":
        return []
    lines = [f"## {t['pauses'].format(threshold=m.pause_threshold)}", ""]
    between = t["between_words"] if m.pauses_between == "words" else t["between_cues"]
    total = sum(p.seconds for p in m.pauses)
    total_said = number(total, ".1f", m.language)
    lines.append(t["pause_count"].format(n=len(m.pauses), total=total_said, between=between))
    longest = sorted(m.pauses, key=lambda p: -p.seconds)[:5]
    if longest:
        lines += ["", t["pause_head"]]
        lines += [
            f"| {clock(p.start)} | {number(p.seconds, '.1f', m.language)} | …{_cell(p.before)} |"
            for p in sorted(longest, key=lambda p: p.start)
        ]
    return lines


def _fillers(m: Measures, t: dict[str, str]) -> list[str]:
    lines = [f"## {t['fillers']}", ""]
    if not m.fillers:
        return [*lines, t["filler_none"]]
    rate = number(m.fillers_per_100_words, ".1f", m.language)
    lines.append(t["filler_total"].format(n=m.filler_total, rate=rate))
    lines += ["", t["filler_head"]]
    lines += [
        f"| {f.filler} | {f.count} | {t['loose'] if f.loose else t['strict']} |" for f in m.fillers
    ]
    if any(f.loose for f in m.fillers):
        lines += ["", t["loose_note"]]
    return lines


def _repeats(m: Measures, t: dict[str, str]) -> list[str]:
    lines = [f"## {t['repeats']}", ""]
    if m.repeated_words:
        items = ", ".join(f"“{r.text}” ×{r.count}" for r in m.repeated_words[:8])
        lines.append(t["doubled"].format(items=items))
    else:
        lines.append(t["doubled_none"])
    if m.repeated_phrases:
        items = ", ".join(f"“{r.text}” ×{r.count}" for r in m.repeated_phrases)
        lines.append(t["phrases"].format(items=items))
    else:
        lines.append(t["phrases_none"])
    return lines


def _sentences(m: Measures, t: dict[str, str]) -> list[str]:
    lines = [f"## {t['sentences']}", ""]
    if not m.punctuated or m.sentence_mean is None:
        return [*lines, t["no_punct"]]
    mean = number(m.sentence_mean, ".1f", m.language)
    median = number(m.sentence_median or 0, "g", m.language)
    stats = t["sentence_stats"].format(
        n=m.sentences, mean=mean, median=median, max=m.sentence_max, long=m.long_sentences
    )
    return [*lines, stats]


def _speakers(m: Measures, t: dict[str, str]) -> list[str]:
    if not m.speakers:
        return []
    lines = [f"## {t['speakers']}", "", t["speaker_head"]]
    for s in m.speakers:
        time = f"{s.time_share * 100:.0f} %" if s.time_share is not None else t["na"]
        lines.append(
            f"| {_cell(s.speaker)} | {s.words} | {s.word_share * 100:.0f} % | {time} | {s.turns} |"
        )
    turn = m.longest_monologue
    if turn:
        seconds = f", {clock(turn.seconds)} ({clock(turn.start)})" if turn.seconds else ""
        lines += ["", t["longest"].format(speaker=turn.speaker, words=turn.words, seconds=seconds)]
    if any(s.speaker == UNMARKED for s in m.speakers):
        lines.append(t["unmarked"].format(unmarked=UNMARKED))
    return lines


def figures_markdown(m: Measures) -> str:
    """Every measured figure as Markdown sections (what the model reads, too)."""
    t = _T[m.language]
    sections = [_pace(m, t), _pauses(m, t), _fillers(m, t), _repeats(m, t)]
    sections += [_sentences(m, t), _speakers(m, t)]
    return "\n\n".join("\n".join(s) for s in sections if s)


def render_report(
    *,
    source: str,
    measures: Measures,
    feedback: str,
    feedback_by: str,
    chart: str | None,
    chart_note: str | None,
) -> str:
    """The whole report for the person: header, chart, figures, feedback."""
    m = measures
    t = _T[m.language]
    duration = f", {clock(m.duration_seconds)}" if m.duration_seconds is not None else ""
    lang = {"fr": "français", "en": "English"}[m.language]
    fmt = "texte" if m.format == "text" and m.language == "fr" else m.format
    lines = [
        f"# {t['title']}",
        "",
        t["source"].format(source=source, fmt=fmt, lang=lang, words=m.words,
                           duration=duration),
    ]  # fmt: skip
    if m.focus:
        lines.append(t["focus"].format(speaker=m.focus))
    if chart:
        lines += ["", t["chart"].format(path=chart)]
    elif chart_note:
        lines += ["", t["no_chart"].format(why=chart_note)]
    lines += ["", figures_markdown(m), "", f"## {t['feedback']}", "", feedback.strip()]
    by = "template" if feedback_by == "template" else feedback_by
    if by != "template":
        lines += ["", t["by"].format(by=by)]
    return "\n".join(lines) + "\n"
