"""What to do about each attribute not carried over, in English and French.

``carried`` finds the attributes; this module says them: one line per attribute, with the
source's value where it helps ("2 × nvidia-tesla-t4") and the action the team takes.
"""

from __future__ import annotations

from workflows.migration.plan import MigrationPlan
from workflows.migration.resource import Dropped

__all__ = ["dropped_count", "dropped_lines", "dropped_said"]

_EN = {
    "gpu": "{detail}: neither target's general-purpose offers carry them; price a GPU "
    "instance (Scaleway GPU instances) or a dedicated server with a GPU by hand",
    "preemptible": "the target offers are not preemptible and cost full price; "
    "keep the workload restart-safe, or stop the server when it is idle",
    "spot": "no spot offer on the target, priced at the full on-demand "
    "rate; stop the server when it is idle to save",
    "sole_tenant": "sole-tenant nodes: ask for a dedicated server if isolation is required",
    "local_ssd": "{detail} local SSD(s): use the server's local disk or a block volume; "
    "their data is lost at every stop, copy nothing",
    "nics": "{detail} network interfaces: the target server gets one private network; add "
    "the others by hand",
    "alias_ip": "no equivalent; give the containers or services their own "
    "addresses on the private network",
    "autoscaling": "{detail} nodes, planned at the minimum; set the pool's "
    "autoscaling (Kapsule: min_size/max_size, autoscaling = true; k3s: cluster-autoscaler) "
    "by hand",
    "labels": "copy them as tags (Scaleway) or labels (Hetzner) if scripts or billing use them",
    "tags": "network tags decide which firewall rules apply: attach the security group or "
    "firewall to these servers",
    "service_account": "a Google identity: give the server an API key with the least rights "
    "instead",
    "metadata": "move startup scripts and keys to cloud-init (user_data)",
    "scopes": "Google API scopes: nothing to carry; give an API key instead",
    "deletion_protection": "set protection on the target (Scaleway 'protected', Hetzner "
    "'delete_protection')",
    "backups": "set up backups on the target (Scaleway Managed Database backups; on Hetzner, "
    "your own dumps)",
    "database_flags": "set the same engine parameters on the target (Scaleway 'settings'; a "
    "config file on Hetzner)",
    "ip_configuration": "authorized networks and private IP: allow the same sources on the "
    "target (Scaleway ACLs, Hetzner firewall)",
    "bucket_rules": "recreate it on the target bucket by hand (rclone does not copy it)",
    "observability": "Google logging and monitoring stop at the move: set up the target's "
    "(Scaleway Cockpit, or your own)",
    "attribute": "check whether it matters and set it on the target by hand",
}

