"""What the gateway and the adapters say themselves, in English and in French.

The crew's replies are written by the agents; the words added around them (command
answers, a question's hint and buttons, the mark of an answered question) come from
one ``Wording`` table per language. ``wording`` picks it by ISO 639-1 code and falls
back to English for a language without a table. An outgoing message whose added words
must follow a language is a ``Worded``; ``words_for`` reads its table.
"""

from __future__ import annotations

from dataclasses import dataclass

from equipage.chat import Outgoing

__all__ = ["EN", "FR", "Worded", "Wording", "wording", "words_for"]


@dataclass(frozen=True)
class Wording:
    """One language's words; ``{placeholders}`` are filled with ``str.format``."""

    help: str
    owner_only: str  # {command}
    only_owner_answers: str
    which_question: str  # {verb}
    no_open_question: str  # {id}
    approved: str
    rejected: str
    goes_on: str  # {verdict} {id}
    stranger_local: str
    stranger: str  # {code}
    stranger_crowded: str
    pending: str  # {listing}
    none: str
    paired: str  # {platform} {user} {member}
    paused: str
    resumed: str
    no_budget: str
    budget_month: str  # {spent} {limit} {currency}
    budget_role: str  # {role} {spent} {limit}
    decimal: str
    waiting: str  # {count}
    waiting_member: str  # {count}: the questions of a member's own conversations
    waiting_one: str  # {id} {role} {text}
    no_live: str
    asked_live: str  # {session} {about}
    asked_about: str  # {focus}
    ending_live: str  # {session}
    unread: str  # {name} {error}
    unread_after: str
    answer: str  # the hint's label, punctuated: "Answer:"
    reason: str  # the hint's placeholder for a rejection's reason
    either: str  # {approve} {reject}: the hint's two commands
    choose: str  # {id}: a WhatsApp question too long to sit above its buttons
    buttons: tuple[str, str]  # approve, reject
    budget_buttons: tuple[str, str]  # resume, stop
    marks: tuple[str, str]  # {by}: approved, rejected
    budget_marks: tuple[str, str]  # {by}: resumed, stopped
    web_link: str  # {address} {link}: /web, a one-time login link to the web console
    web_off: str  # /web when no process serves the console

    def labels(self, topic: str) -> tuple[str, str]:
        """The two buttons of a question on ``topic``: yes, then no."""
        return self.budget_buttons if topic == "budget" else self.buttons

    def mark(self, topic: str, approved: bool, by: str) -> str:
        """The line that marks a question answered: "✓ Approved by Camille"."""
        yes, no = self.budget_marks if topic == "budget" else self.marks
        return (yes if approved else no).format(by=by)

    def hint(self, question: str, code: str = "{}") -> str:
        """How to answer a question by typing; ``code`` wraps each command (Markdown)."""
        approve = code.format(f"/approve {question}")
        reject = code.format(f"/reject {question} [{self.reason}]")
        return self.either.format(approve=approve, reject=reject)

    def number(self, value: float, spec: str) -> str:
        """``value`` formatted with ``spec``, with this language's decimal mark."""
        return format(value, spec).replace(".", self.decimal)


EN = Wording(
    help=(
        "Talk to the crew in plain words. Commands:\n"
        "/approve ID [note] - approve what the crew asked\n"
        "/reject ID [reason] - refuse it\n"
        "/show ID - the whole of what a question asks you to approve\n"
        "/status - what the crew is doing\n"
        "/budget - what it spent, against the limits\n"
        "/web - a one-time link to the web console\n"
        "/stop - pause the crew (nothing new is handled); /resume - go on\n"
        "/pair CODE [member] - let someone who asked to join reach the crew (owner)\n"
        "/suggest [focus] - during a live call: a suggestion now (focus: prix, pricing...)\n"
        "/endcall - end your live call's session\n"
        "/help - this list"
    ),
    owner_only="Only the owner of this crew can use {command}.",
    only_owner_answers="Only the owner of this crew can approve or reject.",
    which_question="Which question? Write {verb} ID; /status lists them.",
    no_open_question="No open question {id}; /status lists them.",
    approved="Approved",
    rejected="Rejected",
    goes_on="{verdict} {id}; the crew goes on.",
    stranger_local="You are not a member of this crew; ask its owner.",
    stranger=(
        "You are not a member of this crew yet. Ask its owner to approve your pairing "
        "code {code} (/pair {code}, or: equipage pair approve {code}). Nothing you send "
        "reaches the crew until then."
    ),
    stranger_crowded=(
        "You are not a member of this crew, and too many requests to join it are waiting. "
        "Ask its owner directly, or write again in an hour."
    ),
    pending="Pending pairing codes: {listing}. Write /pair CODE [member].",
    none="none",
    paired="{platform} user {user} is now member {member}.",
    paused="The crew is paused: nothing new is handled until /resume. Work in hand ends.",
    resumed="The crew goes on.",
    no_budget="No budget is kept in this process.",
    budget_month="This month: {spent} of {limit} {currency}.",
    budget_role="- {role}: {spent} of {limit} today",
    decimal=".",
    waiting="{count} question(s) waiting for you.",
    waiting_member="{count} question(s) of your conversations wait for the owner.",
    waiting_one="- {id} ({role}): {text}",
    no_live="No live session is running; start one with equipage live or ask the crew.",
    asked_live="Asked live session {session} for a suggestion{about}.",
    asked_about=" about {focus}",
    ending_live="Live session {session} is ending.",
    unread="I could not read {name}: {error}",
    unread_after="Your message went to the crew all the same, without that content.",
    answer="Answer:",
    reason="reason",
    either="{approve} or {reject}",
    choose="Approve or reject question {id}?",
    buttons=("Approve", "Reject"),
    budget_buttons=("Resume", "Stop"),
    marks=("✓ Approved by {by}", "✗ Rejected by {by}"),
    budget_marks=("✓ Resumed by {by}", "✗ Stopped by {by}"),
    web_link=(
        "The web console is at {address}. Your login link, for you alone, works once "
        "within 15 minutes:\n{link}"
    ),
    web_off=(
        "No web console is served for this crew now; it starts with 'equipage up' "
        "('equipage farm up' for a farm's crews)."
    ),
)

