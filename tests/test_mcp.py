"""MCP tools of a role against a real MCP server (tests/procs/mcp_server.py), stdio and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from equipage.app import open_session
from equipage.config import CompanyConfig, McpServer, Settings, load_config, mcp_process_env
from equipage.crew import build_crew
from equipage.envelope import Kind
from equipage.errors import ConfigError, RuntimeFailure
from equipage.keys import Keys
from equipage.llm.base import ChatModel
from equipage.llm.messages import Completion, Message, ToolCall
from equipage.mcp import McpTools
from equipage.memory import Memory
from equipage.testing import ScriptedModel, call
from equipage.tools import ThreadContext, Toolbox
from equipage.worker import Worker
from tests.test_crew import Running, company

SERVER = Path(__file__).parent / "procs" / "mcp_server.py"
NOTES = "Launch on Monday; the price is 12 EUR a month."


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "notes.txt").write_text(NOTES, encoding="utf-8")
    (folder / "old.txt").write_text("old", encoding="utf-8")
    return folder


def stdio(root: Path, allow: Sequence[str], **fields: Any) -> McpServer:
    command = [sys.executable, str(SERVER)]
    return McpServer(name="files", command=command, env={"ROOT": str(root)}, allow=allow, **fields)


def calls(root: Path) -> list[str]:
    """The tools whose calls reached the server, in order."""
    path = root / ".calls"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def read(tool: str = "files__read_file", call_id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=tool, arguments=arguments or {"path": "notes.txt"})


@asynccontextmanager
async def started(*servers: McpServer) -> AsyncIterator[McpTools]:
    tools = McpTools(servers, role="cto")
    await tools.start()
    try:
        yield tools
    finally:
        await tools.aclose()


@contextlib.asynccontextmanager
async def serving_http(script: Path, env: dict[str, str]) -> AsyncIterator[str]:
    """``script --port 0`` as a streamable HTTP MCP server; yields the URL it announces."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        env={**env, "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=15)
        ready, _, url = line.decode().strip().partition(" ")
        assert ready == "ready", f"the server said {line!r} instead of 'ready <url>'"
        yield url
    finally:
        process.terminate()
        await process.wait()


@pytest.fixture
async def http_url(root: Path) -> AsyncIterator[str]:
    """The test server over streamable HTTP on a free port of 127.0.0.1."""
    async with serving_http(SERVER, {"ROOT": str(root)}) as url:
        yield url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- listing and calling ----------------------------------------------------------------
async def test_stdio_server_offers_only_the_allowed_tools_and_returns_their_text(
    root: Path,
) -> None:
    async with started(stdio(root, ["read_file", "list_dir"])) as tools:
        specs = {spec.name: spec for spec in tools.specs()}
        outcome = await tools.call(read())

    assert list(specs) == ["files__read_file", "files__list_dir"]
    assert specs["files__read_file"].parameters["required"] == ["path"]
    assert outcome.text == NOTES
    assert outcome.untrusted is True
    assert calls(root) == ["read_file"]


async def test_call_to_a_tool_not_allowed_is_refused_without_reaching_the_server(
    root: Path, redis: aioredis.Redis, keys: Keys
) -> None:
    ctx = ThreadContext(
        company="acme", role="cto", thread="t", cause="e", hops=0, origin=None, reply_to=None
    )
    async with started(stdio(root, ["read_file"])) as tools:
        toolbox = Toolbox(["reply"], memory=Memory(redis, keys), mcp=tools)
        offered = [spec.name for spec in toolbox.specs()]
        refused = await toolbox.run(read("files__delete_file", path="old.txt"), ctx)
        direct = await tools.call(read("files__delete_file", path="old.txt"))
        allowed = await toolbox.run(read(), ctx)

    assert offered == ["reply", "files__read_file"]
    assert "not allowed" in refused.text and "not allowed" in direct.text
    assert allowed.text == NOTES
    assert calls(root) == ["read_file"]
    assert (root / "old.txt").exists()


async def test_streamable_http_server_offers_the_allowed_tools_and_answers_calls(
    root: Path, http_url: str
) -> None:
    server = McpServer(name="docs", url=http_url, allow=["read_file"], trusted=True)
    async with started(server) as tools:
        names = [spec.name for spec in tools.specs()]
        outcome = await tools.call(read("docs__read_file"))

    assert names == ["docs__read_file"]
    assert outcome.text == NOTES
    assert outcome.untrusted is False  # trusted: true in the config
    assert calls(root) == ["read_file"]


