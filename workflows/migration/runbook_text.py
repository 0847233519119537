"""What each runbook step says, in English and French: title, actions, risks, rollback.

``runbook`` decides which steps a plan needs and what they move; this module only holds
their words, so both languages say the same thing step for step.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunbookText", "StepText", "runbook_text"]


@dataclass(frozen=True)
class StepText:
    title: str
    actions: tuple[str, ...]
    risks: tuple[str, ...]
    rollback: str
    note: str = ""  # how to measure what the step moves


@dataclass(frozen=True)
class RunbookText:
    prepare: StepText
    databases: StepText
    buckets: StepText
    compute: StepText
    dns: StepText
    decommission: StepText
    zones: str
    at_least: str  # a partial sum of sizes is a floor
    unknown: str
    missing: str  # "{names}{more}"
    more: str
    measure: str


EN = RunbookText(
    prepare=StepText(
        "Prepare the target accounts and network",
        (
            "Create the project and an API key with the least rights; keep the secrets in a "
            "secret store, never in the .tf files.",
            "Run 'tofu init' and 'tofu plan' on the generated files; review every resource.",
            "Apply the networks and firewalls only ('tofu apply -target=...'); check that the "
            "address ranges do not overlap any VPN or peered network.",
        ),
        (
            "Firewall rules translated too widely open a port to the internet.",
            "Address ranges that overlap a VPN break the link during the copy.",
        ),
        "Run 'tofu destroy' on the target; nothing on Google Cloud has changed yet.",
    ),
    databases=StepText(
        "Create the databases and copy the data",
        (
            "Create the target databases (managed on Scaleway; on Hetzner, install the engine "
            "on the generated servers, with backups).",
            "Copy: MySQL with binlog replication or mysqldump; PostgreSQL with logical "
            "replication or pg_dump/pg_restore. Check row counts and checksums.",
            "Keep replication running until the switch-over.",
        ),
        (
            "A major version upgrade (e.g. PostgreSQL 9.6 → 16) can break queries and "
            "extensions: test the application against the copy.",
            "Replication lag or a failed dump means a longer write freeze at switch-over.",
            "Transfer is bounded by the allocated disk; the data may be smaller.",
        ),
        "Stop the replication and delete the target databases; Cloud SQL stays primary.",
        "measure with the database's own size query",
    ),
    buckets=StepText(
        "Copy the buckets",
        (
            "Create the target buckets (names are global: some may need a new name).",
            "Copy with 'rclone sync gcs:BUCKET target:BUCKET --checksum', then sync again "
            "after the write freeze.",
            "Recreate lifecycle rules, CORS and public access by hand: they do not copy.",
        ),
        (
            "Egress is billed by Google per GiB read out.",
            "Signed URLs, IAM bindings and ACLs do not carry over.",
        ),
        "Delete the target buckets; Cloud Storage stays the source of truth.",
        "measure with 'gcloud storage du -s gs://BUCKET'",
    ),
    compute=StepText(
        "Deploy the servers, clusters and load balancers",
        (
            "Apply the rest of the generated files.",
            "Provision servers from code (cloud-init, Ansible) rather than copying images; "
            "copy only the data disks that hold state.",
            "Deploy the Kubernetes workloads (Helm, manifests); restore volumes with Velero.",
            "Point the load balancers at the new servers; test end to end on their IPs.",
        ),
        (
            "Google-specific agents, metadata-server credentials and service-account "
            "scopes do not exist on the target.",
            "Shared-vCPU offers can be slower under sustained load: load-test.",
        ),
        "Destroy the new servers and clusters; traffic still goes to Google Cloud.",
        "a redeploy from code moves less than this; disk sizes are upper bounds",
    ),
    dns=StepText(
        "Switch DNS to the target",
        (
            "48 hours before: lower the TTL of every record to move to 300 seconds.",
            "Issue TLS certificates on the target before the switch.",
            "Freeze writes, run the last database and bucket syncs, then change the records.",
            "Watch errors and latency for a day with Google Cloud still running.",
        ),
        (
            "Resolvers that ignore the TTL keep sending some users to the old address.",
            "The write freeze is downtime: announce it.",
        ),
        "Point the records back at the Google Cloud addresses; with a 300-second TTL, users "
        "return within minutes. Replicate back any writes made on the target.",
        "the last delta of data only",
    ),
    decommission=StepText(
        "Decommission Google Cloud",
        (
            "Wait until the target has run cleanly for at least 14 days.",
            "Export final backups of every database and bucket; keep them 90 days.",
            "Delete the Google Cloud resources, then close the billing account.",
        ),
        (
            "Deletion cannot be undone.",
            "Forgotten dependencies (schedulers, IAM grants, third parties calling old IPs).",
        ),
        "None once deleted: restore from the exported backups. Until then, stop here.",
    ),
    zones="Zones: {zones}",
    at_least="at least this: ",
    unknown="unknown: ",
    missing="size of {names}{more} not in the inventory; ",
    more=" and {n} more",
    measure="measure before this step",
)

FR = RunbookText(
    prepare=StepText(
        "Préparer les comptes et le réseau cibles",
        (
            "Créer le projet et une clé d'API aux droits minimaux ; garder les secrets dans un "
            "coffre à secrets, jamais dans les fichiers .tf.",
            "Lancer 'tofu init' et 'tofu plan' sur les fichiers générés ; relire chaque ressource.",
            "Appliquer d'abord les réseaux et pare-feux seuls ('tofu apply -target=...') ; "
            "vérifier que les plages d'adresses ne chevauchent aucun VPN ni réseau appairé.",
        ),
        (
            "Des règles de pare-feu traduites trop largement ouvrent un port sur internet.",
            "Des plages d'adresses qui chevauchent un VPN coupent le lien pendant la copie.",
        ),
        "Lancer 'tofu destroy' sur la cible ; rien n'a encore changé sur Google Cloud.",
    ),
    databases=StepText(
        "Créer les bases de données et copier les données",
        (
            "Créer les bases cibles (managées chez Scaleway ; chez Hetzner, installer le "
            "moteur sur les serveurs générés, avec des sauvegardes).",
            "Copier : MySQL par réplication binlog ou mysqldump ; PostgreSQL par réplication "
            "logique ou pg_dump/pg_restore. Vérifier le nombre de lignes et les sommes de "
            "contrôle.",
            "Laisser la réplication tourner jusqu'à la bascule.",
        ),
        (
            "Une montée de version majeure (par ex. PostgreSQL 9.6 → 16) peut casser des "
            "requêtes et des extensions : tester l'application sur la copie.",
            "Un retard de réplication ou un dump raté allonge le gel des écritures à la bascule.",
            "Le transfert est borné par le disque alloué ; les données peuvent être moindres.",
        ),
        "Arrêter la réplication et supprimer les bases cibles ; Cloud SQL reste la base "
        "principale.",
        "mesurer avec la requête de taille propre au moteur",
    ),
    buckets=StepText(
        "Copier les buckets",
        (
            "Créer les buckets cibles (les noms sont globaux : certains devront changer de nom).",
            "Copier avec 'rclone sync gcs:BUCKET target:BUCKET --checksum', puis synchroniser "
            "à nouveau après le gel des écritures.",
            "Recréer à la main les règles de cycle de vie, le CORS et l'accès public : ils ne "
            "se copient pas.",
        ),
        (
            "La sortie de données est facturée par Google au Gio lu.",
            "Les URL signées, les droits IAM et les ACL ne suivent pas.",
        ),
        "Supprimer les buckets cibles ; Cloud Storage reste la référence.",
        "mesurer avec 'gcloud storage du -s gs://BUCKET'",
    ),
    compute=StepText(
        "Déployer les serveurs, les clusters et les répartiteurs de charge",
        (
            "Appliquer le reste des fichiers générés.",
            "Provisionner les serveurs depuis le code (cloud-init, Ansible) plutôt que copier "
            "des images ; ne copier que les disques de données qui portent un état.",
            "Déployer les charges Kubernetes (Helm, manifestes) ; restaurer les volumes avec "
            "Velero.",
            "Pointer les répartiteurs de charge vers les nouveaux serveurs ; tester de bout en "
            "bout sur leurs IP.",
        ),
        (
            "Les agents propres à Google, les identifiants du serveur de métadonnées et les "
            "portées des comptes de service n'existent pas sur la cible.",
            "Les offres à vCPU partagés peuvent ralentir sous charge soutenue : faire un test "
            "de charge.",
        ),
        "Détruire les nouveaux serveurs et clusters ; le trafic va toujours vers Google Cloud.",
        "un redéploiement depuis le code déplace moins que cela ; les tailles de disque sont "
        "des maxima",
    ),
    dns=StepText(
        "Basculer le DNS vers la cible",
        (
            "48 heures avant : baisser à 300 secondes le TTL de chaque enregistrement à déplacer.",
            "Émettre les certificats TLS sur la cible avant la bascule.",
            "Geler les écritures, lancer les dernières synchronisations des bases et des "
            "buckets, puis changer les enregistrements.",
            "Surveiller erreurs et latence pendant une journée, Google Cloud toujours en marche.",
        ),
        (
            "Les résolveurs qui ignorent le TTL envoient encore des utilisateurs à l'ancienne "
            "adresse.",
            "Le gel des écritures est une interruption de service : l'annoncer.",
        ),
        "Repointer les enregistrements vers les adresses Google Cloud ; avec un TTL de 300 "
        "secondes, les utilisateurs reviennent en quelques minutes. Répliquer en retour les "
        "écritures faites sur la cible.",
        "le dernier delta de données seulement",
    ),
    decommission=StepText(
        "Décommissionner Google Cloud",
        (
            "Attendre que la cible ait tourné sans incident au moins 14 jours.",
            "Exporter des sauvegardes finales de chaque base et de chaque bucket ; les garder "
            "90 jours.",
            "Supprimer les ressources Google Cloud, puis fermer le compte de facturation.",
        ),
        (
            "Une suppression est définitive.",
            "Des dépendances oubliées (planificateurs, droits IAM, tiers qui appellent les "
            "anciennes IP).",
        ),
        "Aucun une fois supprimé : restaurer depuis les sauvegardes exportées. D'ici là, "
        "s'arrêter ici.",
    ),
    zones="Zones : {zones}",
    at_least="au moins ceci : ",
    unknown="inconnu : ",
    missing="taille de {names}{more} absente de l'inventaire ; ",
    more=" et {n} autre(s)",
    measure="mesurer avant cette étape",
)


def runbook_text(language: str) -> RunbookText:
    """French for ``fr``, English otherwise."""
    return FR if language == "fr" else EN
