"""Read BOAMP notices (French public procurement, DILA) into ``Tender``.

Three shapes, one mapping: the v230 XML (``Boamp_v230.xsd``), the legacy api.dila.fr
JSON (the same tree, keys lower-cased without underscores, dates in epoch ms), and
the records of the open-data Explore API (dataset ``boamp``: flat fields plus the full
notice as JSON in ``donnees``/``gestion``). Every shape is turned into one tree with
normalized keys (``DATE_PUBLICATION``, ``datepublication`` and ``cbc:EndDate`` become
``datepublication`` and ``enddate``) before it is read. BOAMP notices are in French.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, JsonValue

from equipage.errors import InputRejected
from workflows.tenders.model import Criterion, Lot, NoticeKind, Source, Tender
from workflows.tenders.mojibake import repair
from workflows.tenders.xmlsafe import parse_xml

__all__ = ["BoampRecord", "from_record", "parse_boamp_json", "parse_boamp_xml"]

Node = JsonValue
_PARIS = ZoneInfo("Europe/Paris")
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
    return _from_v230(_xml_tree(root))


def parse_boamp_json(data: bytes | str) -> Tender:
    """A legacy api.dila.fr BOAMP JSON notice (``gestion`` + ``donnees``) as a Tender."""
    try:
        tree = _tree(json.loads(data))
    except ValueError as err:
        raise InputRejected(f"the BOAMP notice is not JSON ({err}).") from err
    if not isinstance(tree, dict) or _get(tree, "gestion", "reference", "idweb") is None:
        raise InputRejected(
            "the BOAMP JSON has no gestion.reference.idweb; send a notice as api.dila.fr "
            "or the BOAMP open data publishes it."
        )
    return _from_v230(tree)


def from_record(record: BoampRecord) -> Tender:
    """An Explore API record as a Tender: its flat fields, completed from ``donnees``."""
    donnees = _tree(_loads(record.donnees))
    gestion = _tree(_loads(record.gestion))
    base: Tender | None = None
    if isinstance(donnees, dict) and _get(donnees, "identite") is not None:
        tree: dict[str, Node] = {"donnees": donnees, "gestion": gestion or {}}
        base = _from_v230(tree, idweb=record.idweb)
    kind = _kind_from(record.nature) or (base.kind if base else NoticeKind.CONTRACT)
    related = [*_strings(record.annonce_lie), *_strings(record.annonces_anterieures)]
    earlier = related[0] if related else (base.procedure_id if base else None)
    if earlier == record.idweb:
        earlier = None
    links = [record.url_avis or _avis_url(record.idweb)]
    links += [s for key in ("urlprofilacheteur", "urldocconsul", "urldocument")
              for s in _texts(donnees, key)]  # fmt: skip
    value, currency = _value(donnees)
    cpv = _cpvs(donnees)
    description = next(iter(_texts(donnees, "objetcomplet")), "") or next(
        iter(_texts(donnees, "description")), ""
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
        deadline=_instant(record.datelimitereponse) or (base.deadline if base else None),
        published=_day(record.dateparution) or (base.published if base else None),
        procedure=record.procedure_libelle or (base.procedure if base else None),
        nature=_nature(record.type_marche) or (base.nature if base else None),
        description=description or (base.description if base else ""),
        lots=base.lots if base else (),
        criteria=base.criteria if base else (),
        links=tuple(dict.fromkeys(links)),
    )


def _from_v230(tree: dict[str, Node], *, idweb: str | None = None) -> Tender:
    idweb = idweb or _str(_get(tree, "gestion", "reference", "idweb"))
    if not idweb:
        raise InputRejected("the BOAMP notice has no IDWEB reference; it cannot be tracked.")
    typeavis = _get(tree, "gestion", "reference", "typeavis")
    kind = NoticeKind.CONTRACT
    for part in ("nature", "statut"):  # a STATUT of RECTIFICATIF/ANNULATION overrides the nature
        for key, value in _dict(_get(typeavis, part)).items():
            if value is not None and key in _NATURES:
                kind = _NATURES[key]
    earlier = _str(_get(tree, "gestion", "marche", "annonceanterieur", "reference", "idweb"))
    donnees = _get(tree, "donnees")
    objet = _get(donnees, "objet")
    lots = tuple(_lot(lot) for lot in _list(_get(objet, "lots", "lot")))
    criteria = _criteria(_get(donnees, "procedure", "criteresattribution"))
    identite = _get(donnees, "identite")
    deadline = _instant(_get(donnees, "conditiondelai", "receptoffres")) or _instant(
        _get(tree, "gestion", "indexation", "datelimitereponse")
    )
    value, currency = _value(_get(objet, "caracteristiques"))
    if value is None and any(lot.value is not None for lot in lots):
        value, currency = sum(lot.value or 0.0 for lot in lots), "EUR"
    procedure = next((_PROCEDURES.get(k, k) for k, v in
                      _dict(_get(donnees, "procedure", "typeprocedure")).items() if v is not None),
                     None)  # fmt: skip
    links = [_avis_url(idweb)] + [
        s for key in ("urlprofilacheteur", "urldocument", "urlparticipation")
        if (s := _str(_get(identite, key)))
    ]  # fmt: skip
    title = (
        _str(_get(objet, "titremarche"))
        or _str(_get(tree, "gestion", "indexation", "resumeobjet"))
        or _str(_get(objet, "objetcomplet"))
        or idweb
    )
    description = "\n".join(
        s for s in (_str(_get(objet, "objetcomplet")),
                    _str(_get(objet, "caracteristiques", "principales"))) if s
    )  # fmt: skip
    nature = next((_TYPES[k] for k, v in _dict(_get(objet, "typemarche")).items()
                   if v is not None and k in _TYPES), None)  # fmt: skip
    return Tender(
        id=f"{Source.BOAMP}:{idweb}",
        source=Source.BOAMP,
        notice_id=idweb,
        kind=kind,
        procedure_id=earlier or idweb,
        amends=earlier if kind in (NoticeKind.CHANGE, NoticeKind.CANCELLATION) else None,
        title=title,
        buyer=_str(_get(identite, "denomination")) or "",
        country="FR",
        language="fr",
        cpv=tuple(dict.fromkeys([*_cpvs(objet), *(c for lot in lots for c in lot.cpv)])),
        value=value,
        currency=currency,
        deadline=deadline,
        published=_day(_get(tree, "gestion", "indexation", "datepublication")),
        procedure=procedure,
        nature=nature,
        description=description,
        lots=lots,
        criteria=criteria,
        links=tuple(dict.fromkeys(links)),
    )


def _lot(node: Node) -> Lot:
    value, _ = _value(node)
    return Lot(
        id=_str(_get(node, "num")) or "",
        title=_str(_get(node, "intitule")) or "",
        description=_str(_get(node, "description")) or "",
        cpv=tuple(_cpvs(node)),
        value=value,
        criteria=_criteria(_get(node, "criteresattribution")),
    )


def _criteria(node: Node) -> tuple[Criterion, ...]:
    found = []
    for group in ("criterespriorites", "criteresponderes", "criteresenonces"):
        for item in _list(_get(node, group, "critere")):
            text = _str(item) or _str(_get(item, "value")) or _str(_get(item, "critere")) or ""
            weight = _str(_get(item, "poids")) or _str(_get(item, "@poids"))
            lowered = text.lower()
            kind = "price" if "prix" in lowered else "cost" if "coût" in lowered else "quality"
            found.append(Criterion(kind=kind, description=text, weight=_float(weight)))
    if not found and _get(node, "criteresprix") is not None:
        found.append(Criterion(kind="price", description="prix"))
    return tuple(found)


# --- the normalized tree -----------------------------------------------------------------


def _key(key: str) -> str:
    if key.startswith(("@", "#")):
        return key.lower()
    return key.rpartition(":")[2].lower().replace("_", "").replace("-", "")


def _tree(node: Node) -> Node:
    if isinstance(node, dict):
        return {_key(k): _tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_tree(v) for v in node]
    return node


def _xml_tree(el: Element) -> dict[str, Node]:
    out: dict[str, Node] = {}
    for child in el:
        node: Node
        node = _xml_tree(child) if len(child) else " ".join((child.text or "").split())
        if child.attrib:
            node = {**(node if isinstance(node, dict) else {"#text": node}),
                    **{"@" + k.lower(): v for k, v in child.attrib.items()}}  # fmt: skip
        key = _key(child.tag)
        if key in out:
            previous = out[key]
            out[key] = [*previous, node] if isinstance(previous, list) else [previous, node]
        else:
            out[key] = node
    return out


def _get(node: Node, *path: str) -> Node:
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _dict(node: Node) -> dict[str, Node]:
    return node if isinstance(node, dict) else {}


def _list(node: Node) -> list[Node]:
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


def _str(node: Node) -> str | None:
    if isinstance(node, dict):
        node = node.get("#text")
    if isinstance(node, bool) or node is None or isinstance(node, list | dict):
        return None
    text = " ".join(repair(str(node)).split())  # before split: U+0085 ("…") is whitespace
    return text or None


def _texts(node: Node, key: str) -> list[str]:
    """Every value under ``key`` anywhere in the tree, in document order."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and (s := _str(v)):
                found.append(s)
            found += _texts(v, key)
    elif isinstance(node, list):
        for v in node:
            found += _texts(v, key)
    return found


