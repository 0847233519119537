"""The migration report's sentences in English and French: summary, plan.md, step question.

The report is in the founder's language (``workflows._language``). The runbook's own
steps are in ``runbook_text``; the reasons a resource maps the way it does
(``mapping``) and the price table's notes stay in English, as the price sources are.
"""

from __future__ import annotations

__all__ = ["eur", "words"]

_EN = {
    "unknown": "unknown",
    "none": "none",
    "no_gap": "none",
    "inventory_head": "| Resource | Kind | Type | Location | vCPU | Memory | Disk | GCP €/month |",
    "more_rows": "| … {n} more in plan.md | | | | | | | |",
    "total": "- **{target}**: {before} → {after} per month, {verb} {diff}{pct} on the {n} "
    "resource(s) priced on both sides",
    "saves": "saves",
    "costs": "costs",
    "self_managed": "{n} self-managed",
    "unmapped": "{n} without equivalent",
    "unpriced": "{n} with a size or price unknown, not in the totals",
    "gcp_total": "- Google Cloud today, everything priced: {total} per month.",
    "mapping_head": "| Resource | Equivalent | Where | Status | GCP €/month | After €/month "
    "| Why |",
    "approved": "approved",
    "rejected": "rejected",
    "not_offered": "not offered",
    "not_yet": "not yet",
    "moved": "{gib} GiB, about {hours} h at {mbps} Mbit/s, Google egress {egress}",
    "step_line": "{n}. **{title}** — sign-off: {state}. Data: {moved}.",
    "step_head": "### Step {n}. {title}",
    "resources": "- Resources: {names}{more}",
    "more": " and {n} more",
    "risks": "- Risks: ",
    "rollback": "- Rollback: {rollback}",
    "sign_off": "This workflow executes nothing: it plans. Approving a step records your "
    "sign-off for that step (an audit trail); the team carries the step out.",
    "and": " and ",
    "plan_title": "# Cloud migration plan: Google Cloud → {targets}",
    "overview_by": "_Overview written by: {by}._",
    "overview_template": "_Overview from a template (offline model): the figures below are "
    "computed._",
    "prices_note": "> Prices from the project's price table, checked {checked}; prices "
    "change. USD converted at {rate} EUR per USD ({date}). ",
    "inventory_heading": "## Inventory ({records} records from {files} file(s))",
    "cost_heading": "## Monthly cost",
    "unmapped_heading": "## Without equivalent",
    "runbook_heading": "## Runbook",
    "files_heading": "## Files",
    "not_made": "**Cloud migration plan: not made.** {problem}\n\nThe workflow reads {formats}.",
    "summary_title": "**Cloud migration plan: Google Cloud → {targets}**",
    "summary_template": "_Overview from a template (offline model); every figure is computed._",
    "summary_inventory": "**Inventory**: {records} records read from {files} file(s), "
    "{planned} planned; {unmapped} placement(s) without equivalent, listed below. Nothing "
    "was dropped.",
    "summary_cost": "**Monthly cost (EUR, excl. VAT)**",
    "summary_prices": "Prices from the project's table checked {checked}: prices change, "
    "re-check before you sign.",
    "summary_unmapped": "**Without equivalent**",
    "summary_more": "- … {n} more in plan.md",
    "summary_runbook": "**Runbook**",
    "summary_files": "**Files** in {folder}:",
    "state_rejected": "Steps approved: {done}. Step {n} ({title}) was rejected{why}: the "
    "runbook stops there; later steps were not offered.",
    "state_all": "All {n} steps approved: {done}.",
    "state_some": "Steps approved: {done} of {n}.",
    "question": "Migration runbook, step {n} of {total}: {title}.\n{detail}\nRisks: {risks}\n"
    "Rollback: {rollback}\nDetails in {folder}/plan.md. Do you sign off this step? (The "
    "workflow executes nothing: your answer is recorded.)",
    "decision": "- step {n}: {state}{by}{note}",
    "by": " by {member}",
    "colon": ": ",
}

