"""The tender matcher and the seen-notice register: filters, scores, reasons, dedupe, changes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import redis.asyncio as aioredis
import yaml

from equipage.config import TenderProfile
from equipage.keys import Keys
from workflows.tenders.difference import (
    Amount,
    Cancelled,
    DeadlineMoved,
    Difference,
    LotsChanged,
    ValueChanged,
)
from workflows.tenders.matching import Match, Ranking, ReasonCode, match
from workflows.tenders.model import Criterion, Lot, NoticeKind, Source, Tender
from workflows.tenders.phrases import differences, phrases
from workflows.tenders.seen import SeenRegister, fingerprint
from workflows.tenders.sources import bundled_tenders
from workflows.tenders.wording import EN, FR, say, why

TODAY = date(2025, 3, 3)
LABELS = Path(__file__).parent / "fixtures" / "tenders" / "labels.yaml"
PROFILE = TenderProfile(
    cpv=("72", "48"),
    keywords=("cloud", "hébergement", "infogérance", "système d'information", "hosting"),
    exclude=("travaux", "works"),
    min_value=20_000,
    horizon_days=90,
    min_days=7,
)


def tender(number: str = "1", *, days: int | None = 30, **fields: Any) -> Tender:
    """A French contract notice on TED, due ``days`` from TODAY at noon UTC."""
    source = fields.pop("source", Source.TED)
    values: dict[str, Any] = {
        "id": f"{source}:{number}",
        "source": source,
        "notice_id": number,
        "title": "Prestations de services",
        "buyer": "Ville de Lyon",
        "country": "FR",
        "language": "fr",
        "published": TODAY - timedelta(days=2),
        "deadline": None
        if days is None
        else datetime.combine(TODAY + timedelta(days=days), datetime.min.time(), UTC)
        + timedelta(hours=12),
    }
    values.update(fields)
    return Tender.model_validate(values)


def ranked(*tenders: Tender, profile: TenderProfile = PROFILE) -> Ranking:
    return match(tenders, profile, where=("FR", "BE"), today=TODAY)


def only(ranking: Ranking) -> Match:
    assert len(ranking.matches) == 1, ranking
    return ranking.matches[0]


def said(found: Match) -> list[str]:
    """A match's reasons as the English report and drafts write them."""
    return why(found, EN)


def rejected_because(notice: Tender, profile: TenderProfile = PROFILE) -> str:
    ranking = ranked(notice, profile=profile)
    assert not ranking.matches and not ranking.upcoming, ranking
    [rejection] = ranking.rejected
    return say(rejection.reason, EN)


# -- matching ----------------------------------------------------------------------------


def test_cpv_prefix_match_is_scored_and_explained_deeper_prefixes_score_more() -> None:
    notice = tender(cpv=("72510000",), value=250_000, currency="EUR")
    broad = only(ranked(notice))
    deep = only(ranked(notice, profile=PROFILE.model_copy(update={"cpv": ("7251",)})))
    assert said(broad)[0] == "CPV 72510000 matches 72"
    assert "value 250,000 EUR ≥ 20,000" in said(broad)
    assert "deadline in 30 days" in said(broad)
    assert said(deep)[0] == "CPV 72510000 matches 7251"
    assert deep.score > broad.score


def test_french_keywords_match_whatever_the_accents_case_elision_and_plural() -> None:
    titles = [
        "Marché d'HEBERGEMENT des applications",
        "Prestations pour l'hébergement du site",
        "Prestations pour l’hébergement du site",  # typographic apostrophe
        "Hébergements et infogérance",
    ]
    for number, title in enumerate(titles):
        found = only(ranked(tender(str(number), title=title)))
        assert "keyword 'hébergement' in title" in said(found), title
    phrase = only(ranked(tender("p", title="Refonte des systèmes d'information")))
    assert "keyword 'système d'information' in title" in said(phrase)


def test_keywords_match_on_word_boundaries_only() -> None:
    notice = tender(title="Cloudy weather stations and rehosting of sensors")
    assert rejected_because(notice) == "no CPV code or keyword of the profile"


def test_keyword_in_title_scores_more_than_in_the_description_or_a_lot() -> None:
    in_title = tender("1", title="Services cloud", description="Prestations")
    in_body = tender("2", title="Prestations", description="Offre de services cloud")
    in_lot = tender("3", title="Prestations", lots=(Lot(id="2", title="Cloud privé"),))
    ranking = ranked(in_title, in_body, in_lot)
    scores = {m.tender.id: m for m in ranking.matches}
    assert "keyword 'cloud' in title" in said(scores["ted:1"])
    assert "keyword 'cloud' in description" in said(scores["ted:2"])
    assert "keyword 'cloud' in lot 2" in said(scores["ted:3"])
    assert scores["ted:1"].score > scores["ted:2"].score == scores["ted:3"].score


