"""Tender sources: eForms, TED XML and BOAMP parsing, the TED and BOAMP clients, failures."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from importlib import resources
from zoneinfo import ZoneInfo

import pytest

from equipage.config import TenderProfile
from equipage.egress import Egress
from equipage.errors import InputRejected
from equipage.testing.fake_tenders import FakeNotice, FakeTenders, boamp_record
from workflows.tenders.boamp import parse_boamp_json, parse_boamp_xml
from workflows.tenders.eforms import parse_eforms
from workflows.tenders.model import NoticeKind, Source, Tender
from workflows.tenders.mojibake import repair
from workflows.tenders.sources import SourcesConfig, bundled_tenders, fetch_tenders, parse_notice
from workflows.tenders.tedxml import parse_ted_xml

NOTICES = resources.files("workflows.tenders") / "notices"
PROFILE = TenderProfile(cpv=("72", "48"), countries=("FR", "BE"))
TODAY = date(2024, 6, 3)


def notice(name: str) -> bytes:
    return (NOTICES / name).read_bytes()


def by_notice_id() -> dict[str, Tender]:
    return {t.notice_id: t for t in bundled_tenders()}


def fake_notices() -> list[FakeNotice]:
    """The bundled notices as the two APIs list them (TED: search fields; BOAMP: records).

    The fake TED serves the eForms notices only: the TED client reads eForms XML (the
    pre-eForms ``ted_r209_*`` notices are read by ``parse_notice``, tested on their own).
    """
    served = []
    for item in sorted(NOTICES.iterdir(), key=lambda f: f.name):
        if item.name.startswith("ted_eforms_"):
            t = parse_eforms(item.read_bytes())
            fields = {"notice-title": {"eng": t.title}, "buyer-name": {"eng": [t.buyer]},
                      "classification-cpv": list(t.cpv)}  # fmt: skip
            served.append(FakeNotice("ted", item.read_bytes(), fields))
        elif item.name.startswith("boamp_"):
            raw = item.read_bytes()
            t = parse_notice(raw)
            record = boamp_record(
                idweb=t.notice_id, objet=t.title, nomacheteur=t.buyer,
                dateparution=t.published.isoformat() if t.published else None,
                datelimitereponse=t.deadline.isoformat() if t.deadline else None,
                kind=t.kind, cpv=list(t.cpv),
            )  # fmt: skip
            served.append(FakeNotice("boamp", raw, record))
    return served


def config(url: str, **changes: object) -> SourcesConfig:
    return SourcesConfig(ted_base_url=url, boamp_base_url=url, timeout=2.0, retries=2).model_copy(
        update=changes
    )


def test_every_bundled_notice_parses_to_a_tender() -> None:
    files = [f for f in NOTICES.iterdir() if f.name.endswith((".xml", ".json"))]
    tenders = bundled_tenders()
    assert len(tenders) == len(files) >= 36
    assert len({t.id for t in tenders}) == len(tenders)
    for tender in tenders:
        assert tender.title and tender.buyer and tender.published, tender.id


def test_eforms_contract_notice_carries_its_real_values() -> None:
    t = by_notice_id()["f42be27e-09cf-4f0e-a745-63ec689631e6"]
    assert t.source is Source.TED and t.kind is NoticeKind.CONTRACT and t.version == "01"
    assert t.title.startswith("Provision of IT Services Related to OP IT Systems")
    assert t.buyer == "Publications Office of the European Union"
    assert (t.country, t.language, t.cpv) == ("LU", "en", ("72230000",))
    assert t.procedure_id == "4805c409-5939-4be9-8abd-837f7a5fee23"
    assert t.deadline == datetime(2020, 2, 4, 10, tzinfo=timezone(timedelta(hours=2)))
    assert "https://etendering.ted.europa.eu/cft/cft-display.html?cftId=5629" in t.links


def test_eforms_value_currency_and_weighted_criteria_are_read() -> None:
    t = by_notice_id()["6bc75979-ce6c-46eb-81a6-eee543697dec"]
    assert t.title == "School Payroll and HR Admin Services"
    assert (t.buyer, t.country) == ("Cumbria County Council", "GB")
    assert (t.value, t.currency) == (1230000.0, "EUR")
    assert [(c.kind, c.weight) for c in t.criteria] == [("quality", 65.0), ("price", 35.0)]


def test_french_eforms_notice_is_read_in_french_with_accents() -> None:
    t = by_notice_id()["da4d46e9-490b-41ff-a2ae-8166d356a619"]
    assert t.language == "fr" and t.country == "FR"
    assert t.title == "Service d'entretien de remise en état et de nettoyage des espaces verts"
    assert t.buyer == "Rouen Habitat"
    assert [lot.title for lot in t.lots] == ["Agence centre", "Agence Hauts de Rouen"]
    assert t.deadline == datetime(2019, 6, 24, 16, tzinfo=UTC)
    defence = by_notice_id()["866bf88e-f381-45c8-a085-43a6148d0ab7"]
    assert defence.buyer == "Commissariat à l'énergie atomique et aux énergies alternatives"
    assert defence.title.startswith("Assistance à maîtrise d’œuvre")


def test_cancelling_change_notice_points_at_the_notice_it_cancels() -> None:
    notices = by_notice_id()
    void = notices["1d192942-a4a3-4833-8775-ca38f7ec09ca"]
    assert void.kind is NoticeKind.CANCELLATION
    assert void.amends == "f42be27e-09cf-4f0e-a745-63ec689631e6" in notices
    assert void.procedure_id == notices[void.amends].procedure_id


def test_prior_and_award_notices_are_recognised() -> None:
    notices = by_notice_id()
    assert notices["f252f386-55ac-4fa8-9be4-9f950b9904c8"].kind is NoticeKind.PRIOR
    assert notices["75b70657-c146-4b5c-8d66-1ded90cdcd1d"].kind is NoticeKind.AWARD
    award = notices["17-5219"]
    assert award.kind is NoticeKind.AWARD and award.procedure_id == "16-105311"
    assert award.amends is None


def test_boamp_v230_xml_notice_is_french_with_lots_and_deadline() -> None:
    t = parse_boamp_xml(notice("boamp_v230_test-pub.xml"))
    assert (t.id, t.source, t.language, t.country) == ("boamp:16-186394", "boamp", "fr", "FR")
    assert (
        t.title
        == "2016 DFA 167 - Prestations de remorquage pour les véhicules de la ville de Paris"
    )
    assert t.buyer == "Ville de Paris" and t.cpv == ("50118110",)
    assert t.deadline == datetime(2017, 2, 7, 12, tzinfo=timezone(timedelta(hours=1)))
    assert [lot.id for lot in t.lots] == ["1", "2"] and t.procedure == "open"
    assert "https://marches.maximilien.fr" in t.links


def test_legacy_dila_json_notice_reads_epoch_dates_and_accents() -> None:
    t = parse_boamp_json(notice("boamp_api-dila_v230_annonce_20-152081.json"))
    assert t.buyer == "Commune de Berre l'Etang" and "théâtre" in t.title
    assert t.deadline == datetime(2021, 3, 1, 11, tzinfo=UTC)
    assert t.published == date(2020, 12, 14) and t.procedure == "adapted"
    assert [c.kind for c in t.criteria] == ["quality", "quality", "cost"]


def test_boamp_record_nature_maps_to_change_and_cancellation_with_amends() -> None:
    from workflows.tenders.boamp import BoampRecord, from_record

    record = partial(
        boamp_record,
        idweb="24-1",
        objet="Hébergement",
        nomacheteur="Ville",
        dateparution="2024-06-01",
        datelimitereponse=None,
        cpv=["72415000"],
    )
    change = from_record(BoampRecord.model_validate(record(kind="change", amends="23-99")))
    assert (change.kind, change.amends, change.cpv) == (NoticeKind.CHANGE, "23-99", ("72415000",))
    cancel = from_record(BoampRecord.model_validate(record(kind="cancellation", amends="23-99")))
    assert cancel.kind is NoticeKind.CANCELLATION and cancel.amends == "23-99"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ContractNotice>&lol3;</ContractNotice>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE ANNONCE [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ANNONCE><GESTION><REFERENCE><IDWEB>&xxe;</IDWEB></REFERENCE></GESTION></ANNONCE>"""


