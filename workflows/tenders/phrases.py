"""The sentences of the tender watch's report and approval question, in French and English.

The report is written in the founder's language (``workflows._language``), whatever the
notices' languages; drafts keep the notice's language (``wording``). What changed in a
notice already reported (``difference``) and why a source failed (``failure``) come as
data; ``differences`` and ``problem`` write them here, in either language. Dates are ISO
in both, as everywhere else in the report; amounts are grouped the reader's way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.tenders.difference import (
    Amount,
    Cancelled,
    DeadlineMoved,
    Difference,
    LotsChanged,
    TitleChanged,
    ValueChanged,
)
from workflows.tenders.failure import SourceProblem
from workflows.tenders.matching import money
from workflows.tenders.wording import LANGUAGES

__all__ = ["EN", "FR", "Phrases", "differences", "phrases", "problem"]

_LANGUAGES_FR = {
    "bg": "bulgare", "cs": "tchèque", "da": "danois", "de": "allemand", "el": "grec",
    "en": "anglais", "es": "espagnol", "et": "estonien", "fi": "finnois", "fr": "français",
    "ga": "irlandais", "hr": "croate", "hu": "hongrois", "it": "italien", "lt": "lituanien",
    "lv": "letton", "mt": "maltais", "nl": "néerlandais", "pl": "polonais", "pt": "portugais",
    "ro": "roumain", "sk": "slovaque", "sl": "slovène", "sv": "suédois",
}  # fmt: skip


@dataclass(frozen=True)
class Phrases:
    """Every fixed sentence of one report language; ``{…}`` are filled by the report."""

    code: str
    sep: str  # between the items of a list on one line
    title: str
    no_results: str
    partial: str
    read: str
    bundled_where: str
    live_where: str
    new: str
    repeated: str
    rejected: str
    unpublished: str
    nothing_new: str
    ranked: str
    why: str
    more: str
    upcoming: str
    changed_head: str
    cancelled: str
    changed: str
    first_reported: str
    missing: str
    drafts: str
    draft_line: str
    verdicts: dict[str, str]
    languages: dict[str, str]  # language names, for drafts and other-language notices
    from_templates: str
    by_model: str
    other_language: str
    recommendation: str
    exported: str
    refused: str
    pending: str
    ask: str
    no_buyer: str
    deadline: str
    no_deadline: str
    no_value: str
    failed: str
    tries: str
    bundled_note: str
    no_profile_note: str
    not_stated: str  # a deadline or value the notice does not state
    title_changed: str
    deadline_moved: str
    value_changed: str
    lots_added: str
    lots_removed: str
    cancelled_by: str
    problems: dict[str, str]  # SourceProblem.kind -> sentence, filled from its fields
    every_notice: str  # heading of the list of every notice read
    statuses: dict[str, str]  # account.Status -> sentence ({score}, {reason})
    explained: str  # heading of the notices the founder asked about
    explain_codes: str
    explain_rerun: str
    explain_missing: str
    progress: dict[str, str]  # the run's steps, as ``equipage workflow run`` shows them


EN = Phrases(
    code="en",
    sep="; ",
    title="**Tender watch — {today}**",
    no_results="⚠️ No results: every source failed. {failed}.",
    partial="⚠️ Partial results: {failed}. What follows comes from the other sources only.",
    read="Read {count} notice(s) from {where}{counts}.",
    bundled_where="the notices bundled with Equipage",
    live_where="TED and BOAMP",
    new="{n} new match(es)",
    repeated="{n} already reported (not repeated)",
    rejected="{n} ruled out",
    unpublished="{n} published after {today} left out",
    nothing_new="No new tender matches the profile this time.",
    ranked="**New matches, best first**",
    why="Why",
    more="… and {n} more (scores below the above).",
    upcoming="**Coming soon** (prior information, {n})",
    changed_head="**Notices already reported that changed** ({n})",
    cancelled="cancelled",
    changed="changed",
    first_reported=", first reported {day}",
    missing="Not found among the notices read: ",
    drafts="**Drafts** ({n})",
    draft_line="- {title} (`{id}`): {verdict}. Memo for you; answer outline and cover letter "
    "in {language}, {made}.",
    verdicts={"bid": "bid", "discuss": "to discuss", "no-bid": "no bid"},
    languages=LANGUAGES,
    from_templates="from templates",
    by_model="by {model}",
    other_language="The notice is in {language}; Equipage has French and English templates "
    "only, so this draft is in English.",
    recommendation="Recommendation",
    exported="Exported:",
    refused="Export refused{why}: no file was written.",
    pending="Approve to export them as Markdown and DOCX.",
    ask="Export the drafts? These files will be written:",
    no_buyer="buyer not stated",
    deadline="deadline {day}",
    no_deadline="no deadline stated",
    no_value="value not stated",
    failed="{source} failed{tries}: {reason}",
    tries=" after {n} attempt(s)",
    bundled_note="Bundled notices: real notices shipped with Equipage, read as if today were "
    "{today}; no network was used.",
    no_profile_note="company.yaml has no company.profile.tenders: every notice in your "
    "countries and deadline window counts; add cpv and keywords to narrow it.",
    not_stated="not stated",
    title_changed="title changed from '{before}' to '{after}'",
    deadline_moved="deadline moved from {before} to {after}",
    value_changed="estimated value changed from {before} to {after}",
    lots_added="lots added or renamed: {lots}",
    lots_removed="lots removed or renamed: {lots}",
    cancelled_by="procedure cancelled by notice {notice}",
    problems={
        "timeout": "{host} did not answer within the timeout",
        "connection": "{host} could not be reached ({error})",
        "http_status": "{host} answered HTTP {status}",
        "unreadable": "the answer of {host} is not the {expected} shape",
        "private_address": "{host} was not contacted: it is a private or local address, "
        "which only a base URL set in company.yaml may be",
        "redirect": "{host} redirected to another host ({error}), which Equipage does not follow",
    },
    every_notice="**Every notice read** ({n}), and what became of it",
    statuses={
        "matched": "matched, {score}/100",
        "upcoming": "coming soon (prior information), {score}/100",
        "ruled_out": "ruled out: {reason}",
        "award": "not an opportunity: {reason}",
        "cancellation": "not an opportunity: {reason}",
        "changed": "already reported; its change is listed above",
        "seen": "already reported on an earlier run",
        "same_procedure": "another notice of the same procedure was judged in its place",
        "unpublished": "published after the day of the run: left out",
    },
    explained="**The notices you asked about**",
    explain_codes="Its CPV codes: {codes}. The profile's codes: {cpv}; its keywords: {keywords}.",
    explain_rerun="To have it considered, run the watch again with a profile that names its "
    "trade (input `profile`: cpv, keywords, exclude); a notice ruled out is not marked as "
    "seen, so the next run judges it again.",
    explain_missing="Not among the notices read this run: {ids}.",
    progress={
        "reading": "reading {where} as of {today}",
        "bundled": "bundled notices",
        "live": "TED and BOAMP",
        "read": "{count} notice(s) read",
        "failed": "; failed: {sources}",
        "matches": "{n} new match(es)",
        "drafting": "drafting {id}",
        "exported": "exported {n} file(s)",
    },
)

FR = Phrases(
    code="fr",
    sep=" ; ",
    title="**Veille des appels d'offres — {today}**",
    no_results="⚠️ Aucun résultat : toutes les sources ont échoué. {failed}.",
    partial="⚠️ Résultats partiels : {failed}. La suite ne vient que des autres sources.",
    read="{count} avis lu(s) sur {where}{counts}.",
    bundled_where="les avis fournis avec Equipage",
    live_where="TED et le BOAMP",
    new="{n} nouvel(s) avis pertinent(s)",
    repeated="{n} déjà signalé(s) (non répété(s))",
    rejected="{n} écarté(s)",
    unpublished="{n} publié(s) après le {today}, laissé(s) de côté",
    nothing_new="Aucun nouvel appel d'offres ne correspond au profil cette fois-ci.",
    ranked="**Nouveaux avis pertinents, du meilleur au moins bon**",
    why="Pourquoi",
    more="… et {n} autre(s) (scores inférieurs).",
    upcoming="**Bientôt** (avis de préinformation, {n})",
    changed_head="**Avis déjà signalés qui ont changé** ({n})",
    cancelled="annulé",
    changed="modifié",
    first_reported=", signalé le {day}",
    missing="Introuvable(s) parmi les avis lus : ",
    drafts="**Brouillons** ({n})",
    draft_line="- {title} (`{id}`) : {verdict}. Note go / no-go pour vous ; plan de réponse "
    "et lettre de candidature en {language}, {made}.",
    verdicts={"bid": "go", "discuss": "à discuter", "no-bid": "no-go"},
    languages=_LANGUAGES_FR,
    from_templates="à partir de gabarits",
    by_model="par {model}",
    other_language="L'avis est en {language} ; Equipage n'a de gabarits qu'en français et en "
    "anglais, ce brouillon est donc en anglais.",
    recommendation="Recommandation",
    exported="Exportés :",
    refused="Export refusé{why} : aucun fichier n'a été écrit.",
    pending="Approuvez pour les exporter en Markdown et DOCX.",
    ask="Exporter les brouillons ? Ces fichiers seront écrits :",
    no_buyer="acheteur non indiqué",
    deadline="date limite {day}",
    no_deadline="pas de date limite indiquée",
    no_value="valeur non indiquée",
    failed="{source} en échec{tries} : {reason}",
    tries=" après {n} tentative(s)",
    bundled_note="Avis fournis : de vrais avis livrés avec Equipage, lus comme si nous étions "
    "le {today} ; aucun accès au réseau.",
    no_profile_note="company.yaml n'a pas de company.profile.tenders : tout avis de vos pays "
    "et de la fenêtre de dates compte ; ajoutez des codes cpv et des keywords pour affiner.",
    not_stated="non indiquée",
    title_changed="titre modifié : « {before} » devient « {after} »",
    deadline_moved="date limite déplacée : {before} → {after}",
    value_changed="valeur estimée modifiée : {before} → {after}",
    lots_added="lots ajoutés ou renommés : {lots}",
    lots_removed="lots retirés ou renommés : {lots}",
    cancelled_by="procédure annulée par l'avis {notice}",
    problems={
        "timeout": "{host} n'a pas répondu dans le délai",
        "connection": "{host} injoignable ({error})",
        "http_status": "{host} a répondu HTTP {status}",
        "unreadable": "la réponse de {host} n'a pas la forme {expected}",
        "private_address": "{host} n'a pas été contacté : c'est une adresse privée ou "
        "locale, ce que seule une URL de base de company.yaml peut être",
        "redirect": "{host} a redirigé vers un autre hôte ({error}), ce qu'Equipage ne suit pas",
    },
    every_notice="**Tous les avis lus** ({n}), et ce qu'il en est advenu",
    statuses={
        "matched": "retenu, {score}/100",
        "upcoming": "bientôt (préinformation), {score}/100",
        "ruled_out": "écarté : {reason}",
        "award": "pas une opportunité : {reason}",
        "cancellation": "pas une opportunité : {reason}",
        "changed": "déjà signalé ; sa modification figure plus haut",
        "seen": "déjà signalé lors d'une veille précédente",
        "same_procedure": "un autre avis de la même procédure a été examiné à sa place",
        "unpublished": "publié après le jour de la veille : laissé de côté",
    },
    explained="**Les avis sur lesquels vous avez demandé des explications**",
    explain_codes="Ses codes CPV : {codes}. Codes du profil : {cpv} ; ses mots-clés : {keywords}.",
    explain_rerun="Pour qu'il soit retenu, relancez la veille avec un profil qui nomme son "
    "métier (entrée `profile` : cpv, keywords, exclude) ; un avis écarté n'est pas marqué "
    "comme vu, la veille suivante le réexamine.",
    explain_missing="Absent(s) des avis lus lors de cette veille : {ids}.",
    progress={
        "reading": "lecture {where} au {today}",
        "bundled": "des avis fournis avec Equipage",
        "live": "de TED et du BOAMP",
        "read": "{count} avis lu(s)",
        "failed": " ; en échec : {sources}",
        "matches": "{n} nouvel(s) avis pertinent(s)",
        "drafting": "rédaction du brouillon de {id}",
        "exported": "{n} fichier(s) exporté(s)",
    },
)


def phrases(language: str) -> Phrases:
    """The report's sentences: French for ``fr``, English otherwise."""
    return FR if language == "fr" else EN


def differences(change: Difference, say: Phrases) -> list[str]:
    """One difference as sentences of ``say``'s language (lots: one for added, one removed)."""
    match change:
        case TitleChanged():
            return [say.title_changed.format(before=change.before, after=change.after)]
        case DeadlineMoved():
            before, after = _when(change.before, say), _when(change.after, say)
            return [say.deadline_moved.format(before=before, after=after)]
        case ValueChanged():
            before, after = _amount(change.before, say), _amount(change.after, say)
            return [say.value_changed.format(before=before, after=after)]
        case LotsChanged():
            said = []
            if change.added:
                said.append(say.lots_added.format(lots=say.sep.join(change.added)))
            if change.removed:
                said.append(say.lots_removed.format(lots=say.sep.join(change.removed)))
            return said
        case Cancelled():
            return [say.cancelled_by.format(notice=change.notice)]


def problem(found: SourceProblem, say: Phrases) -> str:
    """Why a source failed, as a sentence of ``say``'s language."""
    return say.problems[found.kind].format(**found.model_dump())


def _when(moment: datetime | None, say: Phrases) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else say.not_stated


def _amount(value: Amount | None, say: Phrases) -> str:
    return money(value.value, value.currency, say.code) if value else say.not_stated
