"""Requirements read off consultation files: criteria and weights, deadline, documents, limits.

Three consultations, worded differently, so the reading is not tuned to one file:
- the real règlement de la consultation of Vallée Sud – Grand Paris, procedure 25TIC06
  (``fixtures/tenders/dce/vsgp-25TIC06/RC.pdf``, PDF read with pypdf; a criteria table that
  comes out of the PDF in pieces, page headers "Page N sur 12");
- an excerpt we wrote (``fixtures/tenders/dce/ours/rc-commune-excerpt.txt``): "ARTICLE"
  headings, weights in points, numbered sub-criteria, no page numbers, read from a DOCX
  built from it;
- a short English call for tenders, inline below.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from docx import Document

from equipage.documents import extract as read_text
from workflows.tenders.answer.extract import Source, document_code, extract
from workflows.tenders.answer.model import Extraction
from workflows.tenders.answer.report import weight_notes
from workflows.tenders.answer.wording import FR

DCE = Path(__file__).parent / "fixtures" / "tenders" / "dce"
VSGP = DCE / "vsgp-25TIC06"
OURS = DCE / "ours" / "rc-commune-excerpt.txt"

ENGLISH = """Request for tenders - Data platform support
1. Award criteria
Offers will be evaluated against the following criteria: Quality 70%, Price 30%.
Quality is split as follows:
1.1 Service management and SLAs 40%
1.2 Team and experience 30%
2. Submission
Tenders must be submitted by 14 March 2025 at 17:00 CET through the portal.
The technical proposal must not exceed 15 pages and shall be provided in PDF format.
The supplier shall hold an ISO 27001 certificate.
Bidders must include a sworn statement and their references.
The contracting authority shall publish the award notice.
"""


def source(path: Path) -> Source:
    return Source(name=path.name, text=read_text(path.read_bytes(), name=path.name).text)


@pytest.fixture(scope="module")
def real_rc() -> Extraction:
    return extract([source(VSGP / "RC.pdf")])


def criteria(found: Extraction) -> list[tuple[str, float | None, str | None]]:
    return [(c.name, c.weight, c.parent) for c in found.of("criterion")]


def test_real_rc_criteria_keep_their_weights_and_sub_criteria(real_rc: Extraction) -> None:
    assert weight_notes(list(real_rc.requirements), FR) == []  # 60 + 30 + 10, each split
    assert criteria(real_rc) == [
        ("Prix", 60.0, None),
        ("Prix (1)", 40.0, "RC-CRI-01"),  # the DPGF's part, unnamed in the table
        ("Prix (2)", 20.0, "RC-CRI-01"),  # the DQE's
        ("Valeur technique", 30.0, None),
        ("Qualité et pertinence de l’offre technique", 10.0, "RC-CRI-04"),
        ("Compétences été expérience de l’équipe dédiée", 10.0, "RC-CRI-04"),
        ("Organisation et méthodologie", 10.0, "RC-CRI-04"),
        ("Critère environnementale", 10.0, None),
        ("Réduction de l’empreinte carbone liée aux services IT", 5.0, "RC-CRI-08"),
        ("Optimisation de la consommation énergétique", 5.0, "RC-CRI-08"),
    ]
    first = real_rc.of("criterion")[0]
    assert (first.id, first.where.page, first.where.section) == ("RC-CRI-01", 7, "6.2")
    assert first.where.label() == "RC.pdf, p. 7, § 6.2"


def test_real_rc_deadline_has_its_date_and_time(real_rc: Extraction) -> None:
    assert real_rc.deadline is not None
    assert real_rc.deadline.at == datetime(2025, 4, 19, 15, 0) and real_rc.deadline.timed
    (due,) = real_rc.of("deadline")
    assert due.id == "RC-DAT-01" and due.where.page == 1
    assert "19 avril 2025" in due.text and "15h00" in due.text


def test_real_rc_documents_to_provide_are_named_and_the_dce_list_is_not(
    real_rc: Extraction,
) -> None:
    named = {r.name: r for r in real_rc.of("document")}
    assert {
        "DC1", "DC2", "DUME", "Déclaration de chiffre d'affaires", "Attestation d'assurance",
        "Acte d'engagement (AE)", "DPGF", "BPU", "DQE", "Mémoire technique",
        "Catalogue tarifaire",
    } <= set(named)  # fmt: skip
    assert named["DC1"].where.section == "5.1.1" and named["DC1"].where.page == 5
    assert named["Mémoire technique"].where.section == "5.2"
    # § 3 lists what the buyer hands out (the CCAP, the CCTP...), not what to provide.
    assert not [r for r in real_rc.of("document") if r.where.section == "3"]


def test_real_rc_format_limits_and_obligations_are_read(real_rc: Extraction) -> None:
    formats = real_rc.of("format")
    accepted = next(r for r in formats if r.where.section == "7")
    assert ".doc" in accepted.text and "irrecevabilité" in accepted.text
    texts = [r.text for r in real_rc.of("obligation")]
    assert any("devra impérativement intervenir" in t for t in texts)
    # "ne sont pas tenus de fournir" frees the candidate: not an obligation.
    assert not any("ne sont pas tenus" in t for t in texts)


def test_ids_are_stable_and_unique_across_runs() -> None:
    sources = [source(VSGP / "RC.pdf"), source(VSGP / "AE.docx")]
    first, second = extract(sources), extract(sources)
    ids = [r.id for r in first.requirements]
    assert ids == [r.id for r in second.requirements]
    assert len(ids) == len(set(ids))
    assert {r.where.code for r in first.requirements} == {"RC", "AE"}


def our_excerpt_as_docx(tmp_path: Path) -> Source:
    """Our excerpt as a Word file: headings as Word headings, the rest as paragraphs."""
    document = Document()
    for line in OURS.read_text(encoding="utf-8").splitlines():
        if line.startswith("ARTICLE"):
            document.add_heading(line, level=1)
        elif line.strip():
            document.add_paragraph(line)
    path = tmp_path / "RC_commune_2025-017.docx"
    document.save(str(path))
    return Source(name=path.name, text=read_text(path.read_bytes(), name=path.name).text)


def test_our_excerpt_points_and_numbered_sub_criteria(tmp_path: Path) -> None:
    found = extract([our_excerpt_as_docx(tmp_path)])
    assert criteria(found) == [
        ("Valeur technique de l'offre", 55.0, None),
        ("Moyens humains affectés au marché", 20.0, "RC-CRI-01"),
        ("Méthodologie d'hébergement, de sauvegarde et de sécurité", 25.0, "RC-CRI-01"),
        ("Démarche de réduction de l'impact environnemental", 10.0, "RC-CRI-01"),
        ("Prix des prestations", 45.0, None),
    ]
    assert {c.where.section for c in found.of("criterion") if c.parent is None} == {"4"}
    assert "points" in found.of("criterion")[0].text
    assert found.deadline is not None and found.deadline.at == datetime(2025, 3, 3, 12, 0)
    assert {r.name for r in found.of("document")} == {
        "Kbis", "Attestation URSSAF", "Références", "BPU", "Mémoire technique", "RIB",
    }  # fmt: skip
    pages = next(r for r in found.of("format") if "20 pages" in r.text)
    assert pages.where.section == "3" and pages.where.page is None  # no page numbers in it
    obligations = [r.text for r in found.of("obligation")]
    assert any("disponibilité mensuelle" in t for t in obligations)
    assert any("Union européenne" in t for t in obligations)


def test_english_call_for_tenders(tmp_path: Path) -> None:
    found = extract([Source(name="tender.txt", text=ENGLISH)])
    assert found.language == "en"
    assert criteria(found) == [
        ("Quality", 70.0, None),
        ("Service management and SLAs", 40.0, "DOC-CRI-01"),
        ("Team and experience", 30.0, "DOC-CRI-01"),
        ("Price", 30.0, None),
    ]
    assert found.deadline is not None and found.deadline.at == datetime(2025, 3, 14, 17, 0)
    assert {r.name for r in found.of("document")} >= {"Technical proposal", "Sworn statement"}
    assert any("15 pages" in r.text for r in found.of("format"))
    obligations = [r.text for r in found.of("obligation")]
    assert any("ISO 27001" in t for t in obligations)
    assert not any("contracting authority" in t for t in obligations)  # the buyer's duty


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("RC.pdf", "", "RC"),
        ("25TIC06_CCTP_v2.pdf", "", "CCTP"),
        ("Reglement_de_la_consultation.pdf", "", "RC"),
        ("piece3.pdf", "CAHIER DES CLAUSES ADMINISTRATIVES PARTICULIÈRES\n...", "CCAP"),
        ("BPU_Aquareel_2025.docx", "", "BPU"),
        ("notes.txt", "rien de particulier", "DOC"),
    ],
)
def test_a_file_is_coded_by_its_name_else_its_opening(name: str, text: str, code: str) -> None:
    assert document_code(name, text) == code


def test_an_eforms_notice_is_read_for_its_deadline_and_criteria_per_lot() -> None:
    """A real eForms notice (Rouen Habitat, package data of the tender watch)."""
    notices = Path(__file__).parent.parent / "workflows" / "tenders" / "notices"
    path = notices / "ted_eforms_cn_24_FRA_comments.xml"
    found = extract([Source(name=path.name, text=path.read_text(encoding="utf-8"))])
    assert found.deadline is not None and found.deadline.at == datetime(2019, 6, 24, 16, 0)
    assert [(c.id, c.name, c.weight, c.where.section) for c in found.of("criterion")] == [
        ("AVIS-CRI-01", "Prix", 60.0, "2"),
        ("AVIS-CRI-02", "Valeur technique", 40.0, "2"),
        ("AVIS-CRI-03", "Prix", 60.0, "3"),  # the second lot's
        ("AVIS-CRI-04", "Valeur technique", 40.0, "3"),
    ]
    assert weight_notes(list(found.requirements), FR) == []  # 100 % per lot
