"""What the farm's gateway says itself, in English and in French.

The crews' own gateways word their answers with ``channels.wording``; these are the
farm's: routing a person to a crew, strangers, ``/crew``, the farm's ``/pair`` and a
crew's quota of messages per minute.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FARM_EN", "FARM_FR", "FarmWording", "farm_wording"]


@dataclass(frozen=True)
class FarmWording:
    """One language's words of the farm; ``{placeholders}`` are filled with ``str.format``."""

    choose: str  # {crews}
    paused: str  # {crew}
    deleting: str  # {crew}
    stranger: str  # {code}
    stranger_crowded: str
    stranger_local: str
    admin_only: str  # {verb}
    admin_help: str
    usage: str
    yours: str  # {crews} {current}
    no_pick: str
    none_yours: str
    using: str  # {crew}
    not_yours: str  # {crew} {crews}
    created: str  # {crew} {owner}
    listing: str  # {crews}
    listed: str  # {crew} {state} {owner}
    no_crews: str
    held: str  # {crew}
    served: str  # {crew}
    deleted: str  # {crew} {removed} {archive}
    deleted_again: str  # {crew} {removed}
    exported: str  # {crew} {archive} {keys}
    no_such_crew: str  # {crew}
    no_code: str  # {code}
    paired: str  # {platform} {user} {crew} {member}
    pending: str  # {listing}
    none: str
    not_member: str  # {member} {members}
    refused: str  # {error}
    states: dict[str, str]
    too_many: str  # {crew} {limit} {seconds}
    quota_hit: str  # {crew} {limit}: to the owner, followed by raise_hint
    raise_hint: str  # {crew} {raise_to}


FARM_EN = FarmWording(
    choose=(
        "You belong to several crews: {crews}. Write /crew use NAME to pick the one your "
        "messages go to; nothing was sent to a crew."
    ),
    paused=(
        "Your crew {crew} is paused: this message was not kept and reached no one. Send it "
        "again once the crew is resumed; what the crew already holds is safe."
    ),
    deleting="Your crew {crew} is being deleted: this message was not kept.",
    stranger=(
        "You are not a member of any crew here yet. Give your pairing code {code} to the "
        "owner of the crew you want to join: they write /pair {code} in their crew's chat. "
        "Nothing you send reaches a crew until then."
    ),
    stranger_crowded=(
        "You are not a member of any crew here, and too many requests to join are waiting. "
        "Ask a crew's owner directly, or write again in an hour."
    ),
    stranger_local="You are not a member of any crew here; ask the farm's admin.",
    admin_only="Only the farm's admins can use /crew {verb}.",
    admin_help=(
        "You run this farm but belong to no crew. Commands:\n"
        "/crew new NAME PLATFORM:ID [fr|en] [template] - a crew for that person\n"
        "/crew list - every crew\n"
        "/crew pause NAME, /crew resume NAME\n"
        "/crew delete NAME - export it to exports/, then delete it\n"
        "/crew export NAME - its archive in exports/, the crew stays as it is\n"
        "/crew pair [CODE NAME] - let a stranger into crew NAME (alone: the codes waiting)"
    ),
    usage=(
        "/crew - your crews and the one in use\n"
        "/crew use NAME - send your messages to crew NAME (one of yours)\n"
        "Farm admins: /crew new, list, pause, resume, delete, export, pair"
    ),
    yours="Your crews: {crews}. In use: {current}.",
    no_pick="none yet (/crew use NAME)",
    none_yours="You belong to no crew yet.",
    using="From now on your messages go to crew {crew}.",
    not_yours="You do not belong to a crew named {crew}. Your crews: {crews}.",
    created="Crew {crew} is created, owned by {owner}; a welcome message is on its way to them.",
    listing="Crews:\n{crews}",
    listed="- {crew} ({state}, {owner})",
    no_crews="The farm has no crew yet; /crew new NAME PLATFORM:ID creates one.",
    held=(
        "Crew {crew} is paused: it keeps everything, and what its people send meanwhile is "
        "not kept. /crew resume {crew} serves it again."
    ),
    served="Crew {crew} is active again.",
    deleted=(
        "Crew {crew} is deleted ({removed} keys removed). Its archive: {archive}; "
        "equipage crew import brings it back."
    ),
    deleted_again="Crew {crew} is deleted ({removed} keys removed); it was exported before.",
    exported=(
        "Crew {crew} is exported ({keys} keys) to {archive} in the farm's folder; "
        "equipage crew import brings it into another farm. The crew itself is unchanged."
    ),
    no_such_crew="No crew is named {crew}; /crew list shows them.",
    no_code="No pending pairing code {code}; codes expire after an hour.",
    paired="{platform} user {user} joins crew {crew} as member {member}.",
    pending="Pending pairing codes: {listing}. Write /crew pair CODE NAME.",
    none="none",
    not_member="No member {member} in this crew; members are {members}.",
    refused="Refused: {error}",
    states={"active": "active", "paused": "paused", "deleting": "being deleted"},
    too_many=(
        "Crew {crew} takes at most {limit} messages a minute, and this minute's are used "
        "up: this message was not kept and reached no one. Send it again in {seconds} seconds."
    ),
    quota_hit=(
        "Your crew {crew} reached its limit of {limit} messages a minute: what its people "
        "send past it is refused and not kept until the minute ends (they are told so)."
    ),
    raise_hint=(
        "To raise the limit, a farm admin runs: "
        "equipage crew quota {crew} --messages-per-minute {raise_to}"
    ),
)

