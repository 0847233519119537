"""What the crew tells a person when their request failed, in English and in French.

The bus says it itself (no agent is left to say it): once when a request first fails and
is being retried, and once when it is set aside in the dead letters. Error texts come from
the providers, which already say what to check; values of secret environment variables
are blanked anyway, since an error can quote a URL or a header.
"""

from __future__ import annotations

from dataclasses import dataclass

from equipage.config import redact_secrets

__all__ = ["failure_text"]

_SHOWN = 300  # characters of the error a person reads; the dead letter keeps it whole


@dataclass(frozen=True)
class _Words:
    retrying: str  # {what} {error} {left}
    dead: str  # {what} {attempts} {error} {entry}
    what: str  # {kind} {to}
    internal: str  # an error not written for people: its details stay in the logs


_EN = _Words(
    retrying=(
        "Your request hit a problem while {what} was handling it: {error}\n"
        "I will retry it by myself ({left} more attempt(s)) and tell you how it ends. "
        "If the cause is on your side (a key, a budget, a network), fix it now."
    ),
    dead=(
        "I could not handle {what} after {attempts} attempt(s): {error}\n"
        "It was set aside with its error (entry {entry}); 'equipage status' shows it. "
        "Nothing was lost: send the request again once the cause is fixed."
    ),
    what="{kind} for {to}",
    internal="an internal error (the logs and the dead letter keep its details).",
)
_FR = _Words(
    retrying=(
        "Votre demande a rencontré un problème pendant son traitement par {what} : {error}\n"
        "Je la relance moi-même (encore {left} tentative(s)) et je vous dirai comment "
        "cela se termine. Si la cause est de votre côté (une clé, un budget, le réseau), "
        "corrigez-la maintenant."
    ),
    dead=(
        "Je n'ai pas pu traiter {what} après {attempts} tentative(s) : {error}\n"
        "Elle a été mise de côté avec son erreur (entrée {entry}) ; 'equipage status' "
        "l'affiche. Rien n'est perdu : renvoyez la demande une fois la cause corrigée."
    ),
    what="{kind} pour {to}",
    internal="une erreur interne (les journaux et la lettre morte en gardent le détail).",
)
_KINDS_FR = {
    "task": "la demande",
    "result": "le résultat",
    "answer": "la réponse",
    "workflow": "l'exécution",
    "reply": "la réponse",
    "question": "la question",
}


def failure_text(
    language: str | None,
    *,
    kind: str,
    to: str,
    error: str,
    attempts: int,
    left: int = 0,
    entry: str = "",
    dead: bool,
) -> str:
    """The message for a failed request: being retried, or set aside (``dead``).

    ``error`` is an error written for people (an ``EquipageError``'s message says what to
    check); empty for any other, whose text may quote internals.
    """
    french = (language or "").lower().startswith("fr")
    words = _FR if french else _EN
    shown = redact_secrets(error.strip().splitlines()[0]) if error.strip() else words.internal
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    kind_text = _KINDS_FR.get(kind, kind) if french else f"a {kind}"
    what = words.what.format(kind=kind_text, to=to)
    if dead:
        return words.dead.format(what=what, attempts=attempts, error=shown, entry=entry)
    return words.retrying.format(what=to, error=shown, left=left)
