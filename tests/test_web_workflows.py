"""The workflows page: runs with their status and files, and downloads kept to the crew's files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from equipage.bus import Bus
from equipage.checkpoint import RedisSaver
from equipage.crew import serializer, state_types
from equipage.envelope import Origin
from equipage.events import Event, EventType
from equipage.keys import Keys
from equipage.web.runs import content_type, inside, read_runs
from equipage.workflow import WorkflowState
from tests.consoles import served
from workflows.coaching import CoachingOutput
from workflows.migration.contract import MigrationOutput


def _saver(redis: aioredis.Redis, keys: Keys) -> RedisSaver:
    types = state_types(CoachingOutput) | state_types(MigrationOutput)
    return RedisSaver(redis, keys, serde=serializer(*types))


async def store_run(
    redis: aioredis.Redis, keys: Keys, thread: str, output: Any, member: str | None
) -> None:
    """Checkpoints of one workflow run, as a crew's runner leaves them."""

    def node(state: WorkflowState) -> dict[str, Any]:
        if output is None:
            interrupt({"question": "go on?"})
        return {"output": output}

    graph = StateGraph(WorkflowState)
    graph.add_node("work", node)
    graph.add_edge(START, "work")
    graph.add_edge("work", END)
    compiled = graph.compile(checkpointer=_saver(redis, keys))
    # The runner starts a run with its request's origin (WorkflowRunner.start).
    origin = Origin(channel="cli", chat=member, member=member) if member else None
    await compiled.ainvoke({"input": {}, "origin": origin}, {"configurable": {"thread_id": thread}})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "files" / "acme"
    (folder / "coaching" / "coaching-1").mkdir(parents=True)
    (folder / "coaching" / "coaching-1" / "report.md").write_text("# Report\n")
    (folder / "coaching" / "coaching-1" / "pace.png").write_bytes(b"\x89PNG\r\n")
    (folder / "migration" / "plan-1" / "scaleway").mkdir(parents=True)
    (folder / "migration" / "plan-1" / "plan.md").write_text("# Plan\n")
    (folder / "migration" / "plan-1" / "scaleway" / "main.tf").write_text("terraform {}\n")
    return folder


async def test_runs_show_status_member_and_the_files_their_output_names(
    redis: aioredis.Redis, keys: Keys, root: Path
) -> None:
    coaching = root / "coaching" / "coaching-1"
    done = CoachingOutput(
        source="talk.srt", chart=str(coaching / "pace.png"), report=str(coaching / "report.md")
    )
    await store_run(redis, keys, "workflow.coaching:cli:alice/wf-coaching/a1", done, "alice")
    plan = MigrationOutput(
        folder=str(root / "migration" / "plan-1"),
        files=["plan.md", "scaleway/main.tf", "../../../../etc/passwd"],
    )
    await store_run(redis, keys, "workflow.migration:cli:bob/wf-migration/b1", plan, "bob")
    await store_run(redis, keys, "workflow.migration:cli:bob/wf-migration/b2", None, "bob")
    await redis.hset(keys.waiting, "workflow.migration:cli:bob/wf-migration/b2", "q1")
    for step in ("inventory read", "step 1 asked"):
        detail = Event(
            type=EventType.PROGRESS,
            sender="workflow.migration",
            thread="cli:bob/wf-migration/b2",
            detail=step,
        )
        await Bus(redis, keys).emit(detail)

    runs = await read_runs(redis, keys, root)
    assert [(r.workflow, r.status, r.member) for r in runs] == [
        ("migration", "waiting", "bob"),
        ("migration", "done", "bob"),
        ("coaching", "done", "alice"),
    ]
    assert [f.path for f in runs[1].files] == [
        "migration/plan-1/plan.md",
        "migration/plan-1/scaleway/main.tf",
    ]
    assert runs[0].progress == "step 1 asked" and runs[1].progress == ""
    assert [f.path for f in runs[2].files] == [
        "coaching/coaching-1/pace.png",
        "coaching/coaching-1/report.md",
    ]
    assert runs[2].files[1].size == len("# Report\n")

    own = await read_runs(redis, keys, root, member="alice")
    assert [r.thread for r in own] == ["workflow.coaching:cli:alice/wf-coaching/a1"]
    assert [r.status for r in await read_runs(redis, keys, root, limit=1, offset=1)] == ["done"]
    only = await read_runs(redis, keys, root, workflow="coaching")
    assert [r.workflow for r in only] == ["coaching"]


