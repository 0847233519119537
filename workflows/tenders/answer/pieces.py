"""The documents a candidate must hand in (DC1, DC2, attestations, mémoire technique...).

A document is named from a catalogue of the forms and pieces French and European buyers
ask for, each under one canonical name, whatever the file writes ("Formulaire DC1 ou
équivalent", "lettre de candidature", "DUME"). Only what the candidate is asked to provide
counts: sentences and list items of a section about what to hand in (``Présentation des
candidatures et des offres``, ``Pièces à fournir``, ``Contenu de l'offre``, ``Documents
to submit``), or that ask for it themselves (``fournir``, ``produire``, ``joindre``,
``submit``). The list of the consultation's own files (``Contenu du dossier de
consultation``) is what the buyer gives, not what it asks for.
"""

from __future__ import annotations

import re

from workflows.tenders.answer.sentences import Sentence

__all__ = ["CATALOGUE", "ENGLISH", "pieces_in"]

#: Canonical name -> how files write it.
CATALOGUE: dict[str, str] = {
    "DC1": r"\bDC\s?1\b|lettre de candidature",
    "DC2": r"\bDC\s?2\b|déclaration du candidat",
    "DC4": r"\bDC\s?4\b|déclaration de sous-traitance",
    "DUME": r"\bDUME\b|document unique de marché européen|\bESPD\b",
    "Kbis": r"\bk\s?bis\b|registre du commerce|\bRCS\b",
    "Attestation URSSAF": r"\burssaf\b|attestation de vigilance",
    "Attestation fiscale": r"attestation (?:de régularité )?fiscale|régularité fiscale",
    "Attestation d'assurance": r"attestation d.assurance|assurance (?:pour les risques|"
    r"responsabilité civile)|insurance certificate",
    "Déclaration de chiffre d'affaires": r"chiffre d.affaires|turnover",
    "Références": r"\bréférences\b|liste des (?:principales )?(?:prestations|services|livraisons)"
    r"|\breferences\b",
    "Mémoire technique": r"mémoire technique|note méthodologique|mémoire justificatif|"
    r"technical (?:proposal|offer|submission)|method statement",
    "Acte d'engagement (AE)": r"acte d.engagement|\bATTRI\s?1\b|\(AE\)|form of tender",
    "DPGF": r"\bDPGF\b|décomposition du prix global",
    "BPU": r"\bBPU\b|bordereau des prix",
    "DQE": r"\bDQE\b|détail quantitatif",
    "Catalogue tarifaire": r"catalogue (?:tarifaire|des prix)|price list",
    "RIB": r"\bRIB\b|relevé d.identité bancaire",
    "Déclaration sur l'honneur": r"déclaration sur l.honneur|sworn statement",
    "CV des intervenants": r"\bCV\b|curriculum",
    "Certificats de qualification": r"certificat(?:ion)?s?\s+(?:ISO|de qualification|qualibat)|"
    r"\bISO\s?\d{4,5}\b",
    "Planning": r"\bplanning\b|calendrier prévisionnel|schedule",
    "Pouvoir du signataire": r"pouvoir (?:du|de la personne) (?:signataire|habilitée)|"
    r"délégation de (?:signature|pouvoir)",
    "Traduction en français": r"traduction en français",
}
#: The names an English answer gives them (French forms keep their French names).
ENGLISH: dict[str, str] = {
    "Attestation URSSAF": "Social security certificate (URSSAF)",
    "Attestation fiscale": "Tax compliance certificate",
    "Attestation d'assurance": "Insurance certificate",
    "Déclaration de chiffre d'affaires": "Turnover statement",
    "Références": "References",
    "Mémoire technique": "Technical proposal",
    "Acte d'engagement (AE)": "Form of tender (acte d'engagement)",
    "Catalogue tarifaire": "Price list",
    "RIB": "Bank details (RIB)",
    "Déclaration sur l'honneur": "Sworn statement",
    "CV des intervenants": "CVs of the team",
    "Certificats de qualification": "Certificates (ISO, qualifications)",
    "Pouvoir du signataire": "Signatory's power of attorney",
    "Traduction en français": "French translation",
    "Kbis": "Company registration (Kbis)",
}
_PATTERNS = {name: re.compile(pattern, re.I) for name, pattern in CATALOGUE.items()}
_ZONE = re.compile(
    r"présentation des (?:candidatures|offres|plis)|pièces? (?:à|a) (?:fournir|produire|remettre)"
    r"|contenu (?:des plis|de l.offre|du pli|de la candidature|du dossier de (?:réponse|"
    r"candidature))|dossier de (?:candidature|réponse)|éléments nécessaires|sélection des "
    r"candidatures|composition de l.offre|documents? (?:à|a) (?:fournir|produire|remettre)|"
    r"situation juridique|capacités?|documents? to (?:provide|submit|include)|submission|"
    r"tender contents|candidature",
    re.I,
)
_NOT_ASKED = re.compile(
    r"dossier de consultation|retrait|\bDCE\b|pièces constitutives|"
    r"jugement|recours",
    re.I,
)
_ASKS = re.compile(
    r"\b(?:fournir|fourniront|produire|produiront|joindre|joindront|remettre|remettront|"
    r"transmettre|contiendra|comprendra|accompagné|provide|submit|include|enclose)\b",
    re.I,
)
_NEGATED = re.compile(r"\bne\s+(?:sont|est)\s+pas\s+(?:à|tenus?)|\bpas à remettre\b", re.I)


def pieces_in(sentences: list[Sentence], language: str = "fr") -> list[tuple[str, Sentence]]:
    """``(name, sentence)`` for each document asked for, first mention only; the name is
    the catalogue's, in English for an English consultation."""
    found: dict[str, Sentence] = {}
    for sentence in sentences:
        zone = bool(_ZONE.search(sentence.heading)) and not _NOT_ASKED.search(sentence.heading)
        if not zone and not _ASKS.search(sentence.text):
            continue
        if _NEGATED.search(sentence.text):
            continue
        for name, pattern in _PATTERNS.items():
            if name not in found and pattern.search(sentence.text):
                found[name] = sentence
    if language == "en":
        return [(ENGLISH.get(name, name), sentence) for name, sentence in found.items()]
    return list(found.items())
