"""Tender notices in every language, from search fields alone, and keywords on the buyer's words.

Real notices from ``tests/fixtures/tenders/bench/notices.tar.gz`` (see SOURCES.md): a Belgian
eForms notice in Dutch and French, a JRC notice translated into the EU's 24 languages, and
an EIB notice whose only title is TED's (place and CPV label).
"""

from __future__ import annotations

import tarfile
from datetime import UTC, date, datetime
from pathlib import Path

from equipage.config import TenderProfile
from equipage.egress import Egress
from equipage.testing.fake_tenders import FakeNotice, FakeTenders
from workflows.tenders.boamp import BoampRecord, from_record
from workflows.tenders.eforms import parse_eforms
from workflows.tenders.fetching import Fetcher
from workflows.tenders.matching import match
from workflows.tenders.model import NoticeKind, Tender
from workflows.tenders.report import TendersOutput
from workflows.tenders.sources import parse_notice
from workflows.tenders.ted import search_ted
from workflows.tenders.ted_fields import TedHit

ARCHIVE = Path(__file__).parent / "fixtures" / "tenders" / "bench" / "notices.tar.gz"
STIB = "ted_835b3f2f-df15-4bc2-aa68-bc2703a0eac1.xml"  # Brussels transport, NL + FR
JRC = "ted_338270-2020.xml"  # JRC ISO certification, TED XML in 24 languages
EIB = "ted_426046-2018.xml"  # EIB substations, Zambia: award, no title of its own
# A landscaping contractor in Belgium: works (CPV 45), named in French.
BE = TenderProfile(cpv=("45",), keywords=("aménagement des extérieurs",), countries=("BE",),
                   min_days=0)  # fmt: skip


def raw(name: str) -> bytes:
    with tarfile.open(ARCHIVE) as archive:
        member = archive.extractfile(name)
        assert member is not None
        return member.read()


def real(name: str) -> Tender:
    return parse_notice(raw(name))


def test_eforms_notice_keeps_its_title_and_description_in_every_language_it_gives() -> None:
    stib = real(STIB)
    assert stib.language == "nl" and stib.title == "Buiteninrichting op de site van Demets"
    assert stib.titles == {
        "nl": "Buiteninrichting op de site van Demets",
        "fr": "Aménagement des extérieurs sur le site de Demets",
    }
    assert stib.descriptions["fr"].startswith("La STIB-MIVB souhaite réaménager les extérieurs")
    assert stib.descriptions["nl"].startswith("De MIVB wil de buiteninrichting")


def test_ted_xml_notice_keeps_the_title_of_every_translation_of_its_form() -> None:
    jrc = real(JRC)
    assert len(jrc.titles) == 24 and jrc.language == "en"
    assert jrc.titles["fr"].startswith("Certification ISO 9001 du JRC")
    assert jrc.titles["de"].startswith("Zertifizierung der JRC-Organisation")
    assert len(jrc.descriptions) == 24


def test_a_keyword_in_any_language_of_the_notice_matches_it() -> None:
    stib = real(STIB)
    today = date(2023, 9, 1)
    ranking = match([stib], BE, where=(), today=today)
    [found] = ranking.matches
    keyword = [r for r in found.reasons if r.code.startswith("keyword")]
    assert [(r.code, r.values) for r in keyword] == [
        ("keyword_title", {"keyword": "aménagement des extérieurs"})
    ]
    # The Dutch text alone does not say it: the French version is what matched.
    dutch_only = stib.model_copy(update={"titles": {}, "descriptions": {}})
    [alone] = match([dutch_only], BE, where=(), today=today).matches
    assert not [r for r in alone.reasons if r.code.startswith("keyword")]
    assert alone.score < found.score