FR = Wording(
    help=(
        "Parlez à l'équipage en langage courant. Commandes :\n"
        "/approve ID [note] (ou /approuver) - approuver ce que l'équipage demande\n"
        "/reject ID [raison] (ou /refuser) - le refuser\n"
        "/show ID - tout ce qu'une question vous demande d'approuver\n"
        "/status - ce que fait l'équipage\n"
        "/budget - ce qu'il a dépensé, au regard des plafonds\n"
        "/web - un lien à usage unique vers la console web\n"
        "/stop - mettre l'équipage en pause (rien de nouveau n'est traité) ; "
        "/resume - reprendre\n"
        "/pair CODE [membre] - laisser entrer quelqu'un qui a demandé à rejoindre "
        "l'équipage (propriétaire)\n"
        "/suggest [sujet] - pendant un appel en direct : une suggestion maintenant "
        "(sujet : prix, délais...)\n"
        "/endcall - terminer la session de votre appel en direct\n"
        "/help - cette liste"
    ),
    owner_only="Seul le propriétaire de cet équipage peut utiliser {command}.",
    only_owner_answers="Seul le propriétaire de cet équipage peut approuver ou refuser.",
    which_question="Quelle question ? Écrivez {verb} ID ; /status les liste.",
    no_open_question="Aucune question {id} en attente ; /status les liste.",
    approved="Approuvé",
    rejected="Refusé",
    goes_on="{verdict} {id} ; l'équipage continue.",
    stranger_local="Vous n'êtes pas membre de cet équipage ; demandez à son propriétaire.",
    stranger=(
        "Vous n'êtes pas encore membre de cet équipage. Demandez à son propriétaire "
        "d'approuver votre code d'appairage {code} (/pair {code}, ou : equipage pair "
        "approve {code}). Rien de ce que vous envoyez n'atteint l'équipage d'ici là."
    ),
    stranger_crowded=(
        "Vous n'êtes pas membre de cet équipage, et trop de demandes pour le rejoindre sont "
        "en attente. Contactez directement son propriétaire, ou réécrivez dans une heure."
    ),
    pending="Codes d'appairage en attente : {listing}. Écrivez /pair CODE [membre].",
    none="aucun",
    paired="L'utilisateur {platform} {user} est désormais le membre {member}.",
    paused=(
        "L'équipage est en pause : rien de nouveau n'est traité avant /resume. "
        "Le travail en cours se termine."
    ),
    resumed="L'équipage continue.",
    no_budget="Aucun budget n'est suivi dans ce processus.",
    budget_month="Ce mois-ci : {spent} sur {limit} {currency}.",
    budget_role="- {role} : {spent} sur {limit} aujourd'hui",
    decimal=",",
    waiting="{count} question(s) en attente de votre réponse.",
    waiting_member="{count} question(s) de vos conversations en attente du propriétaire.",
    waiting_one="- {id} ({role}) : {text}",
    no_live=(
        "Aucune session en direct n'est en cours ; lancez-en une avec equipage live "
        "ou demandez-le à l'équipage."
    ),
    asked_live="Suggestion demandée à la session en direct {session}{about}.",
    asked_about=" sur {focus}",
    ending_live="La session en direct {session} se termine.",
    unread="Je n'ai pas pu lire {name} : {error}",
    unread_after="Votre message est tout de même parti à l'équipage, sans ce contenu.",
    answer="Répondre :",
    reason="raison",
    either="{approve} ou {reject}",
    choose="Approuver ou refuser la question {id} ?",
    buttons=("Approuver", "Refuser"),
    budget_buttons=("Reprendre", "Arrêter"),
    marks=("✓ Approuvé par {by}", "✗ Refusé par {by}"),
    budget_marks=("✓ Repris par {by}", "✗ Arrêté par {by}"),
    web_link=(
        "La console web est à l'adresse {address}. Votre lien de connexion, pour vous seul, "
        "sert une fois dans les 15 minutes :\n{link}"
    ),
    web_off=(
        "Aucune console web n'est servie pour cet équipage ; elle démarre avec « equipage up » "
        "(« equipage farm up » pour les équipages d'une ferme)."
    ),
)

_TABLES = {"en": EN, "fr": FR}


def wording(language: str | None) -> Wording:
    """The table of ``language`` (``fr``, ``en``...); English when there is none for it."""
    return _TABLES.get((language or "en").lower(), EN)


class Worded(Outgoing):
    """An Outgoing whose added words (a question's hint and buttons) follow ``language``."""

    language: str = "en"


def words_for(message: Outgoing) -> Wording:
    """The table for what an adapter adds to ``message``: English unless it is ``Worded``."""
    return wording(message.language if isinstance(message, Worded) else None)
