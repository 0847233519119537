"""Parse untrusted notice XML: no DTD, no entities, no network, bounded size.

Notices come from outside (TED, BOAMP, files people send): a billion-laughs entity bomb
or an external entity pointing at a local file must be refused, not expanded.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from equipage.errors import InputRejected

__all__ = ["MAX_NOTICE_BYTES", "parse_xml"]

MAX_NOTICE_BYTES = 5_000_000  # the largest eForms SDK example (100 lots) is ~1.3 MB


def parse_xml(data: bytes | str, *, what: str) -> Element:
    """The root element of ``data``; InputRejected when it is unsafe or not XML."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_NOTICE_BYTES:
        raise InputRejected(
            f"{what} is {len(raw)} bytes, over the {MAX_NOTICE_BYTES}-byte limit for a notice; "
            "send the notice alone, not an archive or a bundle."
        )
    try:
        # forbid_dtd: a notice never needs a DTD, and every entity attack starts with one.
        return fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise InputRejected(
            f"{what} declares a DTD or entities ({type(err).__name__}), which notices never "
            "need and attacks do; it was refused unread. Fetch the notice from its source again."
        ) from err
    except ParseError as err:
        raise InputRejected(
            f"{what} is not well-formed XML ({err}); fetch the notice from its source again."
        ) from err
