"""The migration report's sentences in English and French: summary, plan.md, step question.

The report is in the founder's language (``workflows._language``). The runbook's own
steps are in ``runbook_text``; the reasons a resource maps the way it does come as data
(``why``) and ``said`` writes them here; the price table's notes are in ``prices.yaml``
in both languages.
"""

from __future__ import annotations

from collections.abc import Iterable

from workflows._language import number
from workflows.migration.notes_text import note_in
from workflows.migration.why import Why, WhyCode

__all__ = ["eur", "gib", "label", "said", "words"]

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
    "gcp_total": "- Google Cloud today, everything priced: {total} per month{dated}.",
    "dated": " (prices of {date})",
    "in_year": "in {date}",
    "on_day": "on {date}",
    "stale_rows": "{n} of the table's {total} rows were read over {days} days ago: re-check "
    "them on their pages before you rely on this plan.",
    "dated_stale": " (prices of {date}, over {days} days old: re-check them)",
    "stopped": "{n} stopped at source, priced by their disks",
    "dropped_heading": "## Not carried over ({n} attribute(s))",
    "dropped_intro": "What the sources hold that the equivalents above do not get, with what "
    "to do about each.",
    "summary_dropped": "**Not carried over**: {n} attribute(s) of {resources} resource(s) "
    "(GPUs, preemptible or spot, local SSDs, autoscaling, labels...), each with what to do; "
    "all in plan.md.",
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
    "prices_note": "> Prices from the project's price table, read {checked}; prices "
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
    "summary_prices": "Prices from the project's table, read {checked}: prices change, "
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
    "progress_read": "read {n} records",  # the run's steps, as ``workflow run`` shows them
    "progress_written": "plan written to {folder}",
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
    "gcp_total": "- Google Cloud aujourd'hui, tout ce qui est chiffré : {total} par mois{dated}.",
    "dated": " (prix de {date})",
    "in_year": "en {date}",
    "on_day": "le {date}",
    "stale_rows": "{n} des {total} lignes de la table ont été relevées il y a plus de {days} "
    "jours : revérifiez-les sur leurs pages avant de vous fier à ce plan.",
    "dated_stale": " (prix de {date}, vieux de plus de {days} jours : à revérifier)",
    "stopped": "{n} arrêtée(s) à la source, chiffrée(s) par leurs disques",
    "dropped_heading": "## Non reporté ({n} attribut(s))",
    "dropped_intro": "Ce que les sources portent et que les équivalents ci-dessus ne "
    "reçoivent pas, avec ce qu'il faut faire pour chacun.",
    "summary_dropped": "**Non reporté** : {n} attribut(s) de {resources} ressource(s) (GPU, "
    "préemptible ou spot, SSD locaux, mise à l'échelle automatique, labels...), chacun avec "
    "ce qu'il faut faire ; tout dans plan.md.",
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
    "prices_note": "> Prix tirés de la table de prix du projet, relevés {checked} ; les "
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
    "summary_prices": "Prix tirés de la table du projet, relevés {checked} : les prix "
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
    "progress_read": "{n} enregistrement(s) lu(s)",
    "progress_written": "plan écrit dans {folder}",
}


