"""The words of the tender drafts in French and English: headings, labels, templates.

A notice in another language gets the English wording and a note saying so. The
matcher's reasons are data (``matching.Reason``); ``say`` and ``why`` write them in
either language, for a draft (the notice's language) or the report (the founder's).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.tenders.matching import Match, Reason, ReasonCode, amount, money

__all__ = ["EN", "FR", "LANGUAGES", "Wording", "say", "why", "wording", "words_for"]

LANGUAGES = {
    "bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "en": "English", "es": "Spanish", "et": "Estonian", "fi": "Finnish", "fr": "French",
    "ga": "Irish", "hr": "Croatian", "hu": "Hungarian", "it": "Italian", "lt": "Lithuanian",
    "lv": "Latvian", "mt": "Maltese", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "ro": "Romanian", "sk": "Slovak", "sl": "Slovenian", "sv": "Swedish",
}  # fmt: skip


@dataclass(frozen=True)
class Wording:
    """Every fixed string of one draft language."""

    code: str
    memo: str
    outline: str
    letter: str
    templated: str
    facts: str
    buyer: str
    reference: str
    deadline: str
    days: str
    value: str
    not_stated: str
    procedure: str
    fit: str
    lots: str
    lot: str
    single_lot: str
    criteria: str
    no_criteria: str
    risks: str
    no_risks: str
    recommendation: str
    labels: tuple[str, str, str]  # bid, discuss, no bid
    bid: str
    discuss: str
    no_bid: str
    presentation: str
    admin: str
    show: dict[str, tuple[str, ...]]
    risk: dict[str, str]
    letter_template: str
    reasons: dict[ReasonCode, str]  # a sentence per reason, filled from Reason.values
    ruled_out: str  # a picked notice the profile rules out: "{reason}" is why


EN = Wording(
    code="en",
    memo="Bid / no-bid memo",
    outline="Answer outline",
    letter="Cover letter",
    templated="_Drafted from templates (offline model): review and complete before sending._",
    facts="Facts",
    buyer="Buyer",
    reference="Reference",
    deadline="Deadline",
    days="{days} days left",
    value="Estimated value",
    not_stated="not stated",
    procedure="Procedure",
    fit="Fit",
    lots="Lots",
    lot="Lot",
    single_lot="Whole contract",
    criteria="Award criteria",
    no_criteria="Criteria not stated in the notice: read the tender documents.",
    risks="Risks",
    no_risks="No risk spotted in the notice itself.",
    recommendation="Recommendation",
    labels=("Bid", "Discuss", "No bid"),
    bid="Bid: the notice fits what {company} sells and leaves time to answer well.",
    discuss="Discuss: the fit is partial; check the risks above before committing time.",
    no_bid="No bid unless the risks above can be lifted: the fit is weak.",
    presentation="Company presentation and references",
    admin="Administrative documents (ESPD, certificates, signed forms)",
    show={
        "quality": ("Methodology and organisation", "Team and skills", "Similar references"),
        "price": ("Price breakdown per item", "Assumptions and what is included"),
        "cost": ("Total cost of ownership over the contract", "How costs stay under control"),
        "": ("How the offer meets this criterion", "Evidence: figures, references"),
    },
    risk={
        "short": "Short deadline: {days} days to write the answer.",
        "unknown_deadline": "The notice states no deadline: check the tender documents.",
        "value": "The value is not stated: the size of the effort is unknown.",
        "price": "Price weighs {weight:g} % of the award: expect a price battle.",
        "no_criteria": "No award criteria in the notice: read the regulation of the tender.",
        "lots": "{lots} lots: choose which ones to answer.",
        "country": "The buyer is in {country}, outside the countries the company serves.",
    },
    letter_template=(
        "{company}\n\nTo: {buyer}\nSubject: Our application for {title}\n"
        "Reference: {reference}\n\nDear Sir or Madam,\n\n"
        "{company} is pleased to submit its application for \u201c{title}\u201d{lots}. "
        "We provide {sells}, and this contract is at the heart of what we do.\n\n"
        "Our answer follows the structure of your award criteria and sets out our "
        "methodology, our team and comparable references. We remain at your disposal "
        "for any question before {deadline}.\n\nYours faithfully,\n\n{company}"
    ),
    reasons={
        "cpv": "CPV {code} matches {prefix}",
        "keyword_title": "keyword '{keyword}' in title",
        "keyword_description": "keyword '{keyword}' in description",
        "keyword_lot": "keyword '{keyword}' in lot {lot}",
        "value": "value {value} ≥ {min}",
        "no_value": "value not stated",
        "deadline": "deadline in {days} days",
        "no_deadline": "deadline not stated",
        "prior": "prior information notice: the call for tenders is not open yet",
        "award": "award notice: the contract is already awarded",
        "cancellation": "cancellation notice: there is nothing left to bid on",
        "country": "country {country} is not one of {countries}",
        "deadline_passed": "deadline passed {days} day(s) ago",
        "deadline_short": "deadline in {days} day(s), fewer than the {min} needed to bid",
        "deadline_far": "deadline in {days} days, beyond the {horizon}-day horizon",
        "excluded_title": "excluded word '{word}' in title",
        "excluded_description": "excluded word '{word}' in description",
        "below_value": "value {value} is below {min}",
        "no_fit": "no CPV code or keyword of the profile",
        "other_trade": "CPV {codes} is outside the profile and its keywords appear only "
        "in the body",
        "works": "a works contract (main CPV {code}): the profile's codes are side codes only",
    },
    ruled_out="ruled out by the profile: {reason}",
)

FR = Wording(
    code="fr",
    memo="Note go / no-go",
    outline="Plan de réponse",
    letter="Lettre de candidature",
    templated="_Brouillon rédigé à partir de gabarits (modèle hors ligne) : à relire et "
    "compléter avant envoi._",
    facts="Faits",
    buyer="Acheteur",
    reference="Référence",
    deadline="Date limite",
    days="{days} jours restants",
    value="Valeur estimée",
    not_stated="non indiquée",
    procedure="Procédure",
    fit="Adéquation",
    lots="Lots",
    lot="Lot",
    single_lot="Marché global",
    criteria="Critères d'attribution",
    no_criteria="Critères non indiqués dans l'avis : lire le règlement de la consultation.",
    risks="Risques",
    no_risks="Aucun risque relevé dans l'avis lui-même.",
    recommendation="Recommandation",
    labels=("Go", "À discuter", "No-go"),
    bid="Go : l'avis correspond à ce que vend {company} et laisse le temps de bien répondre.",
    discuss="À discuter : l'adéquation est partielle ; vérifier les risques avant de s'engager.",
    no_bid="No-go sauf si les risques ci-dessus sont levés : l'adéquation est faible.",
    presentation="Présentation de l'entreprise et références",
    admin="Pièces administratives (DC1, DC2 ou DUME, attestations)",
    show={
        "quality": ("Méthodologie et organisation", "Équipe et compétences", "Références"),
        "price": ("Décomposition du prix (BPU, DPGF)", "Hypothèses et périmètre inclus"),
        "cost": ("Coût complet sur la durée du marché", "Maîtrise des coûts"),
        "": ("Comment l'offre répond à ce critère", "Preuves : chiffres, références"),
    },
    risk={
        "short": "Délai court : {days} jours pour rédiger la réponse.",
        "unknown_deadline": "L'avis n'indique pas de date limite : vérifier le DCE.",
        "value": "Valeur non indiquée : l'ampleur de l'effort est inconnue.",
        "price": "Le prix pèse {weight:g} % de la note : forte concurrence sur le prix.",
        "no_criteria": "Pas de critères dans l'avis : lire le règlement de la consultation.",
        "lots": "{lots} lots : choisir ceux auxquels répondre.",
        "country": "L'acheteur est en {country}, hors des pays servis par l'entreprise.",
    },
    letter_template=(
        "{company}\n\nÀ l'attention de : {buyer}\nObjet : candidature — {title}\n"
        "Référence : {reference}\n\nMadame, Monsieur,\n\n"
        "{company} a l'honneur de vous présenter sa candidature pour « {title} »{lots}. "
        "Nous proposons {sells}, ce qui est au cœur de ce marché.\n\n"
        "Notre offre suit vos critères d'attribution et présente notre méthodologie, notre "
        "équipe et des références comparables. Nous restons à votre disposition pour toute "
        "question avant le {deadline}.\n\n"
        "Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées.\n\n"
        "{company}"
    ),
    reasons={
        "cpv": "CPV {code} correspond à {prefix}",
        "keyword_title": "mot-clé « {keyword} » dans le titre",
        "keyword_description": "mot-clé « {keyword} » dans la description",
        "keyword_lot": "mot-clé « {keyword} » dans le lot {lot}",
        "value": "valeur {value} ≥ {min}",
        "no_value": "valeur non indiquée",
        "deadline": "date limite dans {days} jours",
        "no_deadline": "date limite non indiquée",
        "prior": "avis de préinformation : l'appel d'offres n'est pas encore ouvert",
        "award": "avis d'attribution : le marché est déjà attribué",
        "cancellation": "avis d'annulation : il n'y a plus rien à quoi répondre",
        "country": "pays {country} hors de la liste {countries}",
        "deadline_passed": "date limite dépassée depuis {days} jour(s)",
        "deadline_short": "date limite dans {days} jour(s), moins que les {min} nécessaires "
        "pour répondre",
        "deadline_far": "date limite dans {days} jours, au-delà de l'horizon de {horizon} jours",
        "excluded_title": "mot exclu « {word} » dans le titre",
        "excluded_description": "mot exclu « {word} » dans la description",
        "below_value": "valeur {value} inférieure à {min}",
        "no_fit": "aucun code CPV ni mot-clé du profil",
        "other_trade": "CPV {codes} hors du profil, et ses mots-clés n'apparaissent que dans "
        "le corps de l'avis",
        "works": "marché de travaux (CPV principal {code}) : les codes du profil n'y sont "
        "que secondaires",
    },
    ruled_out="écarté par le profil : {reason}",
)


def wording(language: str) -> tuple[Wording, str]:
    """The wording for a notice's language, and a note when it falls back to English."""
    if language == "fr":
        return FR, ""
    if language == "en":
        return EN, ""
    name = LANGUAGES.get(language, language)
    note = (
        f"The notice is in {name}; Equipage has French and English templates only, "
        "so this draft is in English."
    )
    return EN, note


def words_for(language: str) -> Wording:
    """French for ``fr``, English for anything else (the report's languages)."""
    return FR if language == "fr" else EN


def say(reason: Reason, words: Wording) -> str:
    """One reason as a sentence of ``words``' language."""
    fields: dict[str, object] = dict(reason.values)
    if isinstance(value := fields.get("value"), int | float):
        fields["value"] = money(value, str(fields.get("currency", "EUR")), words.code)
    if isinstance(minimum := fields.get("min"), int | float):
        fields["min"] = amount(minimum, words.code)
    return words.reasons[reason.code].format(**fields)


def why(found: Match, words: Wording) -> list[str]:
    """A match's reasons as sentences; a picked notice the profile rules out says so."""
    said = [say(r, words) for r in found.reasons]
    if found.ruled_out:
        return [words.ruled_out.format(reason="; ".join(said))]
    return said
