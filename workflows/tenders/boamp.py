"""Read BOAMP notices (French public procurement, DILA) into ``Tender``.

Three shapes, one mapping: the v230 XML (``Boamp_v230.xsd``), the legacy api.dila.fr
JSON (the same tree, keys lower-cased without underscores, dates in epoch ms), and
the records of the open-data Explore API (dataset ``boamp``: flat fields plus the full
notice as JSON in ``donnees``/``gestion``). Every shape is turned into one tree with
normalized keys (``boamp_tree``) before it is mapped here. BOAMP notices are in French.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from equipage.errors import InputRejected
from workflows.tenders.boamp_tree import (
    Node,
    amount,
    as_dict,
    as_list,
    cpvs,
    day,
    get,
    instant,
    normal_key,
    normalized,
    number,
    text_of,
    texts_under,
    xml_tree,
)
from workflows.tenders.model import Criterion, Lot, NoticeKind, Source, Tender
from workflows.tenders.xmlsafe import parse_xml

__all__ = ["BoampRecord", "from_record", "parse_boamp_json", "parse_boamp_xml"]

# GESTION/REFERENCE/TYPE_AVIS/NATURE and STATUT children, and the API's ``nature`` values.
_NATURES = {
    "appeloffre": NoticeKind.CONTRACT, "preinformation": NoticeKind.PRIOR,
    "attribution": NoticeKind.AWARD, "intentionconclure": NoticeKind.AWARD,
    "rectificatif": NoticeKind.CHANGE, "modification": NoticeKind.CHANGE,
    "annulation": NoticeKind.CANCELLATION, "resultat": NoticeKind.AWARD,
    "periodique": NoticeKind.PRIOR, "profilacheteur": NoticeKind.PRIOR,
}  # fmt: skip
_PROCEDURES = {"ouvert": "open", "restreint": "restricted", "procedureadapte": "adapted",
               "negocie": "negotiated", "dialoguecompetitif": "competitive-dialogue",
               "concours": "design-contest"}  # fmt: skip
_TYPES = {"travaux": "works", "fournitures": "supplies", "service": "services",
          "services": "services"}  # fmt: skip


class BoampRecord(BaseModel):
    """One record of the Explore API's ``boamp`` dataset (the fields Equipage reads)."""

    model_config = ConfigDict(extra="ignore")

    idweb: str
    objet: str | None = None
    nomacheteur: str | None = None
    dateparution: str | None = None
    datelimitereponse: str | None = None
    nature: str | None = None
    nature_libelle: str | None = None
    type_marche: list[str] | str | None = None
    procedure_libelle: str | None = None
    url_avis: str | None = None
    annonce_lie: list[str] | str | None = None
    annonces_anterieures: list[str] | str | None = None
    donnees: str | None = None
    gestion: str | None = None


def parse_boamp_xml(data: bytes | str) -> Tender:
    """A BOAMP v230 XML notice (root ``ANNONCE``) as a Tender."""
    root = parse_xml(data, what="the BOAMP notice")
    if root.tag != "ANNONCE":
        raise InputRejected(
            f"the BOAMP notice's root element is {root.tag!r}, not ANNONCE (Boamp_v230.xsd); "
            "send the notice's XML as the DILA open data publishes it."
        )
    return _from_v230(xml_tree(root))


def parse_boamp_json(data: bytes | str) -> Tender:
    """A legacy api.dila.fr BOAMP JSON notice (``gestion`` + ``donnees``) as a Tender."""
    try:
        tree = normalized(json.loads(data))
    except ValueError as err:
        raise InputRejected(f"the BOAMP notice is not JSON ({err}).") from err
    if not isinstance(tree, dict) or get(tree, "gestion", "reference", "idweb") is None:
        raise InputRejected(
            "the BOAMP JSON has no gestion.reference.idweb; send a notice as api.dila.fr "
            "or the BOAMP open data publishes it."
        )
    return _from_v230(tree)


def from_record(record: BoampRecord) -> Tender:
    """An Explore API record as a Tender: its flat fields, completed from ``donnees``."""
    donnees = normalized(_loads(record.donnees))
    gestion = normalized(_loads(record.gestion))
    base: Tender | None = None
    if isinstance(donnees, dict) and get(donnees, "identite") is not None:
        tree: dict[str, Node] = {"donnees": donnees, "gestion": gestion or {}}
        base = _from_v230(tree, idweb=record.idweb)
    kind = (
        _kind_from(record.nature)
        or _kind_from_label(record.nature_libelle)
        or (base.kind if base else NoticeKind.CONTRACT)
    )
    related = [*_strings(record.annonce_lie), *_strings(record.annonces_anterieures)]
    earlier = related[0] if related else (base.procedure_id if base else None)
    if earlier == record.idweb:
        earlier = None
    links = [record.url_avis or _avis_url(record.idweb)]
    links += [s for key in ("urlprofilacheteur", "urldocconsul", "urldocument")
              for s in texts_under(donnees, key)]  # fmt: skip
    value, currency = amount(donnees)
    cpv = cpvs(donnees)
    description = next(iter(texts_under(donnees, "objetcomplet")), "") or next(
        iter(texts_under(donnees, "description")), ""
    )
    return Tender(
        id=f"{Source.BOAMP}:{record.idweb}",
        source=Source.BOAMP,
        notice_id=record.idweb,
        kind=kind,
        procedure_id=earlier or record.idweb,
        amends=earlier if kind in (NoticeKind.CHANGE, NoticeKind.CANCELLATION) else None,
        title=record.objet or (base.title if base else record.idweb),
        buyer=record.nomacheteur or (base.buyer if base else ""),
        country="FR",
        language="fr",
        cpv=tuple(cpv) or (base.cpv if base else ()),
        value=value if value is not None else (base.value if base else None),
        currency=currency or (base.currency if base else None),
        deadline=instant(record.datelimitereponse) or (base.deadline if base else None),
        published=day(record.dateparution) or (base.published if base else None),
        procedure=record.procedure_libelle or (base.procedure if base else None),
        nature=_nature(record.type_marche) or (base.nature if base else None),
        description=description or (base.description if base else ""),
        lots=base.lots if base else (),
        criteria=base.criteria if base else (),
        links=tuple(dict.fromkeys(links)),
    )


