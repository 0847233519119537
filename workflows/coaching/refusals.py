"""Why a transcript was refused, said in French for a French reader.

The refusals (``InputRejected`` from the reading and measuring modules) are written in
English, for the logs and for an agent that started the run; the report a French founder
reads says them in French, sentence by sentence, from this table and the core's
(``equipage.refusal_text``). A sentence in neither is shown as written.
"""

from __future__ import annotations

from equipage.refusal_text import REFUSALS_FR, translated
from workflows.coaching.shape import FORMATS_READ
from workflows.coaching.transcript import TOO_LARGE

__all__ = ["refused_text"]

_FORMATS_FR = (
    "SubRip (.srt), WebVTT (.vtt), JSON horodaté au mot (segments[].words[] de Whisper, une "
    "liste de {{word, start, end}} ou les résultats de Deepgram) et le texte brut"
)

_TABLE = {
    **REFUSALS_FR,
    FORMATS_READ: _FORMATS_FR,
    TOO_LARGE: "envoyez un extrait plus court, ou l'export SRT/VTT plutôt que le JSON brut",
    "transcript": "la transcription",
    "transcript {name}": "la transcription {name}",
    "nothing was measured": "rien n'a été mesuré",
    "no transcript was given: send the file (SRT, WebVTT, word-timestamp JSON or text) with "
    "your request, or give 'path' or 'text'": (
        "aucune transcription n'a été donnée : envoyez le fichier (SRT, WebVTT, JSON horodaté "
        "au mot ou texte) avec votre demande, ou donnez 'path' ou 'text'"
    ),
    "{name} could not be read as text": "{name} n'a pas pu être lu comme du texte",
    "cannot read the transcript {path}: {error}.": (
        "impossible de lire la transcription {path} : {error}."
    ),
    "Check the path; I read {formats}.": "Vérifiez le chemin ; je lis {formats}.",
    "{name} is a binary file (audio, video or a document), not a transcript; send {formats}.": (
        "{name} est un fichier binaire (audio, vidéo ou document), pas une transcription ; "
        "envoyez {formats}."
    ),
    "the transcript is empty; send {formats}.": ("la transcription est vide ; envoyez {formats}."),
    "no speech found in this {format} transcript (no cue has any text); I read {formats}.": (
        "aucune parole dans cette transcription {format} (aucun segment n'a de texte) ; "
        "je lis {formats}."
    ),
    "this is not a readable {format} transcript: {why}.": (
        "ce n'est pas une transcription {format} lisible : {why}."
    ),
    "I read {formats}.": "Je lis {formats}.",
    "no speaker {speaker} in this transcript (speakers: {known}); leave 'speaker' empty to "
    "measure everyone.": (
        "aucun locuteur {speaker} dans cette transcription (locuteurs : {known}) ; laissez "
        "'speaker' vide pour mesurer tout le monde."
    ),
}


def refused_text(reason: str, language: str | None) -> str:
    """Why the transcript was refused, as a reader of ``language`` reads it."""
    return translated(reason, language, _TABLE)