FARM_FR = FarmWording(
    choose=(
        "Vous faites partie de plusieurs équipages : {crews}. Écrivez /crew use NOM pour "
        "choisir celui qui reçoit vos messages ; rien n'a été envoyé à un équipage."
    ),
    paused=(
        "Votre équipage {crew} est en pause : ce message n'a pas été gardé et n'est parvenu "
        "à personne. Renvoyez-le quand l'équipage aura repris ; ce qu'il détient déjà est "
        "en sécurité."
    ),
    deleting="Votre équipage {crew} est en cours de suppression : ce message n'a pas été gardé.",
    stranger=(
        "Vous n'êtes encore membre d'aucun équipage ici. Donnez votre code d'appairage "
        "{code} au propriétaire de l'équipage que vous voulez rejoindre : il écrit "
        "/pair {code} dans la discussion de son équipage. Rien de ce que vous envoyez "
        "n'atteint un équipage d'ici là."
    ),
    stranger_crowded=(
        "Vous n'êtes membre d'aucun équipage ici, et trop de demandes sont en attente. "
        "Contactez directement le propriétaire d'un équipage, ou réécrivez dans une heure."
    ),
    stranger_local=(
        "Vous n'êtes membre d'aucun équipage ici ; demandez à l'administrateur de la ferme."
    ),
    admin_only="Seuls les administrateurs de la ferme peuvent utiliser /crew {verb}.",
    admin_help=(
        "Vous administrez cette ferme sans faire partie d'un équipage. Commandes :\n"
        "/crew new NOM PLATEFORME:ID [fr|en] [modèle] - un équipage pour cette personne\n"
        "/crew list - tous les équipages\n"
        "/crew pause NOM, /crew resume NOM\n"
        "/crew delete NOM - l'exporter dans exports/, puis le supprimer\n"
        "/crew export NOM - son archive dans exports/, l'équipage reste tel quel\n"
        "/crew pair [CODE NOM] - faire entrer quelqu'un dans l'équipage NOM "
        "(seul : les codes en attente)"
    ),
    usage=(
        "/crew - vos équipages et celui en usage\n"
        "/crew use NOM - envoyer vos messages à l'équipage NOM (l'un des vôtres)\n"
        "Administrateurs de la ferme : /crew new, list, pause, resume, delete, export, pair"
    ),
    yours="Vos équipages : {crews}. En usage : {current}.",
    no_pick="aucun pour l'instant (/crew use NOM)",
    none_yours="Vous ne faites encore partie d'aucun équipage.",
    using="Désormais, vos messages vont à l'équipage {crew}.",
    not_yours="Vous ne faites pas partie d'un équipage nommé {crew}. Vos équipages : {crews}.",
    created=(
        "L'équipage {crew} est créé, avec {owner} pour propriétaire ; un message de "
        "bienvenue lui est envoyé."
    ),
    listing="Équipages :\n{crews}",
    listed="- {crew} ({state}, {owner})",
    no_crews="La ferme n'a encore aucun équipage ; /crew new NOM PLATEFORME:ID en crée un.",
    held=(
        "L'équipage {crew} est en pause : il garde tout, et ce que ses membres envoient "
        "d'ici là n'est pas gardé. /crew resume {crew} le relance."
    ),
    served="L'équipage {crew} est de nouveau actif.",
    deleted=(
        "L'équipage {crew} est supprimé ({removed} clés retirées). Son archive : {archive} ; "
        "equipage crew import le fait revenir."
    ),
    deleted_again=(
        "L'équipage {crew} est supprimé ({removed} clés retirées) ; il avait été exporté avant."
    ),
    exported=(
        "L'équipage {crew} est exporté ({keys} clés) dans {archive}, dans le dossier de la "
        "ferme ; equipage crew import le fait entrer dans une autre ferme. L'équipage "
        "lui-même reste inchangé."
    ),
    no_such_crew="Aucun équipage ne s'appelle {crew} ; /crew list les montre.",
    no_code="Aucun code d'appairage {code} en attente ; les codes expirent au bout d'une heure.",
    paired="L'utilisateur {platform} {user} rejoint l'équipage {crew} comme membre {member}.",
    pending="Codes d'appairage en attente : {listing}. Écrivez /crew pair CODE NOM.",
    none="aucun",
    not_member="Aucun membre {member} dans cet équipage ; les membres sont {members}.",
    refused="Refusé : {error}",
    states={"active": "actif", "paused": "en pause", "deleting": "en cours de suppression"},
    too_many=(
        "L'équipage {crew} accepte au plus {limit} messages par minute, et ceux de cette "
        "minute sont épuisés : ce message n'a pas été gardé et n'est parvenu à personne. "
        "Renvoyez-le dans {seconds} secondes."
    ),
    quota_hit=(
        "Votre équipage {crew} a atteint sa limite de {limit} messages par minute : ce que "
        "ses membres envoient au-delà est refusé et n'est pas gardé jusqu'à la fin de la "
        "minute (ils en sont avertis)."
    ),
    raise_hint=(
        "Pour relever la limite, un administrateur de la ferme lance : "
        "equipage crew quota {crew} --messages-per-minute {raise_to}"
    ),
)

_TABLES = {"en": FARM_EN, "fr": FARM_FR}


def farm_wording(language: str | None) -> FarmWording:
    """The farm's table for ``language``; English when there is none for it."""
    return _TABLES.get((language or "en").lower(), FARM_EN)
