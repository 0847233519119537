"""The inventory parsers' notes and refusals, said in French for a French report.

The parsers (``cai``, ``tfjson``) note what they saw in English, the language of the
generated Terraform comments too; a French plan shows the same notes in French, from this
table of the notes they write. A note not in the table is shown as written. Why an
inventory was refused (``InputRejected``, English in the logs) is said the same way, with
the core's table of refusals (``equipage.refusal_text``).
"""

from __future__ import annotations

import re

from equipage.refusal_text import REFUSALS_FR, translated
from workflows.migration.inventory import FORMATS

__all__ = ["FORMATS_FR", "note_in", "problem_in"]

FORMATS_FR = (
    "un export Cloud Asset Inventory (tableau JSON ou NDJSON de 'gcloud asset export'), "
    "un plan ou un état Terraform tel que 'terraform show -json' l'affiche, "
    "ou un fichier d'état Terraform (format version 4)"
)
_PROBLEMS_FR = {
    **REFUSALS_FR,
    FORMATS: FORMATS_FR,
    "inventory": "l'inventaire",
    "inventory {name}": "l'inventaire {name}",
    "inventory content": "le contenu de l'inventaire",
    "inline content": "le contenu collé",
    "export one project or asset type at a time": (
        "exportez un projet ou un type de ressource à la fois"
    ),
    "{source}: line {number} is not JSON ({error}); an NDJSON export holds one JSON record "
    "per line.": (
        "{source} : la ligne {number} n'est pas du JSON ({error}) ; un export NDJSON contient "
        "un enregistrement JSON par ligne."
    ),
    "Export it again with 'gcloud asset export'.": (
        "Exportez-le de nouveau avec 'gcloud asset export'."
    ),
    "{source} is empty; send {formats}.": "{source} est vide ; envoyez {formats}.",
    "{source} is not JSON, so it cannot be read; send {formats}.": (
        "{source} n'est pas du JSON et ne peut donc pas être lu ; envoyez {formats}."
    ),
    "{source} holds JSON lines that are not Asset Inventory records (no 'asset_type'); "
    "send {formats}.": (
        "{source} contient des lignes JSON qui ne sont pas des enregistrements Asset "
        "Inventory (pas d'« asset_type ») ; envoyez {formats}."
    ),
    "{source} is a Terraform state of format version {version}; only version 4 is read.": (
        "{source} est un état Terraform au format version {version} ; seule la version 4 est lue."
    ),
    "Run 'terraform show -json' and send its output instead.": (
        "Lancez plutôt 'terraform show -json' et envoyez sa sortie."
    ),
    "{source} is JSON but not a format this workflow reads; send {formats}.": (
        "{source} est du JSON, mais pas dans un format que ce workflow lit ; envoyez {formats}."
    ),
    "no inventory was given; send the export with your request, give file paths, or paste "
    "the content of {formats}.": (
        "aucun inventaire n'a été donné : envoyez l'export avec votre demande, donnez des "
        "chemins de fichiers, ou collez le contenu d'{formats}."
    ),
    "there is no file at {path}; check the path and send it again.": (
        "il n'y a pas de fichier à {path} ; vérifiez le chemin et renvoyez-le."
    ),
    "{path} is not UTF-8 text; send {formats}.": (
        "{path} n'est pas du texte UTF-8 ; envoyez {formats}."
    ),
    "the inventory holds no resources: nothing to plan.": (
        "l'inventaire ne contient aucune ressource : rien à planifier."
    ),
}

_FR = {
    "disk sizes are not in the export; size them from the Disk assets": (
        "les tailles de disque ne sont pas dans l'export : les prendre des ressources Disk"
    ),
    "pool declares {declared} node(s), {running} run now": (
        "le pool déclare {declared} nœud(s), {running} tournent aujourd'hui"
    ),
    "disabled rule: nothing to translate": "règle désactivée : rien à traduire",
    "egress rule: the target allows all outbound traffic by default": (
        "règle de sortie : la cible autorise tout le trafic sortant par défaut"
    ),
    "boot disk size not given: the image's default applies": (
        "taille du disque de démarrage non donnée : celle de l'image s'applique"
    ),
    "{n} attached disk(s) are sized by their own disk resources": (
        "{n} disque(s) attaché(s), dimensionné(s) par leurs propres ressources disque"
    ),
    "data disk size not given: Cloud SQL starts at 10 GiB": (
        "taille du disque de données non donnée : Cloud SQL commence à 10 Gio"
    ),
    "regional cluster: each pool's node count runs in each of 3 zones": (
        "cluster régional : les nœuds de chaque pool tournent dans chacune des 3 zones"
    ),
    "regional pool: {n} node(s) in each of 3 zones": (
        "pool régional : {n} nœud(s) dans chacune des 3 zones"
    ),
    "not a Google Cloud resource": "pas une ressource Google Cloud",
}


def _pattern(template: str) -> re.Pattern[str]:
    escaped = re.escape(template)
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", escaped) + r"\Z")


_PATTERNS = [(_pattern(english), french) for english, french in _FR.items()]


def note_in(note: str, language: str) -> str:
    """``note`` in ``language``: French from the table for ``fr``, else as written."""
    if language != "fr":
        return note
    for pattern, french in _PATTERNS:
        if found := pattern.match(note):
            return french.format(**found.groupdict())
    return note


def problem_in(problem: str, language: str) -> str:
    """Why no plan was made, as a reader of ``language`` reads it."""
    return translated(problem, language, _PROBLEMS_FR)
