"""Google Cloud locations → the nearest Scaleway region and Hetzner location.

Nearest by great-circle distance between the cities the data centres are in. A source
outside Europe has no near European target: it gets the default (Paris, Falkenstein) and
the reason says latency for its users will change.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum

from workflows.migration.why import Why, why

__all__ = ["DEFAULT", "Target", "nearest", "scaleway_zone", "split_location"]


class Target(StrEnum):
    """A provider we can plan a migration to."""

    SCALEWAY = "scaleway"
    HETZNER = "hetzner"


# Approximate city coordinates (latitude, longitude).
_GCP: dict[str, tuple[float, float]] = {
    "europe-west1": (50.45, 3.82),  # St. Ghislain, Belgium
    "europe-west2": (51.51, -0.13),  # London
    "europe-west3": (50.11, 8.68),  # Frankfurt
    "europe-west4": (53.44, 6.84),  # Eemshaven, Netherlands
    "europe-west6": (47.37, 8.54),  # Zurich
    "europe-west8": (45.46, 9.19),  # Milan
    "europe-west9": (48.86, 2.35),  # Paris
    "europe-west10": (52.52, 13.40),  # Berlin
    "europe-west12": (45.07, 7.69),  # Turin
    "europe-central2": (52.23, 21.01),  # Warsaw
    "europe-north1": (60.57, 27.19),  # Hamina, Finland
    "europe-north2": (59.33, 18.07),  # Stockholm
    "europe-southwest1": (40.42, -3.70),  # Madrid
    "eu": (50.11, 8.68),  # EU multi-region: centred on Frankfurt
}

_TARGETS: dict[Target, dict[str, tuple[float, float]]] = {
    Target.SCALEWAY: {
        "fr-par": (48.86, 2.35),
        "nl-ams": (52.37, 4.90),
        "pl-waw": (52.23, 21.01),
    },
    Target.HETZNER: {
        "fsn1": (50.47, 12.37),  # Falkenstein
        "nbg1": (49.45, 11.08),  # Nuremberg
        "hel1": (60.17, 24.94),  # Helsinki
    },
}

DEFAULT: dict[Target, str] = {Target.SCALEWAY: "fr-par", Target.HETZNER: "fsn1"}

_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-([a-z])$")


def split_location(location: str | None) -> tuple[str | None, str | None]:
    """``us-central1-b`` → (``us-central1``, ``us-central1-b``); a region → (region, None)."""
    if not location:
        return None, None
    text = location.strip().lower()
    zone = _ZONE.match(text)
    if zone:
        return zone.group(1), text
    return text, None


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371 * 2 * math.asin(math.sqrt(h))


def nearest(region: str | None, target: Target) -> tuple[str, Why]:
    """The target location nearest to a GCP region, and why it was chosen."""
    where = (region or "").lower()
    here = _GCP.get(where)
    if here is None:
        chosen = DEFAULT[target]
        if not where or where == "unknown":
            return chosen, why("region_unknown", location=chosen)
        return chosen, why("region_far", region=where, location=chosen)
    places = _TARGETS[target]
    chosen = min(places, key=lambda name: _km(here, places[name]))
    km = round(_km(here, places[chosen]))
    return chosen, why("nearest", location=chosen, region=where, km=km)


def scaleway_zone(region: str) -> str:
    """The first availability zone of a Scaleway region."""
    return f"{region}-1"
