"""Every requirement of a consultation's files, with a stable id and where it was read.

Plain code, no model: each file is cut into lines and sections (``outline``), sentences
(``sentences``), then read for its due date (``deadlines``), award criteria
(``criteria``), documents to hand in (``pieces``), form limits and obligations
(``obligations``); an eForms notice is turned into such text first (``notice``). A
file's code (``RC``, ``CCTP``...) comes from its name, else from its first page; two
files of one kind get ``CCTP``, ``CCTP2``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from equipage.errors import InputRejected
from equipage.language import detect
from workflows.tenders.answer.criteria import read_criteria
from workflows.tenders.answer.deadlines import read_deadline
from workflows.tenders.answer.model import (
    KIND_CODES,
    Criterion,
    Deadline,
    Extraction,
    Kind,
    Requirement,
    Where,
)
from workflows.tenders.answer.notice import is_notice, notice_text
from workflows.tenders.answer.obligations import is_format_limit, is_obligation
from workflows.tenders.answer.outline import Line, lines_of
from workflows.tenders.answer.pieces import pieces_in
from workflows.tenders.answer.sentences import Sentence, sentences_of, with_items

__all__ = ["Source", "document_code", "extract"]

_CODES = (
    ("RC", r"\bRC\b|r[èe]glement[-_ ]+(?:de[-_ ]+(?:la[-_ ]+)?)?consultation"),
    ("CCTP", r"\bCCTP\b|clauses techniques particuli[èe]res"),
    ("CCAP", r"\bCCAP\b|clauses administratives particuli[èe]res"),
    ("CCP", r"\bCCP\b|cahier des clauses particuli[èe]res"),
    ("BPU", r"\bBPU\b|bordereau des prix"),
    ("DPGF", r"\bDPGF\b|d[ée]composition du prix global"),
    ("DQE", r"\bDQE\b|d[ée]tail quantitatif"),
    ("AE", r"\bAE\b|acte[-_ ]+d.engagement"),
    ("AVIS", r"\beforms?\b|\bavis\b|contract notice|\bnotice\b"),
    ("SPEC", r"specifications?|terms of reference|statement of work"),
)
_TEXT_CHARS = 400  # of a requirement's wording kept in the matrix


class Source(BaseModel):
    """One file of the consultation, as text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    text: str


def document_code(name: str, text: str) -> str:
    """``RC``, ``CCTP``... from the file's name, else from its opening; ``DOC`` if neither."""
    stem = re.sub(r"[_\-.]+", " ", name.rsplit(".", 1)[0])
    for code, pattern in _CODES:
        if re.search(pattern, stem, re.I):
            return code
    opening = text[:1500]
    for code, pattern in _CODES[:-2]:  # "avis" and "notice" are too common in a body
        if re.search(pattern, opening, re.I):
            return code
    return "DOC"


def extract(sources: Sequence[Source]) -> Extraction:
    """The requirements of ``sources``, in their order, and the offers' due date."""
    requirements: list[Requirement] = []
    deadline: Deadline | None = None
    codes: dict[str, int] = {}
    asked: set[str] = set()  # documents to provide, by name: the RC's and the CCAP's are one
    for source in sources:
        code = document_code(source.name, source.text)
        if is_notice(source.text):
            source, code = _from_notice(source), "AVIS"
        codes[code] = codes.get(code, 0) + 1
        if codes[code] > 1:
            code = f"{code}{codes[code]}"
        found, due = _read(source, code, detect(source.text[:20_000], "fr"))
        found = [r for r in found if r.kind != "document" or r.name not in asked]
        asked.update(r.name for r in found if r.kind == "document")
        requirements.extend(found)
        deadline = deadline or due
    language = detect(" ".join(s.text[:20_000] for s in sources), "fr")
    return Extraction(
        requirements=tuple(requirements),
        deadline=deadline,
        documents=tuple(s.name for s in sources),
        language=language,
    )


def _from_notice(source: Source) -> Source:
    """An eForms notice's fields as lines; the XML as it is when it is no notice."""
    try:
        return source.model_copy(update={"text": notice_text(source.text)})
    except InputRejected:
        return source


def _read(source: Source, code: str, language: str) -> tuple[list[Requirement], Deadline | None]:
    lines = lines_of(source.text)
    sentences = sentences_of(lines)
    ids = _Ids(code)
    out: list[Requirement] = []
    due = read_deadline(lines)
    if due is not None:
        deadline, index = due
        out.append(ids.make("deadline", deadline.text, _where(source, code, lines[index])))
    for criterion in read_criteria(lines):
        out.extend(_criterion(criterion, source, code, ids, None))
    for name, sentence in pieces_in(sentences, language):
        out.append(ids.make("document", sentence.text, _where(source, code, sentence), name=name))
    for index, sentence in enumerate(sentences):
        if sentence.item and index and sentences[index - 1].lead:
            continue  # read with the sentence that leads its list
        text = with_items(sentences, index)
        kind: Kind | None = None
        # A list's lead decides: "les documents suivants :" lists pieces, some "en format
        # Excel", and is not a format limit; "l'un des formats suivants :" is one.
        probe = text if not sentence.lead or is_format_limit(sentence.text) else sentence.text
        if is_format_limit(probe) and (is_obligation(text) or _limits(text)):
            kind = "format"
        elif is_obligation(text):
            kind = "obligation"
        if kind is not None and not (due and _same(text, due[0].text)):
            out.append(ids.make(kind, text, _where(source, code, sentence)))
    return out, due[0] if due else None


def _same(text: str, deadline: str) -> bool:
    """True when a sentence is the one the due date was read from (said once, as a date)."""
    return text in deadline or deadline in text


def _limits(text: str) -> bool:
    return bool(
        re.search(r"\b(?:maximum|max|accept[ée]s?|autoris[ée]s?|limit|only|seuls?)\b", text, re.I)
    )


def _criterion(
    criterion: Criterion, source: Source, code: str, ids: _Ids, parent: str | None
) -> list[Requirement]:
    where = Where(document=source.name, code=code, page=criterion.page, section=criterion.section)
    weight = f" : {criterion.weight:g} {criterion.unit}" if criterion.weight is not None else ""
    made = ids.make(
        "criterion",
        f"{criterion.name}{weight}",
        where,
        weight=criterion.weight,
        parent=parent,
        name=criterion.name,
    )
    out = [made]
    for sub in criterion.subs:
        out.extend(_criterion(sub, source, code, ids, made.id))
    return out


def _where(source: Source, code: str, at: Line | Sentence) -> Where:
    return Where(
        document=source.name, code=code, page=at.page, section=at.section, heading=at.heading[:120]
    )


class _Ids:
    """Ids of one file's requirements: ``RC-CRI-01``, ``RC-EXI-12``, in reading order."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.counts: dict[str, int] = {}

    def make(self, kind: Kind, text: str, where: Where, **fields: object) -> Requirement:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        number = f"{self.code}-{KIND_CODES[kind]}-{self.counts[kind]:02d}"
        text = " ".join(text.split())
        if len(text) > _TEXT_CHARS:
            text = text[: _TEXT_CHARS - 1].rstrip() + "…"
        return Requirement.model_validate(
            {"id": number, "kind": kind, "text": text, "where": where, **fields}
        )
