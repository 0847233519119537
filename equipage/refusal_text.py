"""Refusals said in the reader's language, while the exceptions keep their English message.

An ``InputRejected`` (a file not read, a path outside the crew's files, an input over its
limit) says in English what to do: logs keep it, and an agent reads it as a tool's result.
Where a person reads one (a workflow's report, the notice of a file not read),
``refusal_text`` says it in their language: French, sentence by sentence, from the table of
the sentences the core writes; a sentence not in the table is shown as written. Workflows
with refusals of their own pass their table to ``translated``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from equipage.language import said

__all__ = ["REFUSALS_FR", "refusal_text", "sizes_fr", "translated"]

_SEND_ANOTHER = (
    "I read PDF, Word (.docx), plain text, Markdown, CSV and JSON files: send it as one of "
    "those, or paste its text in the chat."
)

#: English sentence -> French sentence; ``{name}`` stands for any text, carried over.
REFUSALS_FR: Mapping[str, str] = {
    # equipage.documents
    "it is an image ({format}).": "c'est une image ({format}).",
    "it is audio (Ogg, a voice note?).": "c'est un fichier audio (Ogg, un message vocal ?).",
    "it is audio ({format}).": "c'est un fichier audio ({format}).",
    "it is a video.": "c'est une vidéo.",
    "it is a video or audio file.": "c'est un fichier vidéo ou audio.",
    "it is a zip archive.": "c'est une archive zip.",
    "it is an Excel workbook (.xlsx).": "c'est un classeur Excel (.xlsx).",
    "it is a PowerPoint presentation (.pptx).": "c'est une présentation PowerPoint (.pptx).",
    "it is an OpenDocument file (.odt, .ods or .odp).": (
        "c'est un fichier OpenDocument (.odt, .ods ou .odp)."
    ),
    "it is a binary file of a type I do not read.": (
        "c'est un fichier binaire d'un type que je ne lis pas."
    ),
    "it is a damaged zip file ({error}).": "c'est un fichier zip endommagé ({error}).",
    "it is too large.": "il est trop volumineux.",
    "it is {size}.": "il fait {size}.",
    "I read files of at most {limit}.": "je lis des fichiers de {limit} au plus.",
    # a platform's own limit, as its adapter words it (channels/*)
    "{platform} lets bots download files of at most {limit}.": (
        "{platform} ne laisse les bots télécharger que des fichiers de {limit} au plus."
    ),
    "Send a smaller file (a PDF of the pages that matter), or paste the text in the chat.": (
        "Envoyez un fichier plus petit (un PDF des pages utiles), ou collez le texte dans le chat."
    ),
    _SEND_ANOTHER: (
        "Je lis les fichiers PDF, Word (.docx), texte brut, Markdown, CSV et JSON : envoyez-le "
        "sous l'une de ces formes, ou collez son texte dans le chat."
    ),
    "the file is empty.": "le fichier est vide.",
    "the file holds no text.": "le fichier ne contient pas de texte.",
    "the Word document has no text.": "le document Word n'a pas de texte.",
    "Send it again.": "Renvoyez-le.",
    "it says it is a PDF but does not start like one: it may be damaged.": (
        "il se présente comme un PDF mais n'en a pas le début : il est peut-être endommagé."
    ),
    "it says it is a Word file but is not a .docx: it may be damaged.": (
        "il se présente comme un fichier Word mais n'est pas un .docx : il est peut-être endommagé."
    ),
    "Export it to PDF again and resend it.": "Exportez-le de nouveau en PDF et renvoyez-le.",
    "it is encrypted in a way this installation cannot open (pip install 'pypdf[crypto]').": (
        "il est chiffré d'une façon que cette installation ne sait pas ouvrir "
        "(pip install 'pypdf[crypto]')."
    ),
    "Send a copy without protection, or paste its text.": (
        "Envoyez une copie sans protection, ou collez son texte."
    ),
    "it is built to take far more memory or work to read than a document needs: "
    "I do not read it.": (
        "il est construit pour demander bien plus de mémoire ou de travail qu'un document : "
        "je ne le lis pas."
    ),
    "Export it to PDF again and resend it, or paste its text in the chat.": (
        "Exportez-le de nouveau en PDF et renvoyez-le, ou collez son texte dans le chat."
    ),
    "it could not be read as a PDF: it looks damaged ({error}).": (
        "il n'a pas pu être lu comme un PDF : il semble endommagé ({error})."
    ),
    "Open it, export it to PDF again and resend it.": (
        "Ouvrez-le, exportez-le de nouveau en PDF et renvoyez-le."
    ),
    "it is protected by a password.": "il est protégé par un mot de passe.",
    "Send a copy without the password, or paste its text in the chat.": (
        "Envoyez une copie sans mot de passe, ou collez son texte dans le chat."
    ),
    "it has no text I can read: it is probably a scan (pictures of pages).": (
        "il n'a pas de texte que je puisse lire : c'est sans doute un scan (des images de pages)."
    ),
    "Send a PDF with selectable text, or paste the text in the chat.": (
        "Envoyez un PDF au texte sélectionnable, ou collez le texte dans le chat."
    ),
    "it could not be read as a Word document: it looks damaged ({error}).": (
        "il n'a pas pu être lu comme un document Word : il semble endommagé ({error})."
    ),
    "Save it again as .docx or PDF and resend it.": (
        "Enregistrez-le de nouveau en .docx ou en PDF et renvoyez-le."
    ),
    "it declares a DTD or entities, which Word documents never need and attacks do: "
    "I do not open it.": (
        "il déclare une DTD ou des entités, dont un document Word n'a jamais besoin mais les "
        "attaques si : je ne l'ouvre pas."
    ),
    "it unpacks to more than {size}, far more than a Word document needs: I do not open it.": (
        "il se décompresse en plus de {size}, bien plus qu'un document Word : je ne l'ouvre pas."
    ),
    "it holds more than {count} parts, far more than a Word document needs: I do not open it.": (
        "il contient plus de {count} parties, bien plus qu'un document Word : je ne l'ouvre pas."
    ),
    "Export it to PDF and send that instead.": "Exportez-le en PDF et envoyez plutôt celui-ci.",
    "reading it failed ({error}).": "sa lecture a échoué ({error}).",
    "Send it again, or paste its text in the chat.": (
        "Renvoyez-le, ou collez son texte dans le chat."
    ),
    "cannot be read ({error})": "illisible ({error})",
    "its text could not be read": "son texte n'a pas pu être lu",
    # equipage.crewfiles
    "no file {path} among the crew's files: a path given in chat may only name a file sent "
    "with the request{sent} or a file under {root}, never one outside it (by '..', an "
    "absolute path or a link).": (
        "aucun fichier {path} parmi les fichiers de l'équipage : un chemin donné dans le chat "
        "ne peut nommer qu'un fichier envoyé avec la demande{sent} ou un fichier sous {root}, "
        "jamais un fichier en dehors (par « .. », un chemin absolu ou un lien)."
    ),
    "Send the file with the request instead, or ask the owner to run it with "
    "`equipage workflow run`.": (
        "Envoyez plutôt le fichier avec la demande, ou demandez au propriétaire de le lancer "
        "avec `equipage workflow run`."
    ),
    # equipage.inputs
    "workflow {workflow} was not started: {fields} can only be set by the owner, in "
    "company.yaml ({where}) or with {command}.": (
        "le workflow {workflow} n'a pas été lancé : seul le propriétaire peut régler {fields}, "
        "dans company.yaml ({where}) ou avec {command}."
    ),
    "Here {field} may be {values}.": "Ici, {field} peut valoir {values}.",
    "Leave it out and start it again, or ask the owner.": (
        "Retirez-le et relancez, ou demandez au propriétaire."
    ),
    "Leave them out and start it again, or ask the owner.": (
        "Retirez-les et relancez, ou demandez au propriétaire."
    ),
    "the {what} is {size}, over the {limit} limit of the {workflow} workflow, so it was not "
    "read; {instead}.": (
        "{what} fait {size}, au-delà de la limite de {limit} du workflow {workflow} : rien "
        "n'en a été lu ({instead})."
    ),
    "The owner can raise the limit with {setting} in company.yaml, or for one run with "
    "{command}.": (
        "Le propriétaire peut relever la limite avec {setting} dans company.yaml, ou pour une "
        "exécution avec {command}."
    ),
}

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"])")
_UNITS = re.compile(r"\b(\d+(?:\.\d+)?) (bytes|KB|MB)\b")
_UNITS_FR = {"bytes": "octets", "KB": "Ko", "MB": "Mo"}


# A size or a limit is a size ("1.5 MB"): "it is {size}." is not "it is an image (PNG).".
_TYPED = {"size": r"\d[\d.,]* (?:bytes|KB|MB)", "limit": r"\d[\d.,]* (?:bytes|KB|MB)"}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>{_TYPED.get(part, '.*?')})"
        for index, part in enumerate(parts)
    )
    return re.compile(regex + r"\Z", re.S)


def _compiled(table: Mapping[str, str]) -> list[tuple[re.Pattern[str], str]]:
    return [(_pattern(english), french) for english, french in table.items()]


_REFUSALS = _compiled(REFUSALS_FR)
_TABLES: dict[int, list[tuple[re.Pattern[str], str]]] = {id(REFUSALS_FR): _REFUSALS}


def sizes_fr(text: str) -> str:
    """``1.5 MB`` -> ``1,5 Mo``, ``820 bytes`` -> ``820 octets``: sizes the French way."""
    return _UNITS.sub(lambda m: f"{m[1].replace('.', ',')} {_UNITS_FR[m[2]]}", text)


def translated(text: str, language: str | None, table: Mapping[str, str]) -> str:
    """``text`` in ``language``: for French, each sentence the table knows in French (a
    ``name: `` before it kept), the others as written; for any other language, as is."""
    if said(language) != "fr" or not text:
        return text
    compiled = _TABLES.get(id(table))
    if compiled is None:
        compiled = _TABLES[id(table)] = _compiled(table)
    sentences = [_sentence(s, compiled) for s in _SENTENCE.split(text.strip())]
    return " ".join(s[:1].upper() + s[1:] if i else s for i, s in enumerate(sentences))


def refusal_text(message: str, language: str | None) -> str:
    """A refusal of the core, as a person of ``language`` reads it."""
    return translated(message, language, REFUSALS_FR)


def _sentence(sentence: str, table: list[tuple[re.Pattern[str], str]]) -> str:
    found = _match(sentence, table)
    if found is not None:
        return found
    name, colon, rest = sentence.partition(": ")
    if colon and (found := _match(rest, table)) is not None:
        return f"{name} : {found}"
    return sentence


def _match(sentence: str, table: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, french in table:
        if found := pattern.match(sentence):
            # A value the table knows too ("transcript", a workflow's advice) is said in French.
            values = {k: _match(v, table) or sizes_fr(v) for k, v in found.groupdict().items()}
            return french.format_map(values)
    return None