def _from_v230(tree: dict[str, Node], *, idweb: str | None = None) -> Tender:
    idweb = idweb or text_of(get(tree, "gestion", "reference", "idweb"))
    if not idweb:
        raise InputRejected("the BOAMP notice has no IDWEB reference; it cannot be tracked.")
    typeavis = get(tree, "gestion", "reference", "typeavis")
    kind = NoticeKind.CONTRACT
    for part in ("nature", "statut"):  # a STATUT of RECTIFICATIF/ANNULATION overrides the nature
        for key, value in as_dict(get(typeavis, part)).items():
            if value is not None and key in _NATURES:
                kind = _NATURES[key]
    earlier = text_of(get(tree, "gestion", "marche", "annonceanterieur", "reference", "idweb"))
    donnees = get(tree, "donnees")
    objet = get(donnees, "objet")
    lots = tuple(_lot(lot) for lot in as_list(get(objet, "lots", "lot")))
    criteria = _criteria(get(donnees, "procedure", "criteresattribution"))
    identite = get(donnees, "identite")
    deadline = instant(get(donnees, "conditiondelai", "receptoffres")) or instant(
        get(tree, "gestion", "indexation", "datelimitereponse")
    )
    value, currency = amount(get(objet, "caracteristiques"))
    if value is None and any(lot.value is not None for lot in lots):
        value, currency = sum(lot.value or 0.0 for lot in lots), "EUR"
    procedure = next((_PROCEDURES.get(k, k) for k, v in
                      as_dict(get(donnees, "procedure", "typeprocedure")).items() if v is not None),
                     None)  # fmt: skip
    links = [_avis_url(idweb)] + [
        s for key in ("urlprofilacheteur", "urldocument", "urlparticipation")
        if (s := text_of(get(identite, key)))
    ]  # fmt: skip
    title = (
        text_of(get(objet, "titremarche"))
        or text_of(get(tree, "gestion", "indexation", "resumeobjet"))
        or text_of(get(objet, "objetcomplet"))
        or idweb
    )
    description = "\n".join(
        s for s in (text_of(get(objet, "objetcomplet")),
                    text_of(get(objet, "caracteristiques", "principales"))) if s
    )  # fmt: skip
    nature = next((_TYPES[k] for k, v in as_dict(get(objet, "typemarche")).items()
                   if v is not None and k in _TYPES), None)  # fmt: skip
    return Tender(
        id=f"{Source.BOAMP}:{idweb}",
        source=Source.BOAMP,
        notice_id=idweb,
        kind=kind,
        procedure_id=earlier or idweb,
        amends=earlier if kind in (NoticeKind.CHANGE, NoticeKind.CANCELLATION) else None,
        title=title,
        buyer=text_of(get(identite, "denomination")) or "",
        country="FR",
        language="fr",
        cpv=tuple(dict.fromkeys([*cpvs(objet), *(c for lot in lots for c in lot.cpv)])),
        value=value,
        currency=currency,
        deadline=deadline,
        published=day(get(tree, "gestion", "indexation", "datepublication")),
        procedure=procedure,
        nature=nature,
        description=description,
        lots=lots,
        criteria=criteria,
        links=tuple(dict.fromkeys(links)),
    )


def _lot(node: Node) -> Lot:
    value, _ = amount(node)
    return Lot(
        id=text_of(get(node, "num")) or "",
        title=text_of(get(node, "intitule")) or "",
        description=text_of(get(node, "description")) or "",
        cpv=tuple(cpvs(node)),
        value=value,
        criteria=_criteria(get(node, "criteresattribution")),
    )


def _criteria(node: Node) -> tuple[Criterion, ...]:
    found = []
    for group in ("criterespriorites", "criteresponderes", "criteresenonces"):
        for item in as_list(get(node, group, "critere")):
            text = (
                text_of(item) or text_of(get(item, "value")) or text_of(get(item, "critere")) or ""
            )
            weight = text_of(get(item, "poids")) or text_of(get(item, "@poids"))
            lowered = text.lower()
            kind = "price" if "prix" in lowered else "cost" if "coût" in lowered else "quality"
            found.append(Criterion(kind=kind, description=text, weight=number(weight)))
    if not found and get(node, "criteresprix") is not None:
        found.append(Criterion(kind="price", description="prix"))
    return tuple(found)


def _loads(text: str | None) -> Node:
    if not text:
        return None
    try:
        loaded: Node = json.loads(text)
    except ValueError:
        return None
    return loaded


def _strings(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def _kind_from(nature: str | None) -> NoticeKind | None:
    return _NATURES.get(normal_key(nature)) if nature else None


def _kind_from_label(label: str | None) -> NoticeKind | None:
    """A result said in words ("Résultat de marché", "Avis d'attribution"): an award."""
    words = (label or "").lower()
    return NoticeKind.AWARD if "résultat" in words or "attribution" in words else None


def _nature(types: list[str] | str | None) -> str | None:
    found = [_TYPES.get(t.lower()) for t in _strings(types)]
    return next((t for t in found if t), None)


def _avis_url(idweb: str) -> str:
    return f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}"