_WHY_EN: dict[WhyCode, str] = {
    "cheapest_server": "{offer} is the cheapest with ≥ {vcpu} vCPU and ≥ {memory} GiB",
    "cheapest_shared": "{offer} is the cheapest with ≥ {vcpu} vCPU and ≥ {memory} GiB "
    "(shared vCPU)",
    "arm_cheaper": "{offer} (arm64) is cheaper if the software runs on arm64",
    "disk_assumed": "disk size unknown, {gib} GiB assumed",
    "cheapest_db_node": "{offer} is the cheapest node with ≥ {vcpu} vCPU and ≥ {memory} GiB",
    "standby": "high availability: a standby node",
    "managed_db_missing": "Hetzner Cloud has no managed database: {engine} on {nodes} "
    "server(s) you operate (backups, upgrades, failover are yours)",
    "s3": "S3-compatible {offer}",
    "rclone": "copy with rclone",
    "pool": "pool {pool}: {nodes} × {offer}",
    "kapsule": "Kubernetes Kapsule (managed)",
    "k3s": "Hetzner Cloud has no managed Kubernetes: k3s on servers you operate (e.g. with "
    "kube-hetzner or hetzner-k3s), one control-plane server (three for high availability)",
    "same_role": "same role",
    "block_volume": "block volume",
    "size_unknown": "size unknown",
    "setting_of": "a setting of {on}, not a resource of its own",
    "sized_from_name": "machine type {type} is not a predefined type: sized from its name "
    "({vcpu} vCPU, {memory} GiB)",
    "sized_from_fields": "machine type {type} unknown: sized from the record's vCPU and "
    "memory fields ({vcpu} vCPU, {memory} GiB)",
    "stopped_source": "stopped at source ({status}): sized as {offer} but not started; only "
    "its disk is kept and priced, as Google bills it today ({offer} would cost €{running} a "
    "month running)",
    "no_public_ip": "no external IP at source: none on the target (reach it over the private "
    "network)",
    "public_ip_assumed": "the source does not say whether it has an external IP: one is "
    "planned; remove it if the VM had none",
    "nearest": "{location} is nearest to {region} ({km} km)",
    "region_unknown": "source region unknown: {location} by default",
    "region_far": "{region} is outside the European regions we place: {location} by default; "
    "latency for its users will change",
    "placeholder_machine": "the machine type is a template placeholder and the record "
    "gives no vCPU or memory: size the server by hand",
    "unknown_machine": "machine type {type} is not in the table, so its size is unknown; add "
    "it to machines.py or size the server by hand",
    "no_server": "no {target} server has ≥ {vcpu} vCPU and ≥ {memory} GiB",
    "unknown_tier": "Cloud SQL tier {tier} unknown: size unknown",
    "no_db_server": "no Hetzner server is large enough for this database",
    "engine_unsupported": "Scaleway Managed Database runs PostgreSQL and MySQL only; {engine} "
    "has no managed equivalent",
    "no_db_node": "no Scaleway database node is large enough",
    "pool_unknown": "pool {pool}: machine type or node count unknown",
    "no_pool_server": "no {target} server fits pool {pool}",
    "identity": "service accounts do not carry over: create an API key (a Scaleway IAM "
    "application, a Hetzner project token) with the least rights by hand",
    "no_rule": "no equivalent rule for {type}",
    "no_rule_noted": "no equivalent rule for {type} ({notes})",
}

_WHY_FR: dict[WhyCode, str] = {
    "cheapest_server": "{offer} est le moins cher avec ≥ {vcpu} vCPU et ≥ {memory} Gio",
    "cheapest_shared": "{offer} est le moins cher avec ≥ {vcpu} vCPU et ≥ {memory} Gio "
    "(vCPU partagés)",
    "arm_cheaper": "{offer} (arm64) coûte moins cher si le logiciel tourne sur arm64",
    "disk_assumed": "taille de disque inconnue, {gib} Gio supposés",
    "cheapest_db_node": "{offer} est le nœud le moins cher avec ≥ {vcpu} vCPU et ≥ {memory} Gio",
    "standby": "haute disponibilité : un nœud de secours",
    "managed_db_missing": "Hetzner Cloud n'a pas de base de données managée : {engine} sur "
    "{nodes} serveur(s) que vous exploitez (sauvegardes, mises à jour et bascule à votre "
    "charge)",
    "s3": "{offer} compatible S3",
    "rclone": "copie avec rclone",
    "pool": "pool {pool} : {nodes} × {offer}",
    "kapsule": "Kubernetes Kapsule (managé)",
    "k3s": "Hetzner Cloud n'a pas de Kubernetes managé : k3s sur des serveurs que vous "
    "exploitez (par exemple avec kube-hetzner ou hetzner-k3s), un serveur de plan de contrôle "
    "(trois pour la haute disponibilité)",
    "same_role": "même rôle",
    "block_volume": "volume bloc",
    "size_unknown": "taille inconnue",
    "setting_of": "un réglage de {on}, pas une ressource à part entière",
    "sized_from_name": "le type de machine {type} n'est pas un type prédéfini : dimensionné "
    "d'après son nom ({vcpu} vCPU, {memory} Gio)",
    "sized_from_fields": "type de machine {type} inconnu : dimensionné d'après les champs "
    "vCPU et mémoire de l'enregistrement ({vcpu} vCPU, {memory} Gio)",
    "stopped_source": "arrêtée à la source ({status}) : dimensionnée en {offer} mais non "
    "démarrée ; seul son disque est gardé et chiffré, comme Google le facture aujourd'hui "
    "({offer} coûterait {running} € par mois en marche)",
    "no_public_ip": "pas d'IP externe à la source : aucune sur la cible (y accéder par le "
    "réseau privé)",
    "public_ip_assumed": "la source ne dit pas si elle a une IP externe : une est prévue ; "
    "la retirer si la VM n'en avait pas",
    "nearest": "{location} est le plus proche de {region} ({km} km)",
    "region_unknown": "région source inconnue : {location} par défaut",
    "region_far": "{region} est hors des régions européennes que nous plaçons : {location} "
    "par défaut ; la latence pour ses utilisateurs changera",
    "placeholder_machine": "le type de machine est un paramètre de gabarit et "
    "l'enregistrement ne donne ni vCPU ni mémoire : dimensionner le serveur à la main",
    "unknown_machine": "le type de machine {type} n'est pas dans la table, sa taille est donc "
    "inconnue ; ajoutez-le à machines.py ou dimensionnez le serveur à la main",
    "no_server": "aucun serveur {target} n'a ≥ {vcpu} vCPU et ≥ {memory} Gio",
    "unknown_tier": "niveau Cloud SQL {tier} inconnu : taille inconnue",
    "no_db_server": "aucun serveur Hetzner n'est assez grand pour cette base de données",
    "engine_unsupported": "Scaleway Managed Database ne propose que PostgreSQL et MySQL ; "
    "{engine} n'a pas d'équivalent managé",
    "no_db_node": "aucun nœud de base de données Scaleway n'est assez grand",
    "pool_unknown": "pool {pool} : type de machine ou nombre de nœuds inconnu",
    "no_pool_server": "aucun serveur {target} ne convient au pool {pool}",
    "identity": "les comptes de service ne se transposent pas : créez à la main une clé d'API "
    "(une application IAM Scaleway, un jeton de projet Hetzner) aux droits minimaux",
    "no_rule": "aucune règle d'équivalence pour {type}",
    "no_rule_noted": "aucune règle d'équivalence pour {type} ({notes})",
}