def test_a_body_keyword_alone_does_not_override_a_cpv_from_another_trade() -> None:
    contest = tender(
        title="Maîtrise d'œuvre pour un groupe scolaire",
        description="Un centre de loisirs sans hébergement",
        cpv=("71200000",),
    )
    assert rejected_because(contest) == (
        "CPV 71200000 is outside the profile and its keywords appear only in the body"
    )
    titled = tender(title="Hébergement du site web", cpv=("71200000",))
    assert "keyword 'hébergement' in title" in said(only(ranked(titled)))
    unclassified = tender(title="Prestations", description="Hébergement cloud", cpv=())
    assert only(ranked(unclassified)).tender.id == "ted:1"


def test_a_works_contract_is_out_when_the_profile_codes_are_only_side_codes() -> None:
    boards = tender(
        title="Lieferung und Montage digitaler Tafeln",
        cpv=("45317000", "48520000"),
        nature="works",
    )
    [rejection] = ranked(boards).rejected
    assert rejection.reason.code == "works"
    assert say(rejection.reason, EN) == (
        "a works contract (main CPV 45317000): the profile's codes are side codes only"
    )
    hosting = tender(title="Hébergement", cpv=("72415000", "45000000"), nature="works")
    assert only(ranked(hosting)).tender.id == "ted:1"


def test_hard_filters_rule_notices_out_and_say_why() -> None:
    cloud: dict[str, Any] = {"title": "Hébergement cloud"}
    cases = {
        "award notice: the contract is already awarded": tender(kind=NoticeKind.AWARD, **cloud),
        "cancellation notice: there is nothing left to bid on": tender(
            kind=NoticeKind.CANCELLATION, **cloud
        ),
        "country DE is not one of BE, FR": tender(country="DE", **cloud),
        "deadline passed 2 day(s) ago": tender(days=-2, **cloud),
        "deadline in 3 day(s), fewer than the 7 needed to bid": tender(days=3, **cloud),
        "deadline in 120 days, beyond the 90-day horizon": tender(days=120, **cloud),
        "excluded word 'travaux' in title": tender(title="Travaux d'hébergement cloud"),
        "excluded word 'works' in description": tender(description="Building works", **cloud),
        "value 5,000 EUR is below 20,000": tender(value=5000, currency="EUR", **cloud),
    }
    for reason, notice in cases.items():
        assert rejected_because(notice) == reason


def test_unknown_value_and_unknown_deadline_are_not_rejections() -> None:
    found = only(ranked(tender(days=None, title="Hébergement cloud")))
    assert "value not stated" in said(found)
    assert "deadline not stated" in said(found)
    stated = only(ranked(tender(value=90_000, title="Hébergement cloud")))
    assert stated.score > found.score


def test_value_of_the_lots_counts_when_the_notice_states_none() -> None:
    lots = (Lot(id="1", value=8000), Lot(id="2", value=9000))
    assert rejected_because(tender(title="Cloud", lots=lots)) == "value 17,000 EUR is below 20,000"


def test_countries_default_to_where_the_company_sells() -> None:
    belgian = tender(country="BE", title="Cloud hosting", language="en")
    assert only(ranked(belgian)).tender.country == "BE"
    narrowed = PROFILE.model_copy(update={"countries": ("FR",)})
    assert rejected_because(belgian, narrowed) == "country BE is not one of FR"


def test_prior_notice_that_fits_is_coming_soon_not_biddable() -> None:
    ranking = ranked(tender(kind=NoticeKind.PRIOR, days=None, title="Hébergement cloud"))
    assert not ranking.matches
    [soon] = ranking.upcoming
    assert "prior information notice: the call for tenders is not open yet" in said(soon)


def test_reasons_read_french_for_a_french_reader_with_french_amounts() -> None:
    notice = tender(cpv=("72510000",), value=250_000, currency="EUR", title="Hébergement cloud")
    found = only(ranked(notice))
    assert why(found, FR) == [
        "CPV 72510000 correspond à 72",
        "mot-clé « cloud » dans le titre",
        "mot-clé « hébergement » dans le titre",
        "valeur 250\u00a0000 EUR ≥ 20\u00a0000",  # a comma is the decimal mark in French
        "date limite dans 30 jours",
    ]
    late = tender(days=3, title="Hébergement cloud")
    [rejection] = ranked(late).rejected
    assert say(rejection.reason, FR) == (
        "date limite dans 3 jour(s), moins que les 7 nécessaires pour répondre"
    )
    picked = found.model_copy(update={"reasons": (rejection.reason,), "ruled_out": True})
    assert why(picked, EN) == [
        "ruled out by the profile: deadline in 3 day(s), fewer than the 7 needed to bid"
    ]
    assert why(picked, FR)[0].startswith("écarté par le profil : date limite dans 3 jour(s)")