@pytest.mark.parametrize("parse", [parse_eforms, parse_boamp_xml])
@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_malicious_xml_is_refused_not_expanded(parse: object, payload: bytes) -> None:
    with pytest.raises(InputRejected, match="DTD or entities"):
        parse(payload)  # type: ignore[operator]


async def test_ted_client_pages_through_search_and_reads_each_eforms_xml() -> None:
    notices = fake_notices()
    async with FakeTenders(notices) as fake:
        from workflows.tenders.fetching import Fetcher
        from workflows.tenders.ted import search_ted

        # The fake's 127.0.0.1 URL is the owner's configuration, as company.yaml's would be.
        async with Fetcher("ted", timeout=2, retries=0, egress=Egress([fake.url])) as fetcher:
            tenders = await search_ted(fetcher, fake.url, "publication-date>=20240101", page_size=3)
    expected = {parse_eforms(n.raw).notice_id for n in fake.ted}
    assert {t.notice_id for t in tenders} == expected and len(expected) == len(fake.ted) == 11
    searches = fake.requests["ted"]
    assert len(searches) == -(-len(expected) // 3)
    assert [s.get("iterationNextToken") for s in searches][:2] == [None, "it-3"]
    assert len(fake.requests["ted-xml"]) == len(expected)


async def test_fetch_narrows_ted_by_cpv_country_and_date_and_pages_boamp() -> None:
    async with FakeTenders(fake_notices()) as fake:
        report = await fetch_tenders(config(fake.url, days=7), PROFILE, today=TODAY)
        query = fake.requests["ted"][0]["query"]
        boamp_pages = fake.requests["boamp"]
    assert report.failures == []
    assert report.fetched == {"ted": len(fake.ted), "boamp": len(fake.boamp)}
    assert "classification-cpv IN (72000000 48000000)" in str(query)
    assert "buyer-country IN (FRA BEL)" in str(query)
    assert "publication-date>=20240527" in str(query)
    assert boamp_pages[0]["where"] == "dateparution >= date'2024-05-27'"
    paris = next(t for t in report.tenders if t.notice_id == "16-186394")
    assert paris.buyer == "Ville de Paris" and paris.cpv == ("50118110",)


async def test_boamp_client_pages_with_limit_and_offset() -> None:
    from workflows.tenders.boamp_api import search_boamp
    from workflows.tenders.fetching import Fetcher

    async with FakeTenders(fake_notices()) as fake:
        async with Fetcher("boamp", timeout=2, retries=0, egress=Egress([fake.url])) as fetcher:
            tenders = await search_boamp(fetcher, fake.url, "dateparution >= date'2024-01-01'",
                                         page_size=3)  # fmt: skip
        offsets = [r["offset"] for r in fake.requests["boamp"]]
    assert len(tenders) == len(fake.boamp) == 19
    assert offsets == [str(n) for n in range(0, 19, 3)]


async def test_429_is_retried_after_the_retry_after_delay() -> None:
    async with FakeTenders(fake_notices()) as fake:
        fake.fail("boamp", 429, times=1, retry_after=1)
        report = await fetch_tenders(config(fake.url, ted=False), PROFILE, today=TODAY,
                                     backoff=0.01)  # fmt: skip
        first, second = fake.request_times["boamp"][:2]
    assert report.failures == [] and report.fetched["boamp"] == len(fake.boamp)
    assert second - first >= 0.95


async def test_a_source_that_keeps_failing_is_reported_and_the_other_still_returns() -> None:
    async with FakeTenders(fake_notices()) as fake:
        fake.fail("ted", 503, times=10)
        report = await fetch_tenders(config(fake.url), PROFILE, today=TODAY, backoff=0.01)
    assert [(f.source, f.attempts) for f in report.failures] == [("ted", 3)]
    assert "HTTP 503" in report.failures[0].reason and "127.0.0.1" in report.failures[0].reason
    assert report.fetched == {"ted": 0, "boamp": len(fake.boamp)}
    assert {t.source for t in report.tenders} == {Source.BOAMP}


async def test_a_timed_out_request_is_retried() -> None:
    async with FakeTenders(fake_notices()) as fake:
        fake.fail("ted", 0, times=1)
        report = await fetch_tenders(config(fake.url, boamp=False, timeout=0.3), PROFILE,
                                     today=TODAY, backoff=0.01)  # fmt: skip
    assert report.failures == [] and report.fetched["ted"] == len(fake.ted)
    assert len(fake.requests["ted"]) == 2


async def test_a_notice_whose_xml_fails_is_kept_from_its_search_fields() -> None:
    async with FakeTenders(fake_notices()) as fake:
        fake.fail("ted-xml", 404, times=1)
        report = await fetch_tenders(config(fake.url, boamp=False), PROFILE, today=TODAY,
                                     backoff=0.01)  # fmt: skip
    fallback = [t for t in report.tenders if t.notice_id.endswith("-2024")]
    assert len(report.tenders) == len(fake.ted) and len(fallback) == 1
    assert fallback[0].title and fallback[0].cpv


async def test_bundled_mode_reads_shipped_notices_without_network() -> None:
    report = await fetch_tenders(SourcesConfig(bundled=True, ted_base_url="http://0.0.0.0:9"),
                                 PROFILE, today=TODAY)  # fmt: skip
    assert len(report.tenders) == len(bundled_tenders())
    assert report.fetched == {"ted": 17, "boamp": 19} and report.failures == []


# --- notices added with issue 5: TED XML before eForms, more BOAMP, text repair -------------


def test_ted_xml_contract_notice_reads_its_original_german_form() -> None:
    t = by_notice_id()["352458-2021"]
    assert (t.id, t.kind, t.country, t.language) == ("ted:352458-2021", NoticeKind.CONTRACT,
                                                     "DE", "de")  # fmt: skip
    assert t.title == ("Lieferung, Montage und Inbetriebnahme von digitalen Unterrichtstafeln "
                       "als Erweiterung der bestehenden Infrastruktur")  # fmt: skip
    assert t.buyer == "Stadt Mitterteich" and t.cpv[0] == "45317000" and "48520000" in t.cpv
    assert (t.value, t.currency, t.nature, t.procedure) == (40000.0, "EUR", "works", "open")
    # TED gives the buyer's local time without a zone: 09:30 in Bavaria in August is CEST.
    assert t.deadline == datetime(2021, 8, 10, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert t.published == date(2021, 7, 13)
    assert "https://www.staatsanzeiger-eservices.de/aJs/EuBekVuUrl?z_param=224371" in t.links
    assert "https://ted.europa.eu/en/notice/-/detail/352458-2021" in t.links


def test_ted_xml_award_points_at_its_call_and_keeps_weighted_criteria() -> None:
    t = by_notice_id()["353237-2021"]
    assert t.kind is NoticeKind.AWARD and t.amends is None
    assert t.procedure_id == "183831-2020"  # REF_NOTICE 2020/S 078-183831
    assert (t.value, t.currency, t.procedure) == (1220020.0, "EUR", "neg-w-call")
    assert t.cpv == ("38112100", "72263000") and t.country == "AT"
    assert [(c.kind, c.weight) for c in t.criteria] == [
        ("quality", 10.0), ("quality", 10.0), ("quality", 10.0), ("price", 70.0)]  # fmt: skip
    assert t.criteria[0].description == "Funktionalität der Software"


def test_ted_xml_deadline_is_in_the_buyers_zone_and_text_keeps_its_letters() -> None:
    riga = by_notice_id()["354625-2021"]
    assert (riga.country, riga.language, riga.kind) == ("LV", "lv", NoticeKind.CONTRACT)
    assert riga.deadline == datetime(2021, 8, 16, 14, tzinfo=timezone(timedelta(hours=3)))
    assert riga.title == "Zināšanu pārneses platformas izveide"
    assert riga.buyer == "VSIA “Bērnu klīniskā universitātes slimnīca”"
    school = by_notice_id()["354626-2021"]
    assert school.title.startswith("Marché de maîtrise d'œuvre de niveau Esquisse +")
    assert school.buyer == "Commune de Vétraz-Monthoux" and school.language == "fr"
    assert "Centre de loisirs sans hébergement (CLSH)" in school.description
    sek = by_notice_id()["352907-2021"]
    assert (sek.value, sek.currency, sek.nature) == (2000000.0, "SEK", "supplies")


def test_notices_are_told_apart_by_content_not_file_name() -> None:
    for name, source, notice_id in [
        ("ted_r209_354823-2021.xml", Source.TED, "354823-2021"),
        ("ted_eforms_pin-buyer_24_minimal.xml", Source.TED, "e45d1409-9944-4fb0-84c5-f41ce774d37f"),
        ("boamp_v230_test-pub-9.xml", Source.BOAMP, "16-652"),
        ("boamp_api-dila_v230_annonce_20-152081.json", Source.BOAMP, "20-152081"),
    ]:
        t = parse_notice(notice(name))
        assert (t.source, t.notice_id) == (source, notice_id), name
    with pytest.raises(InputRejected, match="not TED_EXPORT"):
        parse_ted_xml(notice("boamp_v230_test-pub-3.xml"))
    with pytest.raises(InputRejected, match="DTD or entities"):
        parse_ted_xml(BILLION_LAUGHS)


def test_boamp_award_links_to_the_call_it_awards() -> None:
    notices = by_notice_id()
    award = notices["17-4742"]
    assert award.kind is NoticeKind.AWARD and award.procedure_id == "16-652"
    call = notices[award.procedure_id]
    assert call.kind is NoticeKind.CONTRACT and call.buyer == award.buyer == "CHU St Etienne"
    assert call.deadline == datetime(2016, 1, 25, 16, tzinfo=timezone(timedelta(hours=1)))
    assert [(c.kind, c.weight) for c in call.criteria] == [("price", 60.0), ("quality", 40.0)]


def test_boamp_cp1252_leftovers_become_real_punctuation() -> None:
    water = by_notice_id()["17-40964"]
    assert water.description.startswith(": L’objet de la présente consultation")
    assert "distribution d’eau potable" in water.lots[0].description
    assert "•\t4 forages d’une capacité" not in water.lots[0].description  # tabs collapse
    assert "• 4 forages d’une capacité totale" in water.lots[0].description
    c1 = re.compile("[\u0080-\u009f]")
    for t in bundled_tenders():
        assert not c1.search("\n".join([t.title, t.buyer, t.text()])), t.id


def test_repair_decodes_c1_codes_and_split_utf8_accents() -> None:
    assert repair("ma\u00eetrise d\u0092\u009cuvre") == "maîtrise d’œuvre"
    assert repair("Capacite\u00cc\u0081s") == "Capacités"
    assert repair("ou\u00ef\u0082paragraphe") == "ouï‚paragraphe"  # cp1252 0x82 is ‚
    assert repair("fin\u0085") == "fin…" and repair("x\u0081y") == "xy"
    assert repair("déjà propre") == "déjà propre"


def test_published_eforms_notice_names_its_ted_page_and_far_deadline() -> None:
    t = by_notice_id()["94aaac85-3aa2-48ea-9677-d60cff72202f"]
    assert (t.country, t.language, t.kind, t.nature) == ("DE", "de", NoticeKind.CONTRACT,
                                                         "supplies")  # fmt: skip
    assert t.buyer == "KKH Kaufmännische Krankenkasse" and t.published == date(2023, 10, 13)
    assert t.deadline == datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=1)))
    assert t.links[-1] == "https://ted.europa.eu/en/notice/-/detail/622691-2023"
    assert [lot.title for lot in t.lots] == ["Lenograstim (L03AA10)"]
