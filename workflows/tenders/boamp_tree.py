"""The normalized tree every BOAMP shape becomes, and the readers of its values.

The v230 XML, the legacy api.dila.fr JSON and the Explore API's ``donnees`` hold the
same notice under differently spelled keys: ``normal_key`` folds ``DATE_PUBLICATION``,
``datepublication`` and ``cbc:EndDate`` to ``datepublication`` and ``enddate``, so
``boamp`` maps one tree. The readers here tolerate what the shapes differ in: a list
where one node was expected, ``#text`` beside attributes, epoch milliseconds for dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from workflows.tenders.mojibake import repair

__all__ = [
    "Node",
    "amount",
    "as_dict",
    "as_list",
    "cpvs",
    "day",
    "first_under",
    "get",
    "instant",
    "nodes_under",
    "normal_key",
    "normalized",
    "number",
    "text_of",
    "texts_under",
    "xml_tree",
]

Node = JsonValue
_PARIS = ZoneInfo("Europe/Paris")


def normal_key(key: str) -> str:
    """A key as the tree spells it: no namespace, lower case, no ``_`` or ``-``."""
    if key.startswith(("@", "#")):
        return key.lower()
    return key.rpartition(":")[2].lower().replace("_", "").replace("-", "")


def normalized(node: Node) -> Node:
    """A JSON notice with every key as ``normal_key`` spells it."""
    if isinstance(node, dict):
        return {normal_key(k): normalized(v) for k, v in node.items()}
    if isinstance(node, list):
        return [normalized(v) for v in node]
    return node


def xml_tree(el: Element) -> dict[str, Node]:
    """An XML notice as the tree: repeated elements become lists, attributes ``@name``."""
    out: dict[str, Node] = {}
    for child in el:
        node: Node
        node = xml_tree(child) if len(child) else " ".join((child.text or "").split())
        if child.attrib:
            node = {**(node if isinstance(node, dict) else {"#text": node}),
                    **{"@" + k.lower(): v for k, v in child.attrib.items()}}  # fmt: skip
        key = normal_key(child.tag)
        if key in out:
            previous = out[key]
            out[key] = [*previous, node] if isinstance(previous, list) else [previous, node]
        else:
            out[key] = node
    return out


def get(node: Node, *path: str) -> Node:
    """The node at ``path``, taking the first of any list on the way; None if absent."""
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def as_dict(node: Node) -> dict[str, Node]:
    return node if isinstance(node, dict) else {}


def as_list(node: Node) -> list[Node]:
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


def text_of(node: Node) -> str | None:
    """A leaf's text, repaired and with white space folded; None for no text."""
    if isinstance(node, dict):
        node = node.get("#text")
    if isinstance(node, bool) or node is None or isinstance(node, list | dict):
        return None
    text = " ".join(repair(str(node)).split())  # before split: U+0085 ("…") is whitespace
    return text or None


def texts_under(node: Node, key: str) -> list[str]:
    """Every value under ``key`` anywhere in the tree, in document order."""
    found: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and (s := text_of(v)):
                found.append(s)
            found += texts_under(v, key)
    elif isinstance(node, list):
        for v in node:
            found += texts_under(v, key)
    return found


def nodes_under(node: Node, key: str) -> list[Node]:
    """Every node under ``key`` anywhere in the tree, not looking inside those found."""
    found: list[Node] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            else:
                found += nodes_under(v, key)
    elif isinstance(node, list):
        for v in node:
            found += nodes_under(v, key)
    return found


def first_under(node: Node, key: str) -> Node:
    """The first node under ``key``, depth first; None if there is none."""
    if isinstance(node, dict):
        if node.get(key) is not None:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for v in node:
            if (found := first_under(v, key)) is not None:
                return found
    return None


def cpvs(node: Node) -> list[str]:
    """CPV codes anywhere below ``node`` (v230 CPV/PRINCIPAL, eForms ItemClassificationCode)."""
    blocks = nodes_under(node, "cpv")
    raw = [*texts_under(blocks, "principal"), *texts_under(blocks, "complementaire"),
           *texts_under(node, "itemclassificationcode")]  # fmt: skip
    codes = [c.partition("-")[0] for c in raw]
    return list(dict.fromkeys(c for c in codes if len(c) == 8 and c.isdigit()))


def amount(node: Node) -> tuple[float | None, str | None]:
    """The first estimated or total value below ``node`` and its currency (EUR if unsaid)."""
    for key in ("estimatedoverallcontractamount", "valeurestimee", "valeurtotale", "valeur"):
        for item in as_list(first_under(node, key)):
            found = number(text_of(item) or text_of(get(item, "valeur")))
            if found is not None:
                currency = text_of(get(item, "@currencyid")) or text_of(get(item, "@devise"))
                return found, currency or "EUR"
    return None, None


def number(text: str | None) -> float | None:
    """A French-written number ("1 200,50") as a float; None if it is not one."""
    if not text:
        return None
    try:
        return float(text.replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def day(node: Node) -> date | None:
    """A publication day, in Paris."""
    when = instant(node, end_of_day=False)
    return when.astimezone(_PARIS).date() if when else None


def instant(node: Node, *, end_of_day: bool = True) -> datetime | None:
    """An ISO date or datetime, or epoch milliseconds (legacy JSON), as an aware datetime."""
    if isinstance(node, int | float) and not isinstance(node, bool):
        return datetime.fromtimestamp(node / 1000, UTC)
    text = text_of(node)
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
