"""The tender watch accounts for every notice it read, and says why one was ruled out.

Runs the workflow on the real notices bundled with Equipage, offline, as the other
workflow tests do.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import redis.asyncio as aioredis

from equipage.keys import Keys
from tests.test_tenders_workflow import GREEN, OP_IT, ROUEN, compiled, context, run_until_question
from workflows.tenders import TendersInput, TendersOutput


async def run(
    redis: aioredis.Redis, keys: Keys, files: Path, params: TendersInput, thread: str
) -> TendersOutput:
    graph = compiled(context(redis, keys, files, languages=("fr", "en")))
    _, question, state = await run_until_question(graph, params, thread)
    assert question is None  # pick=0: nothing to draft, the run ends with its report
    output: TendersOutput = state["output"]
    return output


async def test_report_accounts_for_every_notice_read_with_its_reason_in_french(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    output = await run(redis, keys, tmp_path, TendersInput.bundled(pick=0), "all")
    read = sum(output.fetched.values())
    assert len(output.notices) == read == len({a.tender_id for a in output.notices})
    statuses = {a.tender_id: a.status for a in output.notices}
    assert statuses[OP_IT] == "matched"
    assert statuses[ROUEN] == "ruled_out"
    assert statuses["boamp:17-5219"] == "award"  # a BOAMP result: never an opportunity
    assert list(statuses.values()).count("unpublished") == output.unpublished
    summary = output.summary()
    assert f"**Tous les avis lus** ({read}), et ce qu'il en est advenu" in summary
    lines = [line for line in summary.splitlines() if line.startswith("- ") and "`" in line]
    assert len(lines) >= read
    rouen = next(line for line in lines if ROUEN in line)
    assert "écarté : " in rouen
    award = next(line for line in lines if "boamp:17-5219" in line)
    assert "pas une opportunité : avis d'attribution : le marché est déjà attribué" in award
    assert "publié après le jour de la veille" in summary
    for english in ("ruled out", "Every notice", "already reported", "award notice"):
        assert english not in summary, english
    assert "**Every notice read**" in output.model_copy(update={"language": "en"}).summary()


async def test_a_second_run_accounts_for_what_it_already_reported(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    await run(redis, keys, tmp_path, TendersInput.bundled(pick=0), "first")
    again = await run(redis, keys, tmp_path, TendersInput.bundled(pick=0), "second")
    statuses = {a.tender_id: a.status for a in again.notices}
    assert statuses[OP_IT] == "seen" and not again.ranked
    line = next(line for line in again.summary().splitlines() if OP_IT in line)
    assert line.endswith("déjà signalé lors d'une veille précédente")


async def test_founder_asks_why_one_was_ruled_out_then_reruns_with_a_changed_profile(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    day = date(2019, 5, 13)
    asked = TendersInput.bundled(today=day, pick=0, explain=[ROUEN.removeprefix("ted:")])
    first = await run(redis, keys, tmp_path, asked, "why")
    summary = first.summary()
    assert "**Les avis sur lesquels vous avez demandé des explications**" in summary
    explained = summary.split("**Les avis sur lesquels")[1].split("**Tous les avis lus**")[0]
    assert ROUEN in explained and "écarté : " in explained
    assert "Ses codes CPV : 77310000" in explained and "Codes du profil : 72, 48" in explained
    assert "relancez la veille avec un profil" in explained
    assert first.why(ROUEN) in summary
    # The founder names the trade: the same notice is judged again, and kept.
    rerun = TendersInput.bundled(today=day, pick=0, profile=GREEN)
    second = await run(redis, keys, tmp_path, rerun, "again")
    assert ROUEN in [m.tender.id for m in second.ranked]
    assert {a.tender_id: a.status for a in second.notices}[ROUEN] == "matched"