def test_a_path_out_of_the_files_folder_is_refused_by_dots_absolute_or_symlink(
    root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    assert (
        inside(root, "coaching/coaching-1/report.md")
        == (root / "coaching" / "coaching-1" / "report.md").resolve()
    )
    assert inside(root, "../../secret.txt") is None
    assert inside(root, "coaching/../../../secret.txt") is None
    assert inside(root, str(secret)) is None
    assert inside(root, "coaching") is None  # a folder is not a download
    assert inside(root, "missing.md") is None
    os.symlink(secret, root / "coaching" / "leak.md")
    assert inside(root, "coaching/leak.md") is None
    os.symlink(root / "coaching" / "coaching-1" / "report.md", root / "coaching" / "same.md")
    assert inside(root, "coaching/same.md") is not None  # a link that stays inside is fine


def test_downloads_have_the_content_type_of_their_kind() -> None:
    assert content_type("a/plan.docx").startswith("application/vnd.openxmlformats")
    assert content_type("x.md") == "text/markdown; charset=utf-8"
    assert content_type("x.PNG") == "image/png"
    assert content_type("main.tf") == "text/plain; charset=utf-8"
    assert content_type("x.bin") == "application/octet-stream"


async def _two_runs(redis: aioredis.Redis, keys: Keys, root: Path) -> None:
    coaching = root / "coaching" / "coaching-1"
    done = CoachingOutput(source="talk.srt", report=str(coaching / "report.md"))
    await store_run(redis, keys, "workflow.coaching:cli:alice/wf-coaching/a1", done, "alice")
    plan = MigrationOutput(folder=str(root / "migration" / "plan-1"), files=["scaleway/main.tf"])
    await store_run(redis, keys, "workflow.migration:cli:bob/wf-migration/b1", plan, "bob")


async def test_members_see_their_own_runs_and_the_owner_sees_all(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, root: Path
) -> None:
    await _two_runs(redis, keys, root)
    async with served(redis, keys, tmp_path, workflows=("coaching", "migration")) as console:
        alice = await (await console.browser("alice", "fr")).get("/workflows")
        assert alice.status_code == 200 and "Exécutions des workflows" in alice.text
        assert "wf-coaching/a1" in alice.text and "wf-migration/b1" in alice.text
        assert "terminée" in alice.text
        assert "/workflows/download?path=migration%2Fplan-1%2Fscaleway%2Fmain.tf" in alice.text
        bob = await (await console.browser("bob", "en")).get("/workflows")
        assert "wf-migration/b1" in bob.text and "wf-coaching/a1" not in bob.text
        assert "done" in bob.text
        only = await (await console.browser("alice")).get("/workflows?workflow=coaching")
        assert "wf-coaching/a1" in only.text and "wf-migration/b1" not in only.text


async def test_a_download_is_an_attachment_of_its_kind_and_stays_in_the_crew_files(
    redis: aioredis.Redis, keys: Keys, tmp_path: Path, root: Path
) -> None:
    await _two_runs(redis, keys, root)
    (tmp_path / "secret.txt").write_text("not yours")
    os.symlink(tmp_path / "secret.txt", root / "coaching" / "leak.md")
    async with served(redis, keys, tmp_path) as console:
        alice = await console.browser("alice")
        got = await alice.get("/workflows/download", params={"path": "migration/plan-1/plan.md"})
        assert got.status_code == 200 and got.text == "# Plan\n"
        assert got.headers["content-type"] == "text/markdown; charset=utf-8"
        assert got.headers["content-disposition"] == 'attachment; filename="plan.md"'
        tf = await alice.get(
            "/workflows/download", params={"path": "migration/plan-1/scaleway/main.tf"}
        )
        assert tf.headers["content-type"] == "text/plain; charset=utf-8"
        for attack in (
            "../../secret.txt",
            "coaching/../../../secret.txt",
            str(tmp_path / "secret.txt"),
            "coaching/leak.md",  # a link that leads out
            "/etc/passwd",
        ):
            refused = await alice.get("/workflows/download", params={"path": attack})
            assert refused.status_code == 404, attack
            assert "not yours" not in refused.text
        bob = await console.browser("bob")
        mine = await bob.get(
            "/workflows/download", params={"path": "migration/plan-1/scaleway/main.tf"}
        )
        assert mine.status_code == 200 and mine.text == "terraform {}\n"
        theirs = await bob.get(
            "/workflows/download", params={"path": "coaching/coaching-1/report.md"}
        )
        assert theirs.status_code == 404  # Alice's run wrote it
        stranger = httpx.AsyncClient(base_url=console.url)
        async with stranger:
            anonymous = await stranger.get(
                "/workflows/download", params={"path": "migration/plan-1/plan.md"}
            )
            assert anonymous.status_code == 401 and "# Plan" not in anonymous.text
