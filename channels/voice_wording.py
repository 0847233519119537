"""What the gateway says about voice notes, in English and in French (``channels.hearing``).

The founder sees what was heard before the crew acts on it, so a mis-hearing is caught;
a note that could not be heard is named with why, and what to do. ``voice_wording``
picks the table by ISO 639-1 code, English for a language without one, as
``channels.wording`` does for the gateway's other words.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VOICE_EN", "VOICE_FR", "VoiceWording", "voice_wording"]


@dataclass(frozen=True)
class VoiceWording:
    """One language's words about voice notes; ``{placeholders}`` are ``str.format``'s."""

    heard: str  # {text}: what the person's own note said
    heard_forwarded: str  # {text}: what a note they forwarded, or a sound file, said
    silent: str  # {name}: a note without words
    unheard: str  # {name} {error}
    no_speech: str  # no transcriber in company.yaml: what to add
    over_budget: str  # {name} {who} {spent} {limit} {currency} {fix}
    fix_role: str  # {role}: how to raise a role's daily budget
    fix_month: str  # how to raise the company's monthly budget
    company: str  # whose budget, when it is the company's monthly one
    after: str  # once some note was not heard: the message went on without it
    no_download: str  # the platform gives no way to fetch the note
    download_failed: str
    too_slow: str
    too_many: str  # {count}: notes heard per message


VOICE_EN = VoiceWording(
    heard="🎙 I heard: {text}",
    heard_forwarded="🎙 I heard, in what you forwarded: {text}",
    silent="🎙 I heard no words in {name}. Record it again closer to the phone, or type it.",
    unheard="🎙 I could not listen to {name}: {error}",
    no_speech=(
        "🎙 I cannot listen to voice notes yet: add a speech section to company.yaml, e.g. "
        "`speech: {model: openai:whisper-1}` with OPENAI_API_KEY set, or a server of your "
        "own with `base_url: http://localhost:8000/v1` (faster-whisper-server, whisper.cpp). "
        "Meanwhile, type your message."
    ),
    over_budget=(
        "🎙 I did not listen to {name}: the budget of {who} is reached ({spent} of {limit} "
        "{currency} spent). Raise it with {fix}, or type your message."
    ),
    fix_role="'equipage budget --role {role} --daily <amount>'",
    fix_month="'equipage budget --monthly <amount>'",
    company="the company",
    after="Your message went to the crew without that voice note.",
    no_download="this platform does not let me download it.",
    download_failed="downloading it from the platform failed. Send it again in a moment.",
    too_slow="it took too long to hear. Send a shorter note, or type it.",
    too_many="I listen to at most {count} notes of one message. Send the others apart.",
)

VOICE_FR = VoiceWording(
    heard="🎙 J'ai entendu : {text}",
    heard_forwarded="🎙 J'ai entendu, dans ce que vous avez transféré : {text}",
    silent=(
        "🎙 Je n'ai entendu aucun mot dans {name}. Réenregistrez-le plus près du téléphone, "
        "ou écrivez-le."
    ),
    unheard="🎙 Je n'ai pas pu écouter {name} : {error}",
    no_speech=(
        "🎙 Je ne sais pas encore écouter les messages vocaux : ajoutez une section speech à "
        "company.yaml, par exemple `speech: {model: openai:whisper-1}` avec OPENAI_API_KEY, "
        "ou votre propre serveur avec `base_url: http://localhost:8000/v1` "
        "(faster-whisper-server, whisper.cpp). En attendant, écrivez votre message."
    ),
    over_budget=(
        "🎙 Je n'ai pas écouté {name} : le budget de {who} est atteint ({spent} {currency} "
        "dépensés sur {limit}). Relevez-le avec {fix}, ou écrivez votre message."
    ),
    fix_role="« equipage budget --role {role} --daily <montant> »",
    fix_month="« equipage budget --monthly <montant> »",
    company="l'entreprise",
    after="Votre message est parti à l'équipage sans ce message vocal.",
    no_download="cette plateforme ne me permet pas de le télécharger.",
    download_failed="le télécharger depuis la plateforme a échoué. Renvoyez-le dans un instant.",
    too_slow="l'écouter a pris trop de temps. Envoyez une note plus courte, ou écrivez-la.",
    too_many="j'écoute au plus {count} notes par message. Envoyez les autres à part.",
)

_TABLES = {"en": VOICE_EN, "fr": VOICE_FR}


def voice_wording(language: str | None) -> VoiceWording:
    """The table of ``language`` (``fr``, ``en``...); English when there is none for it."""
    return _TABLES.get((language or "en").lower(), VOICE_EN)