def test_every_reason_the_matcher_gives_has_a_french_and_an_english_sentence() -> None:
    for words in (EN, FR):
        assert set(words.reasons) == set(get_args(ReasonCode)), words.code


def test_ranking_is_best_first_and_the_same_on_every_run() -> None:
    notices = [
        tender("a", title="Prestations", description="cloud"),
        tender("b", title="Hébergement cloud et infogérance", cpv=("72510000",), value=1e6),
        tender("c", title="Hébergement", days=8),
        tender("d", title="Hébergement", days=40),
    ]
    first = ranked(*notices)
    again = ranked(*reversed(notices))
    assert first == again
    assert [m.tender.id for m in first.matches] == ["ted:b", "ted:d", "ted:c", "ted:a"]
    assert all(0 <= m.score <= 100 for m in first.matches)


def _figures(profile: TenderProfile, relevant: set[str], ids: set[str]) -> tuple[float, float]:
    """Precision and recall of the matcher for ``profile`` on the labelled notices ``ids``."""
    # The labels judge subject, country and value only: every bundled notice is years
    # old, so each is matched on the day it was published, with deadlines and kinds
    # neutralised (kinds are the seen register's business, tested below).
    neutral = profile.model_copy(update={"min_days": 0, "horizon_days": 100_000})
    predicted = set()
    for notice in bundled_tenders():
        if notice.id not in ids:
            continue
        as_call = notice.model_copy(update={"kind": NoticeKind.CONTRACT})
        day = notice.published or (notice.deadline.date() if notice.deadline else TODAY)
        if match([as_call], neutral, where=(), today=day).matches:
            predicted.add(notice.id)
    hits = predicted & relevant
    return (len(hits) / len(predicted) if predicted else 0.0), len(hits) / len(relevant)


def test_matcher_precision_and_recall_on_the_labelled_real_notices() -> None:
    data = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    ids = set(data["labels"])
    assert ids <= {t.id for t in bundled_tenders()}, "a labelled notice is no longer bundled"
    assert len(ids) >= 30
    french = TenderProfile.model_validate(data["profile"])
    second = data["europe_it"]
    assert set(second["relevant"]) | set(second["not_relevant"]) <= ids
    runs = [
        ("French hosting SME", french, {i for i, lab in data["labels"].items() if lab["relevant"]}),
        # Without the exclude words too: CPV, keywords and countries must do the work.
        (
            "French hosting SME without exclude words",
            french.model_copy(update={"exclude": ()}),
            {i for i, lab in data["labels"].items() if lab["relevant"]},
        ),
        (
            "European IT services firm",
            TenderProfile.model_validate(second["profile"]),
            set(second["relevant"]),
        ),
    ]
    for name, profile, relevant in runs:
        precision, recall = _figures(profile, relevant, ids)
        print(
            f"\ntender matcher, {name}, on {len(ids)} labelled notices "
            f"({len(relevant)} relevant): precision {precision:.2f}, recall {recall:.2f}"
        )
        assert precision >= 0.8, name
        assert recall >= 0.8, name


# -- seen register -------------------------------------------------------------------------


def copies() -> tuple[Tender, Tender]:
    """One French procedure published on TED and on BOAMP (buyer case, accents differ)."""
    ted = tender(
        "100-2025",
        title="Hébergement et infogérance du système d'information",
        buyer="Ville de Lyon",
        procedure_id="f00d",
        links=("https://ted.europa.eu/en/notice/-/detail/100-2025",),
        lots=(Lot(id="LOT-0001", title="Hébergement"),),
    )
    boamp = tender(
        "25-1234",
        source=Source.BOAMP,
        title="HEBERGEMENT ET INFOGERANCE DU SYSTEME D'INFORMATION",
        buyer="VILLE DE LYON",
        procedure_id="25-1234",
        links=("https://www.boamp.fr/pages/avis/?q=idweb:25-1234",),
    )
    return ted, boamp


def written(changes: tuple[Difference, ...], language: str) -> list[str]:
    """What changed, as the report writes it in ``language``."""
    say = phrases(language)
    return [line for change in changes for line in differences(change, say)]


