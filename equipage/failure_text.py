"""What the crew tells a person when their request failed, in English and in French.

The bus says it itself (no agent is left to say it): once when a request first fails and
is being retried, and once when it is set aside in the dead letters. Error texts come from
the providers, which already say what to check; values of secret environment variables
are blanked anyway, since an error can quote a URL or a header. The runner says the rest:
an answer to a question no longer open, a thread stopped at the hop limit, a workflow that
refused its input (an agent that started it reads the English: it is a tool's result).
"""

from __future__ import annotations

from dataclasses import dataclass

from equipage.config import redact_secrets
from equipage.errors import HopLimitExceeded
from equipage.language import pick, said
from equipage.refusal_text import refusal_text

__all__ = ["failure_text", "no_longer_open", "too_many_hops", "workflow_failed"]

_SHOWN = 300  # characters of the error a person reads; the dead letter keeps it whole


@dataclass(frozen=True)
class _Words:
    retrying: str  # {what} {error} {left}
    dead: str  # {what} {attempts} {error} {entry}
    what: str  # {kind} {to}
    internal: str  # an error not written for people: its details stay in the logs
    closed: str  # {id}
    refused: str  # {name} {problems}
    unusable: str  # {name} {reason}
    error: str  # {reason}: a refusal that says itself what is wrong


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
    closed="Question {id} is no longer open; nothing was changed.",
    refused="error: workflow {name} refused its input: {problems}",
    unusable="error: workflow {name} could not use its input: {reason}",
    error="error: {reason}",
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
    closed="La question {id} n'est plus ouverte ; rien n'a été changé.",
    refused="erreur : le workflow {name} a refusé son entrée : {problems}",
    unusable="erreur : le workflow {name} n'a pas pu utiliser son entrée : {reason}",
    error="erreur : {reason}",
)
_HOPS_FR = (
    "ce fil a fait {hops} allers-retours entre agents, au-delà de la limite de {limit} ; "
    "il a été arrêté. Reformulez la demande, ou relevez runtime.max_hops dans company.yaml."
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
    french = said(language) == "fr"
    words = _FR if french else _EN
    shown = redact_secrets(error.strip().splitlines()[0]) if error.strip() else words.internal
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    kind_text = _KINDS_FR.get(kind, kind) if french else f"a {kind}"
    what = words.what.format(kind=kind_text, to=to)
    if dead:
        return words.dead.format(what=what, attempts=attempts, error=shown, entry=entry)
    return words.retrying.format(what=to, error=shown, left=left)


def no_longer_open(question_id: str, language: str | None) -> str:
    """Said to a person who answers a question that was answered or withdrawn already."""
    return pick(language, _EN, _FR).closed.format(id=question_id)


def too_many_hops(hops: int, limit: int, language: str | None) -> str:
    """Said to a person whose thread was stopped at the hop limit."""
    english = str(HopLimitExceeded(hops, limit))
    return pick(language, english, _HOPS_FR.format(hops=hops, limit=limit))


def workflow_failed(
    name: str, language: str | None, *, problems: str = "", reason: str = "", refusal: str = ""
) -> str:
    """A workflow's answer when it refused its input (``problems``: what the input lacks;
    ``refusal``: a rule that holds it back) or could not use it (``reason``).

    ``language`` is None when an agent reads it: the ``error:`` form agents know.
    """
    words = pick(language, _EN, _FR)
    # The reasons are English (an agent reads them so); a person reads them in theirs.
    if refusal:
        return words.error.format(reason=refusal_text(refusal, language))
    if problems:
        return words.refused.format(name=name, problems=problems)
    return words.unusable.format(name=name, reason=refusal_text(reason, language))