async def test_only_company_yaml_makes_a_tool_read_only_whatever_the_server_hints(
    root: Path,
) -> None:
    # The server hints read_file and list_dir are read-only; the config believes one.
    server = stdio(root, ["read_file", "list_dir", "write_file"], read_only=["list_dir"])
    tools = McpTools([server], role="cto")
    before = tools.side_effects()
    await tools.start()
    try:
        after = tools.side_effects()
    finally:
        await tools.aclose()

    assert before == after
    assert after == {"files__read_file": True, "files__list_dir": False, "files__write_file": True}


async def test_the_model_sees_the_owners_description_and_no_words_of_the_server(
    root: Path,
) -> None:
    described = {"read_file": "Read one of our notes; path is relative to the notes folder."}
    async with started(stdio(root, ["read_file", "list_dir"], describe=described)) as tools:
        specs = {spec.name: spec for spec in tools.specs()}
        sources = tools.metadata_sources()

    read_file, list_dir = specs["files__read_file"], specs["files__list_dir"]
    assert read_file.description == described["read_file"]
    assert "list_dir" in list_dir.description and "files" in list_dir.description
    assert "List the files" not in list_dir.description  # the server's own description
    # The schema keeps what a call needs; the server's titles are gone.
    assert read_file.parameters == {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    }
    assert list_dir.parameters == {"type": "object", "properties": {}}
    assert sources == ()


async def test_server_descriptions_opted_in_reach_the_model_fenced_and_taint_the_role(
    root: Path,
) -> None:
    server = stdio(
        root, ["read_file"], describe={"read_file": "Read a note."}, server_descriptions=True
    )
    async with started(server) as tools:
        [spec] = tools.specs()
        sources = tools.metadata_sources()

    owners, _, fenced = spec.description.partition("\n")
    assert owners == "Read a note."
    assert fenced.startswith('<untrusted source="mcp:files">\n')
    assert fenced.endswith("\n</untrusted>")
    assert "Read a text file." in fenced
    assert spec.parameters["properties"] == {"path": {"type": "string"}}  # no title
    assert sources == ("mcp:files",)


async def test_tool_errors_and_images_come_back_as_text(root: Path) -> None:
    async with started(stdio(root, ["read_file", "broken", "chart"])) as tools:
        broken = await tools.call(read("files__broken"))
        bad_arguments = await tools.call(read(path=None))
        chart = await tools.call(read("files__chart"))

    assert broken.text.startswith("error: ") and "the disk is on fire" in broken.text
    assert broken.untrusted is True
    assert bad_arguments.text.startswith("error: ")
    assert chart.text == "the chart:\n[image image/png]"


