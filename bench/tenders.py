"""Precision and recall of the tender matcher, per company profile, on real labelled notices.

Reads ``tests/fixtures/tenders/bench/``: 177 real TED and BOAMP notices (``notices.tar.gz``)
and their labels (``labels.yaml``, written by reading the notices before any matcher ran
on them, for three profiles: IT services, building works, architecture and engineering).
Each notice is matched alone, dated on its publication day, by a profile with no country,
value or deadline rule, so what is measured is the trade match and the handling of awards.
A notice is expected among the matches when its label fits the profile and it is not an
award or a cancellation; the matcher "reports" it when it comes out a match or a prior
notice that fits. Prints JSON (also written to ``--out``): per profile the counts,
precision, recall and every error with the matcher's reason; the errors are also listed
on stderr, last line the verdict. ``--min-precision`` and ``--min-recall`` set floors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from equipage import TenderProfile
from workflows.tenders.matching import match
from workflows.tenders.model import Tender
from workflows.tenders.sources import parse_notice
from workflows.tenders.wording import EN, say

SET = Path(__file__).parent.parent / "tests" / "fixtures" / "tenders" / "bench"
_NOT_BIDDABLE = {"award", "cancellation"}


def load(folder: Path = SET) -> tuple[dict[str, Any], dict[str, Tender]]:
    """The labels file and every labelled notice, parsed, by Tender.id."""
    labels = yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))
    files = {entry["file"]: key for key, entry in labels["labels"].items()}
    tenders: dict[str, Tender] = {}
    with tarfile.open(folder / "notices.tar.gz") as archive:
        for member in archive.getmembers():
            read = archive.extractfile(member)
            if read is None or member.name not in files:
                continue
            tender = parse_notice(read.read())
            if tender.id != files[member.name]:
                labelled = files[member.name]
                raise SystemExit(f"{member.name} parses as {tender.id}, labelled {labelled}")
            tenders[tender.id] = tender
    missing = set(labels["labels"]) - set(tenders)
    if missing:
        raise SystemExit(f"labelled notices missing from the archive: {sorted(missing)}")
    return labels, tenders


def _day(tender: Tender) -> date:
    """The day the notice is read: its publication, so no deadline has passed yet."""
    if tender.published is not None:
        return tender.published
    if tender.deadline is not None:
        return tender.deadline.date() - timedelta(days=1)
    return date(2020, 1, 1)


def evaluate(labels: dict[str, Any], tenders: dict[str, Tender]) -> dict[str, Any]:
    """Counts, precision, recall and errors for each profile of the labels file."""
    results: dict[str, Any] = {}
    for name, spec in labels["profiles"].items():
        profile = TenderProfile(
            cpv=tuple(spec.get("cpv", ())),
            keywords=tuple(spec.get("keywords", ())),
            exclude=tuple(spec.get("exclude", ())),
            min_value=0,
            min_days=0,
            horizon_days=100_000,
        )
        counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        errors = []
        for key, label in labels["labels"].items():
            tender = tenders[key]
            expected = name in label["fit"] and label["kind"] not in _NOT_BIDDABLE
            ranking = match([tender], profile, where=(), today=_day(tender))
            found = (ranking.matches or ranking.upcoming or (None,))[0]
            reported = found is not None
            counts[("t" if expected == reported else "f") + ("p" if reported else "n")] += 1
            if expected != reported:
                why = (
                    [say(r, EN) for r in found.reasons]
                    if found is not None
                    else [say(ranking.rejected[0].reason, EN)]
                )
                errors.append({
                    "id": key,
                    "error": "missed" if expected else "wrongly reported",
                    "title": tender.title[:120],
                    "label": label["note"],
                    "matcher": "; ".join(why),
                })  # fmt: skip
        tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
        results[name] = {
            **counts,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None,
            "errors": errors,
        }
    return results


def composition(labels: dict[str, Any], tenders: dict[str, Tender]) -> dict[str, Any]:
    """What the set is made of: sources, countries, languages, kinds, synthetic left out."""

    def tally(values: list[str]) -> dict[str, int]:
        return dict(sorted({v: values.count(v) for v in set(values)}.items()))

    found = list(tenders.values())
    return {
        "real_notices": len(found),
        "synthetic_left_out": len(labels.get("synthetic") or {}),
        "sources": tally([t.source.value for t in found]),
        "countries": len({t.country for t in found if t.country}),
        "languages": len({t.language for t in found}),
        "kinds": tally([labels["labels"][t.id]["kind"] for t in found]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-tenders.json"))
    parser.add_argument("--min-precision", type=float, default=0.0)
    parser.add_argument("--min-recall", type=float, default=0.0)
    args = parser.parse_args(argv)
    labels, tenders = load()
    profiles = evaluate(labels, tenders)
    low = [
        f"{name} {what} {value} < {floor}"
        for name, result in profiles.items()
        for what, floor in (("precision", args.min_precision), ("recall", args.min_recall))
        if (value := result[what]) is not None and value < floor
    ]
    result = {
        "benchmark": "tender_matcher",
        "set": composition(labels, tenders),
        "profiles": profiles,
        "ok": not low,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    for name, found in profiles.items():
        counts = f"tp {found['tp']}, fp {found['fp']}, fn {found['fn']}"
        scores = f"precision {found['precision']} recall {found['recall']}"
        print(f"{name}: {scores} ({counts})", file=sys.stderr)
        for error in found["errors"]:
            print(f"  {error['error']}: {error['id']} {error['title'][:70]!r} — label: "
                  f"{error['label']} — matcher: {error['matcher']}", file=sys.stderr)  # fmt: skip
    verdict = "ok" if not low else "below the floor: " + ", ".join(low)
    print(f"bench/tenders.py: {verdict}", file=sys.stderr)
    return 0 if not low else 1


if __name__ == "__main__":
    sys.exit(main())