def test_reader_sees_the_title_in_their_language_when_the_notice_has_it() -> None:
    stib = real(STIB)
    ranking = match([stib], BE, where=(), today=date(2023, 9, 1))
    found = [*ranking.matches, *ranking.upcoming]
    french = TendersOutput(today=date(2023, 9, 1), language="fr", ranked=found).summary()
    english = TendersOutput(today=date(2023, 9, 1), language="en", ranked=found).summary()
    assert "Aménagement des extérieurs sur le site de Demets" in french
    assert "Buiteninrichting" not in french
    # No English version: the notice's own title.
    assert "Buiteninrichting op de site van Demets" in english


def test_keywords_do_not_match_teds_label_of_a_cpv_code() -> None:
    eib = real(EIB)
    assert eib.title == "Zambia-Lusaka: EIB - High voltage substations" and eib.title_is_label
    profile = TenderProfile(keywords=("substations",), min_days=0, horizon_days=10_000)
    call = eib.model_copy(update={"kind": NoticeKind.CONTRACT, "nature": "supplies"})
    today = date(2018, 1, 1)
    assert match([call], profile, where=(), today=today).rejected[0].reason.code == "no_fit"
    # The same words written by the buyer would have matched.
    buyers = call.model_copy(update={"title_is_label": False})
    assert match([buyers], profile, where=(), today=today).matches
    # TED's search titles: "<country> – <label> – <title>" keeps the buyer's words only.
    hit = TedHit.model_validate({
        "publication-number": "00123456-2024",
        "notice-title": {"eng": "Belgium – Cleaning services – Upkeep of the town hall",
                         "fra": "Belgique – Services de nettoyage – Entretien de l'hôtel de ville"},
    })  # fmt: skip
    tender = hit.tender()
    assert tender.title == "Upkeep of the town hall" and not tender.title_is_label
    assert tender.titles["fr"] == "Entretien de l'hôtel de ville"
    cleaning = TenderProfile(keywords=("cleaning", "nettoyage"), min_days=0)
    assert match([tender], cleaning, where=(), today=date(2024, 1, 1)).rejected
    old = TedHit.model_validate({"ND": "123456-2019", "TI": {"FRA": "France-Paris: Services de "
                                                              "nettoyage"}}).tender()  # fmt: skip
    assert old.title_is_label and old.titles == {}
    assert match([old], cleaning, where=(), today=date(2024, 1, 1)).rejected


def test_search_fields_alone_give_kind_value_deadline_and_country_by_name_or_alias() -> None:
    # The values of the Sibelga notice (real, eForms), as TED's search lists them.
    long_names = {
        "publication-number": "00612345-2023",
        "notice-title": {"fra": "Belgique – Travaux de construction – Sibelga - Système de "
                                "qualification pour les travaux de conversion 230VAC-400VAC"},
        "buyer-name": {"fra": ["Sibelga"]},
        "buyer-country": ["BEL"],
        "classification-cpv": ["45230000", "45231400"],
        "publication-date": "2023-10-02+02:00",
        "deadline-receipt-tender-date-lot": ["2025-12-31+01:00"],
        "notice-type": "cn-standard",
        "estimated-value-proc": 27000000,
        "estimated-value-cur-proc": "EUR",
    }  # fmt: skip
    aliases = {
        "ND": "00612345-2023", "TI": long_names["notice-title"], "CY": "BEL",
        "PC": ["45230000", "45231400"], "PD": "20231002", "DT": ["20251231"], "TD": "cn-standard",
        "buyer-name": {"fra": "Sibelga"}, "estimated-value-proc": "27000000",
        "estimated-value-cur-proc": ["EUR"],
    }  # fmt: skip
    for fields in (long_names, aliases):
        tender = TedHit.model_validate(fields).tender()
        assert tender.id == "ted:00612345-2023" and tender.kind is NoticeKind.CONTRACT
        assert tender.title.startswith("Sibelga - Système de qualification")
        assert tender.country == "BE" and tender.language == "fr" and tender.buyer == "Sibelga"
        assert tender.value == 27_000_000 and tender.currency == "EUR"
        assert tender.published == date(2023, 10, 2)
        assert tender.deadline is not None and tender.deadline.date() == date(2025, 12, 31)
        assert tender.cpv == ("45230000", "45231400")


