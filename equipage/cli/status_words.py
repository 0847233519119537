"""What ``equipage status`` and the spend table say, in English and in French.

The founder reads them as they read the crew's answers: in the company's first language
(``company.profile.languages``). Ids, role names and what was written elsewhere (an error,
a question) are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from equipage.language import pick

__all__ = ["StatusWords", "status_words"]


@dataclass(frozen=True)
class StatusWords:
    crew_of: str  # {company}
    columns: tuple[str, str, str, str]  # inbox, entries, pending, not yet read
    workers: str  # {count} {names}
    loops_up: str  # {count} {processes}
    loops_down: str
    loop_line: str  # {state} {since} {restarts} {error}
    sent: str  # {count}
    dead: str  # {count}
    dead_line: str  # {attempts} {error}
    workflows: str
    waiting: str  # {count}
    recent: str
    spend: str  # {currency}
    spend_columns: tuple[str, str, str, str]  # role, today, daily limit, this month
    month_total: str  # {spent} {limit} {currency}
    states: dict[str, str] = field(default_factory=dict)  # a loop's state
    steps: dict[str, str] = field(default_factory=dict)  # an event's type


EN = StatusWords(
    crew_of="Crew of {company}",
    columns=("inbox", "entries", "pending", "not yet read"),
    workers="workers alive: {count} {names}",
    loops_up="loops: {count} up in {processes} process(es)",
    loops_down="loops down or restarted:",
    loop_line="{state} since {since}, {restarts} restart(s); last error: {error}",
    sent="messages sent to people: {count}",
    dead="dead letters: {count}",
    dead_line="after {attempts} attempts: {error}",
    workflows="workflows:",
    waiting="waiting on you: {count}",
    recent="recent steps: ",
    spend="Spend ({currency})",
    spend_columns=("role", "today", "daily limit", "this month"),
    month_total="company this month: {spent} of {limit} {currency}",
)

FR = StatusWords(
    crew_of="Équipage de {company}",
    columns=("boîte de réception", "entrées", "en cours", "pas encore lues"),
    workers="processus au travail : {count} {names}",
    loops_up="boucles : {count} en marche dans {processes} processus",
    loops_down="boucles arrêtées ou redémarrées :",
    loop_line="{state} depuis {since}, {restarts} redémarrage(s) ; dernière erreur : {error}",
    sent="messages envoyés aux personnes : {count}",
    dead="lettres mortes : {count}",
    dead_line="après {attempts} tentatives : {error}",
    workflows="workflows en cours :",
    waiting="en attente de vous : {count}",
    recent="étapes récentes : ",
    spend="Dépenses ({currency})",
    spend_columns=("rôle", "aujourd'hui", "limite par jour", "ce mois-ci"),
    month_total="entreprise ce mois-ci : {spent} sur {limit} {currency}",
    states={"up": "en marche", "down": "arrêtée", "stopped": "stoppée"},
    steps={
        "published": "publiés",
        "handled": "traités",
        "duplicate": "doublons",
        "failed": "échecs",
        "dead": "lettres mortes",
        "reclaimed": "repris",
        "tool": "outils",
        "model": "appels au modèle",
        "stopped": "arrêtés",
        "progress": "avancement",
    },
)


def status_words(language: str | None) -> StatusWords:
    """The words for ``language`` (French or English, as ``equipage.language.pick`` says)."""
    return pick(language, EN, FR)
