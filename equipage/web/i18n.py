"""The console's words in French and English: the core's, and each page module's ``WORDS``.

Templates read them as ``{{ t.key }}``; every key exists in both languages (a test says so).
"""

from __future__ import annotations

from functools import cache

from equipage.language import Language, said

__all__ = ["CORE", "words"]

#: The words of the layout and the login pages.
CORE: dict[str, dict[str, str]] = {
    "fr": {
        "console": "Console",
        "signed_in_as": "Connecté en tant que",
        "owner": "propriétaire",
        "member": "membre",
        "log_out": "Se déconnecter",
        "login_title": "Connexion",
        "login_how": (
            "Pour entrer, demandez un lien de connexion à l'équipage : écrivez /web dans le "
            "chat, ou lancez « equipage web login » sur la machine qui le sert."
        ),
        "link_used_title": "Lien expiré ou déjà utilisé",
        "link_used": (
            "Ce lien de connexion a expiré ou a déjà servi : chaque lien ne sert qu'une fois, "
            "pendant 15 minutes. Demandez-en un autre avec /web dans le chat."
        ),
        "forbidden_title": "Accès refusé",
        "forbidden": "Cette page n'est pas pour vous, ou le formulaire a expiré : rechargez.",
        "not_found_title": "Introuvable",
        "not_found": "Rien ici.",
        "live": "en direct",
        "enter_title": "Connexion en cours",
        "enter": "Un instant : la console s'ouvre.",
        "enter_button": "Entrer",
        "ev_published": "envoyé",
        "ev_handled": "traité",
        "ev_duplicate": "doublon",
        "ev_failed": "échec",
        "ev_dead": "abandonné",
        "ev_reclaimed": "repris",
        "ev_tool": "outil",
        "ev_model": "modèle",
        "ev_stopped": "arrêté",
        "ev_progress": "progression",
    },
    "en": {
        "console": "Console",
        "signed_in_as": "Signed in as",
        "owner": "owner",
        "member": "member",
        "log_out": "Log out",
        "login_title": "Log in",
        "login_how": (
            "To get in, ask the crew for a login link: write /web in the chat, or run "
            "'equipage web login' on the machine that serves it."
        ),
        "link_used_title": "Link expired or already used",
        "link_used": (
            "This login link has expired or was already used: each link works once, for "
            "15 minutes. Ask for another one with /web in the chat."
        ),
        "forbidden_title": "Forbidden",
        "forbidden": "This page is not for you, or the form has expired: reload it.",
        "not_found_title": "Not found",
        "not_found": "Nothing here.",
        "live": "live",
        "enter_title": "Logging in",
        "enter": "One moment: the console opens.",
        "enter_button": "Enter",
        "ev_published": "sent",
        "ev_handled": "handled",
        "ev_duplicate": "duplicate",
        "ev_failed": "failed",
        "ev_dead": "dead letter",
        "ev_reclaimed": "taken over",
        "ev_tool": "tool",
        "ev_model": "model",
        "ev_stopped": "stopped",
        "ev_progress": "progress",
    },
}


@cache
def words(language: Language | str) -> dict[str, str]:
    """Every word of the console in ``language`` (``fr`` or ``en``; anything else: English)."""
    from equipage.web.pages import loaded

    chosen = said(language)
    merged = dict(CORE[chosen])
    for module in loaded():
        merged.update(getattr(module, "WORDS", {}).get(chosen, {}))
    return merged


def tables() -> dict[Language, dict[str, str]]:
    """Both languages' words, for checking that each key exists in both."""
    return {"fr": words("fr"), "en": words("en")}