async def report(register: SeenRegister, tenders: list[Tender], run: str) -> list[str]:
    """Triage and claim like a run does; the ids it reports as new."""
    triage = await register.triage(tenders, run=run, today=TODAY)
    claimed = await register.claim(list(triage.new), run=run, today=TODAY)
    return [f.tender.id for f in claimed]


async def test_same_procedure_on_ted_and_boamp_is_reported_once_with_both_links(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, boamp = copies()
    assert fingerprint(ted) == fingerprint(boamp)
    register = SeenRegister(redis, keys)
    triage = await register.triage([boamp, ted], run="r1", today=TODAY)
    [fresh] = triage.new
    assert fresh.tender.id == ted.id  # the copy with lots says more
    assert set(fresh.tender.links) == {*ted.links, *boamp.links}
    assert await register.claim([fresh], run="r1", today=TODAY) == [fresh]


async def test_notice_reported_on_an_earlier_run_is_not_reported_again_from_either_source(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, boamp = copies()
    register = SeenRegister(redis, keys)
    assert await report(register, [ted], "r1") == [ted.id]
    again = await register.triage([boamp, ted], run="r2", today=TODAY)
    assert not again.new and not again.changes
    assert sorted(again.repeated) == sorted([ted.id, boamp.id])


async def test_change_of_a_seen_notice_is_reported_as_a_change_saying_what_changed(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, _ = copies()
    register = SeenRegister(redis, keys)
    await report(register, [ted], "r1")
    change = ted.model_copy(
        update={
            "id": "ted:200-2025",
            "notice_id": "200-2025",
            "kind": NoticeKind.CHANGE,
            "deadline": ted.deadline + timedelta(days=14) if ted.deadline else None,
            "value": 300_000.0,
            "currency": "EUR",
            "lots": (*ted.lots, Lot(id="LOT-0002", title="Sauvegarde")),
        }
    )
    triage = await register.triage([change], run="r2", today=TODAY)
    assert not triage.new
    [reported] = triage.changes
    assert reported.status == "changed"
    assert reported.first_reported == TODAY
    assert ted.deadline is not None
    assert reported.changes == (  # values, not sentences: each report language says them
        DeadlineMoved(before=ted.deadline, after=ted.deadline + timedelta(days=14)),
        ValueChanged(before=None, after=Amount(value=300_000.0, currency="EUR")),
        LotsChanged(added=("LOT-0002: Sauvegarde",)),
    )
    assert written(reported.changes, "en") == [
        "deadline moved from 2025-04-02 12:00 UTC to 2025-04-16 12:00 UTC",
        "estimated value changed from not stated to 300,000 EUR",
        "lots added or renamed: LOT-0002: Sauvegarde",
    ]
    assert written(reported.changes, "fr") == [
        "date limite déplacée : 2025-04-02 12:00 UTC → 2025-04-16 12:00 UTC",
        "valeur estimée modifiée : non indiquée → 300\u00a0000 EUR",
        "lots ajoutés ou renommés : LOT-0002: Sauvegarde",
    ]
    repeat = await register.triage([change], run="r3", today=TODAY)
    assert not repeat.changes and repeat.repeated == (change.id,)


async def test_cancellation_of_a_seen_notice_is_reported_once_as_a_cancellation(
    redis: aioredis.Redis, keys: Keys
) -> None:
    _, boamp = copies()
    register = SeenRegister(redis, keys)
    await report(register, [boamp], "r1")
    cancel = tender(
        "25-9999",
        source=Source.BOAMP,
        kind=NoticeKind.CANCELLATION,
        title="Avis d'annulation",
        amends="25-1234",
        days=None,
    )
    [cancelled] = (await register.triage([cancel], run="r2", today=TODAY)).changes
    assert cancelled.status == "cancelled"
    assert cancelled.title == boamp.title
    assert cancelled.changes == (Cancelled(notice="boamp:25-9999"),)
    assert written(cancelled.changes, "en") == ["procedure cancelled by notice boamp:25-9999"]
    assert written(cancelled.changes, "fr") == ["procédure annulée par l'avis boamp:25-9999"]
    later = await register.triage([boamp, cancel], run="r3", today=TODAY)
    assert not later.changes and not later.new


async def test_notice_cancelled_before_it_was_ever_reported_is_not_reported(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, _ = copies()
    cancel = ted.model_copy(
        update={"id": "ted:9", "notice_id": "9", "kind": NoticeKind.CANCELLATION}
    )
    triage = await SeenRegister(redis, keys).triage([cancel, ted], run="r1", today=TODAY)
    assert triage == type(triage)()


async def test_two_runs_at_once_report_a_new_notice_and_a_change_only_once(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, boamp = copies()
    first, second = SeenRegister(redis, keys), SeenRegister(redis, keys)
    runs = await asyncio.gather(report(first, [ted], "a"), report(second, [boamp], "b"))
    assert sorted(len(ids) for ids in runs) == [0, 1]
    moved = ted.model_copy(update={"id": "ted:2", "notice_id": "2", "kind": NoticeKind.CHANGE,
                                   "title": "Hébergement, infogérance et sauvegarde"})  # fmt: skip
    both = await asyncio.gather(
        first.triage([moved], run="c", today=TODAY), second.triage([moved], run="d", today=TODAY)
    )
    assert sorted(len(t.changes) for t in both) == [0, 1]


async def test_run_that_re_executes_after_a_crash_reports_its_own_claims_again(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, _ = copies()
    register = SeenRegister(redis, keys)
    assert await report(register, [ted], "r1") == [ted.id]
    assert await report(register, [ted], "r1") == [ted.id]  # same run: not lost
    assert await report(register, [ted], "r2") == []
    retitled = ted.model_copy(update={"title": "Hébergement sécurisé"})
    once = await register.triage([retitled], run="r3", today=TODAY)
    twice = await register.triage([retitled], run="r3", today=TODAY)
    assert once.changes == twice.changes and len(once.changes) == 1
    assert written(once.changes[0].changes, "fr") == [
        "titre modifié : « Hébergement et infogérance du système d'information » devient "
        "« Hébergement sécurisé »"
    ]


async def test_record_stored_with_english_sentences_of_an_older_version_is_still_read(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, _ = copies()
    register = SeenRegister(redis, keys)
    await report(register, [ted], "r1")
    slot = f"fp:{fingerprint(ted)}"
    raw = await redis.hget(keys.tenders_seen(), slot)
    assert raw is not None
    stored = json.loads(raw)
    stored.update(status="changed", changes=["deadline moved from 2025-04-02 to 2025-04-16"])
    await redis.hset(keys.tenders_seen(), slot, json.dumps(stored))
    again = await register.triage([ted], run="r2", today=TODAY)
    assert again.repeated == (ted.id,) and not again.new  # not mistaken for a new notice


async def test_prior_notice_followed_by_its_call_for_tenders_reports_the_call_as_new(
    redis: aioredis.Redis, keys: Keys
) -> None:
    ted, _ = copies()
    prior = ted.model_copy(
        update={"id": "ted:1", "notice_id": "1", "kind": NoticeKind.PRIOR, "deadline": None}
    )
    register = SeenRegister(redis, keys)
    assert await report(register, [prior], "r1") == [prior.id]
    assert await report(register, [ted], "r2") == [ted.id]
    assert await report(register, [ted], "r3") == []


def test_criteria_and_lots_do_not_change_the_fingerprint() -> None:
    ted, _ = copies()
    richer = ted.model_copy(update={"criteria": (Criterion(kind="price", weight=40),)})
    assert fingerprint(richer) == fingerprint(ted)
    assert fingerprint(ted.model_copy(update={"buyer": "Ville de Lille"})) != fingerprint(ted)


def test_the_kind_of_buyer_body_does_not_split_one_procedure_in_two() -> None:
    ted, boamp = copies()
    as_commune = boamp.model_copy(update={"buyer": "Commune de Lyon"})
    assert fingerprint(as_commune) == fingerprint(ted)
    assert fingerprint(boamp.model_copy(update={"buyer": "Commune de Lille"})) != fingerprint(ted)


async def test_procedures_over_a_year_past_their_deadline_are_forgotten_with_their_refs(
    redis: aioredis.Redis, keys: Keys
) -> None:
    register = SeenRegister(redis, keys)
    ted, boamp = copies()
    other = tender("200-2025", title="Infogérance des serveurs", buyer="Ville de Nantes", days=60)
    assert sorted(await report(register, [ted, boamp, other], "r1")) == sorted([ted.id, other.id])
    before = await redis.hlen(keys.tenders_seen())
    # Two months on: nothing is a year past its deadline yet.
    assert await register.prune(today=TODAY + timedelta(days=60)) == 0
    # 30 + 365 days on, the first procedure's deadline is over a year old; the second is not.
    assert await register.prune(today=TODAY + timedelta(days=30 + 366)) == 1
    seen = await redis.hkeys(keys.tenders_seen())
    fields = {f.decode() if isinstance(f, bytes) else f for f in seen}
    assert len(fields) < before
    assert not any(ted.id in f or boamp.id in f for f in fields)
    assert any(other.id in f for f in fields)
