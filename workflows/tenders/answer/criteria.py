"""Award criteria and their weights, read off the lines of a consultation file.

Only lines in a section about judging offers (``Jugement des offres``, ``Critères
d'attribution``, ``Award criteria``), or after a sentence that announces the criteria, are
read. A criterion is a short label that starts with a criterion's usual words (prix,
valeur technique, qualité, délai, price, quality...) or carries a weight (``Méthodologie :
25 %``, ``Prix (40 points)``). Tables come out of PDFs in pieces, so a weight on a line of
its own belongs to the last label still without one; after ``dont`` (or "as follows") the
weights that follow are the criterion's sub-criteria, named or not, as long as they fit in
its weight. With no weight at all, the criteria are kept in their order (ranked criteria).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from workflows.tenders.answer.model import Criterion
from workflows.tenders.answer.outline import Line

__all__ = ["read_criteria"]

_ZONE_HEADING = re.compile(
    r"jugement des offres|crit[eè]res?\b|attribution|award|évaluation des offres|"
    r"analyse des offres|choix de l.offre|sélection des offres|evaluation",
    re.I,
)
_ZONE_TEXT = re.compile(
    r"crit[eè]res?\s+(?:d.attribution|de jugement|de sélection des offres|suivants|"
    r"intervenant pour le jugement|pondérés)|award criteria|offers will be (?:assessed|evaluated)",
    re.I,
)
_WEIGHT = re.compile(
    r"(?<![\d,.])(\d{1,3}(?:[.,]\d{1,2})?)\s*(%|pour\s?cent|points?\b|pts\b)", re.I
)
_SUB = re.compile(
    r"^(?:sous[- ]?crit[eè]re|sub[- ]?criteri(?:on|a)|\d{1,2}\.\d{1,2}\.?\s|[a-h]\)|[-–•▪*]\s)",
    re.I,
)
_HEAD = re.compile(
    r"^(?:crit[eè]re\s*(?:n°\s*)?\d*\s*[:.–-]?\s*|criterion\s*\d*\s*[:.–-]?\s*|"
    r"sous[- ]?crit[eè]re\s*(?:n°\s*)?\d*\s*[:.–-]?\s*|sub[- ]?criterion\s*\d*\s*[:.–-]?\s*)?"
    r"(?:prix|co[uû]t|valeur|qualit[ée]|d[ée]lais?|performances?|m[ée]thodologie|moyens|"
    r"r[ée]f[ée]rences|d[ée]veloppement durable|environnement|crit[eè]re|sous[- ]?crit[eè]re|"
    r"price|cost|quality|technical|delivery|sustainab|environmental|social|methodology|"
    r"experience|organi[sz]ation|service|support|s[ée]curit[ée]|security)",
    re.I,
)
_SPLITS = re.compile(
    r"\b(?:dont|répartis?|décomposée?s? comme suit|comme suit|as follows|of which)\b"
    r"|sous[- ]?crit[eè]res",
    re.I,
)
_NUMBERING = re.compile(r"^(?:[-–•▪*]\s*|\d{1,2}(?:\.\d{1,2})*[.)]?\s+|[a-h]\)\s*)")
_LABEL_PREFIX = re.compile(
    r"^(?:sous[- ]?crit[eè]re|sub[- ]?criterion|crit[eè]re|criterion)\s*(?:n°\s*)?\d+\s*[:.–-]\s*",
    re.I,
)


# Where a label's name ends: "Prix des prestations, apprécié au vu du BPU (45 points)".
_NAME_END = re.compile(
    r"\s*[:(]|,\s(?=(?:appréci|jug|évalu|noté|décompos|répart|assess|judg|evaluat|scor))|"
    r"\.\s|\s+dont\b",
    re.I,
)


@dataclass
class _Open:
    name: str
    weight: float | None
    unit: str
    line: Line
    splits: bool = False
    subs: list[_Open] = field(default_factory=list)
    section: str = ""


def read_criteria(lines: list[Line]) -> list[Criterion]:
    """The criteria of one file, with their sub-criteria, in the order they are written."""
    tops: list[_Open] = []
    current: list[_Open] = []  # the criterion that takes sub-criteria (one at most)
    zone: str | None = None
    for line in lines:
        inside = zone is not None and (line.section == zone or _within(line, zone))
        if line.is_heading and (not inside or _ZONE_HEADING.search(line.heading)):
            # Narrowed to a sub-section about criteria ("6. Jugement... attribution" holds
            # "6.2 Jugement des offres"), left at a section about something else.
            zone = line.section if _ZONE_HEADING.search(line.heading) else None
            continue
        if zone is None and _ZONE_TEXT.search(line.text):
            zone, inside = line.section, True
        if inside and not (line.is_heading and line.section == zone):
            known = len(tops)
            _read_line(line, tops, current)
            for top in tops[known:]:
                top.section = zone or ""  # a criterion is of the section that lists them
    weighted = [t for t in tops if t.weight is not None or any(s.weight for s in t.subs)]
    kept = weighted or tops
    return [_frozen(t) for t in kept]


def _within(line: Line, section: str) -> bool:
    return line.section.startswith(section + ".")


def _read_line(line: Line, tops: list[_Open], current: list[_Open]) -> None:
    text = line.text.strip()
    weights = list(_WEIGHT.finditer(text))
    label = _label(text, weights)
    if len(weights) > 1 and label:
        # "Prix : 40 % ; Valeur technique : 60 %": several criteria on one line.
        start = 0
        for found in weights:
            piece = text[start : found.end()]
            start = found.end()
            _read_line(line.model_copy(update={"text": piece.strip(" ,;")}), tops, current)
        return
    weight = _number(weights[0]) if weights else None
    unit = _unit(weights[0]) if weights else "%"
    parent = current[0] if current else None
    if label:
        item = _Open(label, weight, unit, line, splits=bool(_SPLITS.search(text)))
        if parent is not None and _is_sub(text, item, parent):
            parent.subs.append(item)
        else:
            tops.append(item)
            current[:] = [item]
        return
    if parent is None:
        return
    if _SPLITS.search(text) and not weights:
        # "Quality is split as follows:" opens the criterion it names, else the last one.
        named = [t for t in tops if t.name.split()[0].lower() in text.lower().split()]
        current[:] = named[-1:] or [parent]
        current[0].splits = True
        return
    if weight is None:
        return
    pending = next((o for o in (*parent.subs[::-1], parent) if o.weight is None), None)
    if pending is not None:
        pending.weight, pending.unit = weight, unit
        pending.splits = pending.splits or bool(_SPLITS.search(text))
    elif parent.splits and _fits(parent, weight):
        name = f"{parent.name} ({len(parent.subs) + 1})"
        parent.subs.append(_Open(name, weight, unit, line))


def _label(text: str, weights: list[re.Match[str]]) -> str:
    """The criterion a line names, or "" when it names none."""
    bare = _NUMBERING.sub("", text)
    head = bool(_HEAD.match(bare))
    before = bare[: weights[0].start() - (len(text) - len(bare))] if weights else bare
    if not head:
        # "Offers are judged on: Quality 70 %": the words right before the weight.
        pieces = [p for p in re.split(r"\s*[:(–]\s*|\s+-\s+", before.strip()) if p.strip()]
        before = pieces[-1] if pieces else ""
    name = _LABEL_PREFIX.sub("", before).strip(" :.-–(")
    name = _NAME_END.split(name, maxsplit=1)[0]
    name = name.strip(" :.-–")
    if not name or len(name.split()) > 14 or not name[0].isupper() or not bare[:1].isupper():
        return ""
    if weights and len(name.split()) <= 8:
        return name[:120]
    # Without a weight, a label stands alone ("Valeur technique :"), or follows a
    # "Sous-critère 1 :"; "Prix = (montant ...)" is a formula's line, not a label.
    if _SPLITS.search(bare):
        return ""  # "Quality is split as follows:" announces sub-criteria, names none
    if head and (_LABEL_PREFIX.match(bare) or (len(bare.split()) <= 6 and "=" not in bare)):
        return name[:120]
    return ""


def _is_sub(text: str, item: _Open, parent: _Open) -> bool:
    if re.match(r"^(?:sous[- ]?crit|sub[- ]?crit)", text, re.I):
        return True
    if not parent.splits:
        return False
    if _SUB.match(text):
        return True
    if item.weight is None:
        return _fits(parent, 0.01)  # a label with its weight to come: while room is left
    return _fits(parent, item.weight)


def _fits(parent: _Open, weight: float) -> bool:
    """True when ``weight`` still fits in what ``parent`` splits among its sub-criteria."""
    if parent.weight is None:
        return True
    taken = sum(s.weight or 0.0 for s in parent.subs)
    return taken + weight <= parent.weight + 1e-6


def _number(found: re.Match[str]) -> float:
    return float(found.group(1).replace(",", "."))


def _unit(found: re.Match[str]) -> str:
    return "%" if found.group(2).startswith(("%", "pour")) else "points"


def _frozen(item: _Open) -> Criterion:
    return Criterion(
        name=item.name,
        weight=item.weight,
        unit="points" if item.unit == "points" else "%",
        subs=tuple(_frozen(s) for s in item.subs),
        page=item.line.page,
        section=item.section or item.line.section,
    )