_FR = {
    "unknown": "inconnu",
    "none": "aucune",  # step
    "no_gap": "aucun",  # resource without equivalent
    "inventory_head": "| Ressource | Genre | Type | Emplacement | vCPU | Mémoire | Disque "
    "| GCP €/mois |",
    "more_rows": "| … {n} de plus dans plan.md | | | | | | | |",
    "total": "- **{target}** : {before} → {after} par mois, {verb} {diff}{pct} sur les {n} "
    "ressource(s) chiffrée(s) des deux côtés",
    "saves": "soit une économie de",
    "costs": "soit un surcoût de",
    "self_managed": "{n} autogérée(s)",
    "unmapped": "{n} sans équivalent",
    "unpriced": "{n} de taille ou de prix inconnu, hors totaux",
    "gcp_total": "- Google Cloud aujourd'hui, tout ce qui est chiffré : {total} par mois.",
    "mapping_head": "| Ressource | Équivalent | Où | Statut | GCP €/mois | Après €/mois "
    "| Pourquoi |",
    "approved": "approuvée",
    "rejected": "refusée",
    "not_offered": "non proposée",
    "not_yet": "pas encore",
    "moved": "{gib} Gio, environ {hours} h à {mbps} Mbit/s, sortie de Google {egress}",
    "step_line": "{n}. **{title}** — accord : {state}. Données : {moved}.",
    "step_head": "### Étape {n}. {title}",
    "resources": "- Ressources : {names}{more}",
    "more": " et {n} autre(s)",
    "risks": "- Risques : ",
    "rollback": "- Retour arrière : {rollback}",
    "sign_off": "Ce workflow n'exécute rien : il planifie. Approuver une étape enregistre "
    "votre accord pour cette étape (une piste d'audit) ; l'équipe réalise l'étape.",
    "and": " et ",
    "plan_title": "# Plan de migration cloud : Google Cloud → {targets}",
    "overview_by": "_Synthèse rédigée par : {by}._",
    "overview_template": "_Synthèse issue d'un gabarit (modèle hors ligne) : les chiffres "
    "ci-dessous sont calculés._",
    "prices_note": "> Prix tirés de la table de prix du projet, vérifiés le {checked} ; les "
    "prix changent. USD convertis à {rate} EUR pour 1 USD ({date}). ",
    "inventory_heading": "## Inventaire ({records} enregistrements lus dans {files} fichier(s))",
    "cost_heading": "## Coût mensuel",
    "unmapped_heading": "## Sans équivalent",
    "runbook_heading": "## Runbook",
    "files_heading": "## Fichiers",
    "not_made": "**Plan de migration cloud : non établi.** {problem}\n\nLe workflow lit {formats}.",
    "summary_title": "**Plan de migration cloud : Google Cloud → {targets}**",
    "summary_template": "_Synthèse issue d'un gabarit (modèle hors ligne) ; chaque chiffre est "
    "calculé._",
    "summary_inventory": "**Inventaire** : {records} enregistrement(s) lu(s) dans {files} "
    "fichier(s), {planned} planifié(s) ; {unmapped} placement(s) sans équivalent, listé(s) "
    "ci-dessous. Rien n'a été écarté.",
    "summary_cost": "**Coût mensuel (EUR, HT)**",
    "summary_prices": "Prix tirés de la table du projet, vérifiés le {checked} : les prix "
    "changent, revérifiez avant de signer.",
    "summary_unmapped": "**Sans équivalent**",
    "summary_more": "- … {n} de plus dans plan.md",
    "summary_runbook": "**Runbook**",
    "summary_files": "**Fichiers** dans {folder} :",
    "state_rejected": "Étapes approuvées : {done}. L'étape {n} ({title}) a été refusée{why} : "
    "le runbook s'arrête là ; les étapes suivantes n'ont pas été proposées.",
    "state_all": "Les {n} étapes sont approuvées : {done}.",
    "state_some": "Étapes approuvées : {done} sur {n}.",
    "question": "Runbook de migration, étape {n} sur {total} : {title}.\n{detail}\nRisques : "
    "{risks}\nRetour arrière : {rollback}\nDétails dans {folder}/plan.md. Donnez-vous votre "
    "accord pour cette étape ? (Le workflow n'exécute rien : votre réponse est enregistrée.)",
    "decision": "- étape {n} : {state}{by}{note}",
    "by": " par {member}",
    "colon": " : ",
}


def words(language: str) -> dict[str, str]:
    """The sentences of ``language``: French for ``fr``, English otherwise."""
    return _FR if language == "fr" else _EN


def eur(value: float | None, language: str = "en") -> str:
    """€1,234.50 in English, 1 234,50 € in French; 'unknown' when there is no figure."""
    if value is None:
        return words(language)["unknown"]
    if language != "fr":
        return f"€{value:,.2f}"
    # French: no-break space between thousands, comma before the cents, € after.
    grouped = f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return f"{grouped}\u00a0€"
