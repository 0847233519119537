"""The fixed words of an answer and of its report, in French and English.

The answer (its sections, its matrix) is written in the consultation's language, so a
French buyer gets French; the report and the progress steps are in the founder's
(``workflows._language``).
"""

from __future__ import annotations

from dataclasses import dataclass

from equipage.language import pick

__all__ = ["EN", "FR", "Words", "words"]


@dataclass(frozen=True)
class Words:
    code: str
    language: str  # as a model is told to write
    answer: str
    presentation: str
    price: str
    technical: str
    compliance: str
    pieces: str
    submission: str
    matrix: str
    columns: tuple[str, str, str, str, str, str]
    kinds: dict[str, str]
    statuses: dict[str, str]
    deadline: str
    no_deadline: str
    criteria: str
    no_criteria: str
    to_address: str
    facts: str
    countries: str  # where the company sells, among its facts
    no_facts: str
    price_in: str
    templated: str
    fill_in: str
    # the report
    title: str
    read: str
    unread: str
    counts: str
    sample: str
    more_rows: str
    files: str
    nothing: str
    weights_off: str
    by: str
    template: str  # who wrote the prose when no model did
    reading: str  # the run's steps, as ``equipage workflow run`` shows them
    drafting: str


FR = Words(
    code="fr",
    language="French",
    answer="Réponse à la consultation",
    presentation="Présentation du candidat",
    price="Offre financière",
    technical="Mémoire technique",
    compliance="Conformité aux exigences du dossier",
    pieces="Pièces à fournir",
    submission="Calendrier et modalités de remise",
    matrix="Matrice de conformité",
    columns=("Id", "Type", "Exigence", "Source", "Section", "Statut"),
    kinds={
        "criterion": "critère",
        "document": "pièce",
        "deadline": "date",
        "format": "format",
        "obligation": "exigence",
    },
    statuses={
        "covered": "couvert",
        "partial": "partiel",
        "missing": "manquant",
        "to_provide": "à fournir",
    },
    deadline="Date limite de remise des offres",
    no_deadline="non trouvée dans les documents : à vérifier",
    criteria="Critères d'attribution",
    no_criteria="Aucun critère pondéré trouvé : à vérifier dans le règlement de la consultation.",
    to_address="Exigences à traiter dans cette section",
    facts="Éléments de l'entreprise (mémoire et profil)",
    countries="Pays",
    no_facts="Aucun élément de l'entreprise en mémoire pour cette section : à compléter.",
    price_in="Le prix est remis dans les pièces financières",
    templated="_Squelette sans modèle de langue (mode hors ligne) : à rédiger._",
    fill_in="[à compléter]",
    title="Réponse à la consultation : exigences, matrice de conformité et brouillon",
    read="Documents lus",
    unread="Non lu",
    counts="Exigences relevées",
    sample="Matrice de conformité (extrait)",
    more_rows="… et {count} autres lignes dans les fichiers exportés.",
    files="Fichiers",
    nothing="Aucun document de consultation lisible : envoyez le règlement de la consultation "
    "(RC), le CCTP ou le BPU en PDF ou DOCX, ou donnez leur chemin (paths).",
    weights_off="Attention : les pondérations de « {name} » font {found:g} "
    "au lieu de {expected:g}.",
    by="Rédaction",
    template="gabarits, sans modèle de langue",
    reading="lecture de {count} fichier(s)",
    drafting="rédaction de la section {id}",
)

EN = Words(
    code="en",
    language="English",
    answer="Answer to the call for tenders",
    presentation="About the candidate",
    price="Financial offer",
    technical="Technical proposal",
    compliance="Compliance with the tender's requirements",
    pieces="Documents to provide",
    submission="Deadline and submission",
    matrix="Compliance matrix",
    columns=("Id", "Type", "Requirement", "Source", "Section", "Status"),
    kinds={
        "criterion": "criterion",
        "document": "document",
        "deadline": "deadline",
        "format": "format",
        "obligation": "requirement",
    },
    statuses={
        "covered": "covered",
        "partial": "partial",
        "missing": "missing",
        "to_provide": "to provide",
    },
    deadline="Deadline for offers",
    no_deadline="not found in the documents: check it",
    criteria="Award criteria",
    no_criteria="No weighted criterion found: check the tender's rules.",
    to_address="Requirements this section answers",
    facts="What the company has (memory and profile)",
    countries="Countries",
    no_facts="Nothing in the company's memory for this section: to complete.",
    price_in="The price is given in the financial documents",
    templated="_Skeleton written without a language model (offline): to be written._",
    fill_in="[to complete]",
    title="Tender answer: requirements, compliance matrix and draft",
    read="Documents read",
    unread="Not read",
    counts="Requirements found",
    sample="Compliance matrix (excerpt)",
    more_rows="… and {count} more rows in the exported files.",
    files="Files",
    nothing="No readable tender document: send the tender's rules, specifications or price "
    "schedule as PDF or DOCX, or give their paths (paths).",
    weights_off="Note: the weights of “{name}” add up to {found:g}, not {expected:g}.",
    by="Written by",
    template="templates, no language model",
    reading="reading {count} file(s)",
    drafting="section {id}",
)


def words(code: str | None) -> Words:
    """The French words for any French, else the English ones."""
    return pick(code, EN, FR)