_FR = {
    "gpu": "{detail} : les offres généralistes des cibles n'en ont pas ; chiffrer à la "
    "main une instance GPU (Scaleway) ou un serveur dédié avec GPU",
    "preemptible": "les offres cibles ne le sont pas et coûtent plein tarif ; "
    "garder la charge redémarrable, ou arrêter le serveur quand il ne sert pas",
    "spot": "pas d'offre spot sur la cible, chiffré au tarif normal ; "
    "arrêter le serveur quand il ne sert pas pour économiser",
    "sole_tenant": "nœuds à locataire unique : demander un serveur dédié si l'isolation est exigée",
    "local_ssd": "{detail} SSD local(aux) : utiliser le disque local du serveur ou un volume "
    "bloc ; leurs données sont perdues à chaque arrêt, rien à copier",
    "nics": "{detail} interfaces réseau : le serveur cible a un réseau privé ; ajouter les "
    "autres à la main",
    "alias_ip": "pas d'équivalent ; donner aux conteneurs ou services "
    "leurs propres adresses sur le réseau privé",
    "autoscaling": "{detail} nœuds, planifié au minimum ; "
    "régler à la main celle du pool (Kapsule : min_size/max_size, autoscaling = true ; k3s : "
    "cluster-autoscaler)",
    "labels": "les recopier en tags (Scaleway) ou labels (Hetzner) si des scripts ou la "
    "facturation s'en servent",
    "tags": "les tags réseau décident des règles de pare-feu appliquées : rattacher le groupe "
    "de sécurité ou le pare-feu à ces serveurs",
    "service_account": "une identité Google : donner plutôt au serveur une clé d'API aux "
    "droits minimaux",
    "metadata": "déplacer scripts de démarrage et clés dans cloud-init (user_data)",
    "scopes": "portées d'API Google : rien à reporter ; donner une clé d'API à la place",
    "deletion_protection": "activer la protection sur la cible (Scaleway 'protected', "
    "Hetzner 'delete_protection')",
    "backups": "mettre en place les sauvegardes sur la cible (sauvegardes de Managed Database "
    "chez Scaleway ; vos propres dumps chez Hetzner)",
    "database_flags": "reporter les mêmes paramètres du moteur sur la cible ('settings' chez "
    "Scaleway ; un fichier de configuration chez Hetzner)",
    "ip_configuration": "réseaux autorisés et IP privée : autoriser les mêmes sources sur la "
    "cible (ACL Scaleway, pare-feu Hetzner)",
    "bucket_rules": "le recréer à la main sur le bucket cible (rclone ne le copie pas)",
    "observability": "la journalisation et la supervision Google s'arrêtent avec la "
    "migration : mettre en place celles de la cible (Scaleway Cockpit, ou les vôtres)",
    "attribute": "vérifier si cela compte et le régler à la main sur la cible",
}

# An attribute's last name → the advice that fits it better than the generic one.
_BY_NAME = {
    "labels": "labels", "resource_labels": "labels", "user_labels": "labels",
    "tags": "tags", "service_account": "service_account", "service_accounts": "service_account",
    "metadata": "metadata", "metadata_startup_script": "metadata",
    "oauth_scopes": "scopes", "scopes": "scopes", "deletion_protection": "deletion_protection",
    "backup_configuration": "backups", "database_flags": "database_flags",
    "ip_configuration": "ip_configuration", "lifecycle_rule": "bucket_rules",
    "lifecycle": "bucket_rules", "cors": "bucket_rules", "versioning": "bucket_rules",
    "retention_policy": "bucket_rules", "website": "bucket_rules", "logging": "bucket_rules",
    "iam_configuration": "bucket_rules", "uniform_bucket_level_access": "bucket_rules",
    "logging_service": "observability", "monitoring_service": "observability",
}  # fmt: skip

_NOT_CARRIED = {"en": "not carried over", "fr": "non reporté"}


def _advice(item: Dropped) -> str:
    if item.code != "attribute":
        return item.code
    return _BY_NAME.get(item.attribute.rsplit(".", 1)[-1], "attribute")


def dropped_said(item: Dropped, language: str = "en") -> str:
    """``attribute: not carried over; what to do``, in French for ``fr``, else English."""
    fr = language == "fr"
    template = (_FR if fr else _EN)[_advice(item)]
    text = template.format(detail=item.detail)
    # A value the sentence does not quote is shown beside the attribute's name.
    shown = f" ({item.detail})" if item.detail and "{detail}" not in template else ""
    colon = " : " if fr else ": "
    return f"{item.attribute}{shown}{colon}{_NOT_CARRIED['fr' if fr else 'en']}{colon}{text}"


def dropped_count(plan: MigrationPlan) -> int:
    """How many attributes, over the whole inventory, are not carried over."""
    return sum(len(p.resource.dropped) for p in plan.planned)


def dropped_lines(plan: MigrationPlan, language: str = "en") -> list[str]:
    """One line per resource that drops something, each attribute with what to do."""
    sep = " ; " if language == "fr" else "; "
    colon = " : " if language == "fr" else ": "
    lines = []
    for item in plan.planned:
        r = item.resource
        if r.dropped:
            said = sep.join(dropped_said(d, language) for d in r.dropped)
            lines.append(f"- {r.name} ({r.asset_type}){colon}{said}")
    return lines