async def test_allowed_tool_the_server_lacks_fails_the_start_and_names_what_it_has(
    root: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        async with started(stdio(root, ["read_file", "move_file"])):
            pass
    message = str(caught.value)
    assert "'files'" in message and "'move_file'" in message
    assert "read_file, write_file" in message


async def test_unreachable_server_fails_the_start_with_what_to_check() -> None:
    url = f"http://127.0.0.1:{closed_port()}/mcp"
    missing = McpServer(name="gone", command=["/nonexistent/mcp-server"], allow=["x"])
    with pytest.raises(RuntimeFailure, match=r"'docs'.*check that the server runs"):
        async with started(McpServer(name="docs", url=url, allow=["read_file"])):
            pass
    with pytest.raises(RuntimeFailure, match=r"'gone'.*check that the command runs"):
        async with started(missing):
            pass


async def test_server_that_went_away_fails_the_call_and_is_reconnected_on_the_next(
    root: Path,
) -> None:
    async with started(stdio(root, ["read_file", "crash"])) as tools:
        with pytest.raises(RuntimeFailure, match=r"'files'.*went away during crash"):
            await tools.call(read("files__crash"))
        outcome = await tools.call(read())
    assert outcome.text == NOTES
    assert calls(root) == ["crash", "read_file"]


# -- through the crew -------------------------------------------------------------------
def mcp_company(root: Path) -> CompanyConfig:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    data["roles"]["cto"]["mcp"] = [
        {
            "name": "files",
            "command": [sys.executable, str(SERVER)],
            "env": {"ROOT": str(root)},
            "allow": ["read_file", "write_file"],
            "read_only": ["read_file"],
        }
    ]
    return CompanyConfig.model_validate(data)


@asynccontextmanager
async def mcp_crew_running(
    redis: aioredis.Redis, keys: Keys, config: CompanyConfig, models: Mapping[str, ChatModel]
) -> AsyncIterator[Running]:
    crew = build_crew(config, redis, keys, models=models)
    await crew.start()
    stop = asyncio.Event()
    try:
        await crew.bus.ensure_groups(crew.handlers)
        worker = Worker(crew.bus, crew.handlers, name="w", concurrency=4, block_ms=20)
        task = asyncio.create_task(worker.run(stop))
        try:
            yield Running(redis, keys, crew.bus)
        finally:
            stop.set()
            await task
    finally:
        await crew.aclose()


def tool_result(messages: Sequence[Message]) -> str:
    return next(m.content for m in reversed(messages) if m.role == "tool")


async def test_cto_reads_a_file_through_mcp_and_replies_with_its_content(
    root: Path, redis: aioredis.Redis, keys: Keys
) -> None:
    cto = ScriptedModel(
        [
            call("files__read_file", "c1", path="notes.txt"),
            lambda messages: call("reply", "c2", text=f"The notes: {tool_result(messages)}"),
            Completion(),
        ]
    )
    async with mcp_crew_running(redis, keys, mcp_company(root), {"cto": cto}) as crew:
        await crew.tell("What do the launch notes say?", to="cto")
        [reply] = await crew.outbox(1)

    assert reply.kind is Kind.REPLY and NOTES in reply.text
    # The model saw the file as untrusted content, fenced.
    assert tool_result(cto.calls[1]).startswith('<untrusted source="files__read_file">')
    assert calls(root) == ["read_file"]


async def test_side_effecting_mcp_call_after_untrusted_content_waits_for_the_founder(
    root: Path, redis: aioredis.Redis, keys: Keys
) -> None:
    cto = ScriptedModel(
        [
            call("files__read_file", "c1", path="notes.txt"),
            call("files__write_file", "c2", path="post.txt", text="We launch on Monday."),
            call("reply", "c3", text="Written."),
            Completion(),
        ]
    )
    async with mcp_crew_running(redis, keys, mcp_company(root), {"cto": cto}) as crew:
        await crew.tell("Write the launch post from the notes.", to="cto")
        [question] = await crew.outbox(1)
        assert question.kind is Kind.QUESTION and question.question is not None
        assert question.question.topic == "tool" and "files__write_file" in question.text
        assert calls(root) == ["read_file"]  # asked first, nothing written
        assert not (root / "post.txt").exists()

        await crew.answer(question, approved=True)
        _, reply = await crew.outbox(2)

    assert reply.kind is Kind.REPLY and reply.text == "Written."
    assert calls(root) == ["read_file", "write_file"]
    assert (root / "post.txt").read_text(encoding="utf-8") == "We launch on Monday."


async def test_session_starts_the_mcp_servers_and_closes_them(root: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", namespace="mcptest")
    async with open_session(mcp_company(root), settings) as session:
        tools, policy = session.crew.mcp["cto"]
        names = [spec.name for spec in tools.specs()]
        assert policy.side_effects["files__write_file"] is True
        assert policy.side_effects["files__read_file"] is False
    assert names == ["files__read_file", "files__write_file"]
    assert tools.specs() == []


# -- company.yaml -----------------------------------------------------------------------
YAML = """\
company: {{name: Acme, profile: {{sells: hosting}}}}
members:
  - {{id: alice, name: Alice, role: owner}}
roles:
  ceo:
    description: runs the company
  cto:
    description: hosting
    mcp:
      - name: {name}
        {reach}
        allow: {allow}
"""


BOTH = "command: [python, -m, files]\n        url: http://127.0.0.1:8931/mcp"
URL = "url: http://127.0.0.1:8931/mcp"


@pytest.mark.parametrize(
    ("name", "reach", "allow", "field", "line", "says"),
    [
        ("files", BOTH, "[read_file]", "roles.cto.mcp[0].url", 12, "not both"),
        ("files", URL, "[]", "roles.cto.mcp[0].allow", 12, "list the tools"),
        ("Files", URL, "[x]", "roles.cto.mcp[0].name", 10, "must start with a-z"),
        ("files", "url: ftp://files", "[x]", "roles.cto.mcp[0].url", 11, "not an http(s) URL"),
        ("files", "env: {A: b}", "[x]", "roles.cto.mcp[0]", 10, "add `command:"),
    ],
    ids=["command-and-url", "empty-allow", "bad-name", "bad-url", "neither"],
)
def test_mcp_config_mistake_names_the_field_and_its_line(
    tmp_path: Path, name: str, reach: str, allow: str, field: str, line: int, says: str
) -> None:
    path = tmp_path / "company.yaml"
    path.write_text(YAML.format(name=name, reach=reach, allow=allow), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.field, caught.value.line) == (field, line)
    assert says in str(caught.value)


TOOLS_YAML = """\
company: {{name: Acme, profile: {{sells: hosting}}}}
members:
  - {{id: alice, name: Alice, role: owner}}
roles:
  ceo:
    description: runs the company
  cto:
    description: hosting
    mcp:
      - name: files
        url: http://127.0.0.1:8931/mcp
        allow: [read_file, write_file]
        {extra}
"""
DESCRIBE = "describe:\n          read_file: Reads a note.\n          search: Finds pages."


@pytest.mark.parametrize(
    ("extra", "field", "line", "says"),
    [
        ("read_only: [read_file, delete]", "roles.cto.mcp[0].read_only[1]", 13, "not in allow"),
        (DESCRIBE, "roles.cto.mcp[0].describe.search", 15, "'search' is not in allow"),
        ("describe: {read_file: ''}", "roles.cto.mcp[0].describe.read_file", 13, "at least 1"),
        ("side_effects: [write_file]", "roles.cto.mcp[0].side_effects", 13, "read_only"),
    ],
    ids=["read-only-not-allowed", "describe-not-allowed", "empty-description", "side-effects"],
)
def test_mcp_tool_trust_mistake_names_the_field_and_its_line(
    tmp_path: Path, extra: str, field: str, line: int, says: str
) -> None:
    path = tmp_path / "company.yaml"
    path.write_text(TOOLS_YAML.format(extra=extra), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert (caught.value.field, caught.value.line) == (field, line)
    assert str(caught.value.path) == str(path)
    assert says in str(caught.value)


def test_two_servers_of_a_role_cannot_share_a_name(tmp_path: Path) -> None:
    data: dict[str, Any] = company().model_dump(mode="json", exclude_unset=True)
    server = {"name": "files", "url": "http://127.0.0.1:1/mcp", "allow": ["read_file"]}
    data["roles"]["cto"]["mcp"] = [server, server]
    with pytest.raises(ValueError, match=r"mcp\[1\]\.name: 'files' is used twice"):
        CompanyConfig.model_validate(data)


def test_stdio_server_inherits_the_environment_but_not_the_crews_secrets(root: Path) -> None:
    environ = {"PATH": "/bin", "GITHUB_TOKEN": "g", "ANTHROPIC_API_KEY": "k", "ROOT": "/"}
    env = mcp_process_env(stdio(root, ["read_file"]), environ)
    assert env == {"PATH": "/bin", "GITHUB_TOKEN": "g", "ROOT": str(root)}


def test_stdio_server_gets_no_chat_platform_secret_of_the_crew_or_of_another_crew(
    root: Path,
) -> None:
    """An MCP server is outside code: the bots' tokens are the crew's, not the server's."""
    environ = {
        "PATH": "/bin",
        "TELEGRAM_BOT_TOKEN": "123:t",
        "SLACK_BOT_TOKEN": "xoxb-s",
        "SLACK_SIGNING_SECRET": "sig",
        "WHATSAPP_TOKEN": "w",
        "WHATSAPP_APP_SECRET": "a",
        "EQUIPAGE_CREW_BOB_TELEGRAM_BOT_TOKEN": "456:b",
    }
    assert mcp_process_env(stdio(root, ["read_file"]), environ) == {
        "PATH": "/bin",
        "ROOT": str(root),
    }