def test_an_award_found_by_search_alone_is_never_an_opportunity() -> None:
    profile = TenderProfile(cpv=("45",), min_days=0)
    for kind in ({"notice-type": "can-standard"}, {"TD": "Contract award notice"}, {"TD": "7"},
                 {"form-type": "result"}, {"notice-type": "veat"}):  # fmt: skip
        tender = TedHit.model_validate({
            "publication-number": "1-2024", "notice-title": {"eng": "Road works"},
            "classification-cpv": ["45233000"], **kind,
        }).tender()  # fmt: skip
        assert tender.kind is NoticeKind.AWARD, kind
        ranking = match([tender], profile, where=(), today=date(2024, 1, 1))
        assert not ranking.matches and ranking.rejected[0].reason.code == "award", kind


async def test_a_result_in_teds_fields_stays_an_award_whatever_its_xml_says() -> None:
    # A real contract notice served as TED lists a result: the search field wins.
    stib = raw(STIB)
    notices = [FakeNotice("ted", stib, {"notice-type": "can-standard", "form-type": "result"})]
    async with (
        FakeTenders(notices) as fake,
        Fetcher("ted", timeout=2, retries=0, egress=Egress([fake.url])) as fetcher,
    ):
        [by_xml] = await search_ted(fetcher, fake.url, "PD>=20230101")
        fake.fail("ted-xml", 404)
        [by_fields] = await search_ted(fetcher, fake.url, "PD>=20230101")
    assert parse_eforms(stib).kind is NoticeKind.CONTRACT
    assert by_xml.kind is NoticeKind.AWARD and by_xml.titles["fr"].startswith("Aménagement")
    assert by_fields.kind is NoticeKind.AWARD and by_fields.notice_id.endswith("-2024")


async def test_a_notice_whose_xml_fails_keeps_its_value_deadline_and_country() -> None:
    fields: dict[str, object] = {"notice-title": {"nld": "Buiteninrichting op de site van Demets"},
              "buyer-country": ["BEL"], "notice-type": "cn-standard",
              "estimated-value-proc": "1200000", "estimated-value-cur-proc": "EUR",
              "deadline-receipt-tender-date-lot": ["2023-10-20+02:00"],
              "publication-date": "2023-09-01+02:00"}  # fmt: skip
    async with FakeTenders([FakeNotice("ted", raw(STIB), fields)]) as fake:
        fake.fail("ted-xml", 404)
        async with Fetcher("ted", timeout=2, retries=0, egress=Egress([fake.url])) as fetcher:
            [tender] = await search_ted(fetcher, fake.url, "PD>=20230101")
    assert tender.title == "Buiteninrichting op de site van Demets" and tender.language == "nl"
    assert tender.kind is NoticeKind.CONTRACT and tender.country == "BE"
    assert tender.value == 1_200_000 and tender.currency == "EUR"
    assert tender.deadline == datetime(2023, 10, 20, 21, 59, 59, tzinfo=UTC)
    assert tender.published == date(2023, 9, 1)


def test_a_boamp_result_known_only_by_its_label_is_an_award() -> None:
    # BOAMP 17-5219 (bundled, a real result) as an Explore record whose nature code is new.
    record = BoampRecord(
        idweb="17-5219",
        objet="Travaux et fourniture du câblage du réseau informatique et téléphonique",
        nature="RESULTAT_MARCHE_2025",
        nature_libelle="Résultat de marché",
    )
    tender = from_record(record)
    assert tender.kind is NoticeKind.AWARD
    profile = TenderProfile(keywords=("câblage",), min_days=0)
    assert match([tender], profile, where=(), today=date(2017, 1, 1)).rejected[0].reason.code == (
        "award"
    )