# A value a resource does not state, said the reader's way.
_BLANK = {
    "en": {"type": "(none)", "engine": "the engine", "on": "its load balancer"},
    "fr": {"type": "(aucun)", "engine": "le moteur", "on": "son répartiteur de charge"},
}


def said(reasons: Iterable[Why], language: str = "en") -> str:
    """A choice's reasons as one line of ``language``: French for ``fr``, else English."""
    fr = language == "fr"
    sentences, blank = (_WHY_FR, _BLANK["fr"]) if fr else (_WHY_EN, _BLANK["en"])
    lines = []
    for reason in reasons:
        fields: dict[str, str] = {}
        for name, value in reason.values.items():
            if isinstance(value, float):
                fields[name] = number(value, "g", language)
            elif name == "notes":  # the parsers' own notes, written in English
                said_notes = (note_in(n, language) for n in str(value).split("; "))
                fields[name] = (" ; " if fr else "; ").join(said_notes)
            else:
                fields[name] = str(value) or blank.get(name, "")
        lines.append(sentences[reason.code].format(**fields))
    return (" ; " if fr else "; ").join(lines)


def words(language: str) -> dict[str, str]:
    """The sentences of ``language``: French for ``fr``, English otherwise."""
    return _FR if language == "fr" else _EN


def eur(value: float | None, language: str = "en") -> str:
    """€1,234.50 in English, 1 234,50 € in French; 'unknown' when there is no figure."""
    if value is None:
        return words(language)["unknown"]
    if language != "fr":
        return f"€{value:,.2f}"
    return f"{number(value, ',.2f', 'fr')}\u00a0€"  # the euro sign after, in French


# The inventory's kinds and the mapping's statuses are data (``resource.Kind``,
# ``sizing.Status``); shown to a French reader, they are said in French.
_LABELS_FR = {
    "compute": "serveur",
    "disk": "disque",
    "database": "base de données",
    "bucket": "bucket",
    "kubernetes": "Kubernetes",
    "node_pool": "pool de nœuds",
    "network": "réseau",
    "subnet": "sous-réseau",
    "firewall": "pare-feu",
    "load_balancer": "répartiteur de charge",
    "part": "élément",
    "address": "adresse IP",
    "dns_zone": "zone DNS",
    "project": "projet",
    "identity": "identité",
    "other": "autre",
    "mapped": "transposé",
    "self-managed": "autogéré",
    "unmapped": "sans équivalent",
    "unknown": "inconnu",
}


def label(value: str, language: str = "en") -> str:
    """A kind, a status or ``unknown`` as the reader says it (the code itself in English)."""
    return _LABELS_FR.get(value, value) if language == "fr" else value


def gib(value: float | None, language: str = "en") -> str:
    """``3.75 GiB`` in English, ``3,75 Gio`` in French; ``?`` when the size is unknown."""
    if value is None:
        return "?"
    return f"{number(value, 'g', language)} {'Gio' if language == 'fr' else 'GiB'}"