def _cpvs(node: Node) -> list[str]:
    """CPV codes anywhere below ``node`` (v230 CPV/PRINCIPAL, eForms ItemClassificationCode)."""
    blocks = _all(node, "cpv")
    raw = [*_texts(blocks, "principal"), *_texts(blocks, "complementaire"),
           *_texts(node, "itemclassificationcode")]  # fmt: skip
    codes = [c.partition("-")[0] for c in raw]
    return list(dict.fromkeys(c for c in codes if len(c) == 8 and c.isdigit()))


def _all(node: Node, key: str) -> list[Node]:
    found: list[Node] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            else:
                found += _all(v, key)
    elif isinstance(node, list):
        for v in node:
            found += _all(v, key)
    return found


def _value(node: Node) -> tuple[float | None, str | None]:
    for key in ("estimatedoverallcontractamount", "valeurestimee", "valeurtotale", "valeur"):
        for item in _list(_first(node, key)):
            amount = _float(_str(item) or _str(_get(item, "valeur")))
            if amount is not None:
                currency = _str(_get(item, "@currencyid")) or _str(_get(item, "@devise"))
                return amount, currency or "EUR"
    return None, None


def _first(node: Node, key: str) -> Node:
    if isinstance(node, dict):
        if node.get(key) is not None:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for v in node:
            if (found := _first(v, key)) is not None:
                return found
    return None


def _float(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(" ", "").replace(",", "."))
    except ValueError:
        return None


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
    return _NATURES.get(_key(nature)) if nature else None


def _nature(types: list[str] | str | None) -> str | None:
    found = [_TYPES.get(t.lower()) for t in _strings(types)]
    return next((t for t in found if t), None)


def _avis_url(idweb: str) -> str:
    return f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}"


def _day(node: Node) -> date | None:
    when = _instant(node, end_of_day=False)
    return when.astimezone(_PARIS).date() if when else None


def _instant(node: Node, *, end_of_day: bool = True) -> datetime | None:
    """An ISO date or datetime, or epoch milliseconds (legacy JSON), as an aware datetime."""
    if isinstance(node, int | float) and not isinstance(node, bool):
        return datetime.fromtimestamp(node / 1000, UTC)
    text = _str(node)
    if not text:
        return None
    try:
        if len(text) == 10:
            at = time(23, 59, 59) if end_of_day else time(12)
            return datetime.combine(date.fromisoformat(text), at, tzinfo=_PARIS)
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_PARIS)
