"""A role's tools from MCP servers, over stdio or streamable HTTP, with the official SDK.

Each server's session lives in a task of its own. The SDK's transports and sessions are
anyio task groups, which the task that enters them must also leave, while the role's graph
calls tools from whichever task handles an envelope; requests may come from any task, so
calls go straight to the shared session, concurrently. A server that went away fails the
call (the envelope is retried) and is reconnected on the next call.

Listing happens once, in ``start()``: the tools offered to the model stay the same for the
life of the worker.

A server is outside content, its ``tools/list`` included: the model sees a tool's name, the
description the owner wrote in company.yaml, and the schema's structure without its prose
(``equipage.toolschema``). The server's own descriptions reach the model only when the
config opts in, fenced, and the role's threads then count as tainted. Annotations such as
``readOnlyHint`` are never believed: a tool is read-only when company.yaml says so.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from equipage.config import McpServer, mcp_process_env, offered_name
from equipage.errors import ConfigError, MissingExtraError, RuntimeFailure
from equipage.llm.messages import ToolCall, ToolSpec
from equipage.outcome import ToolOutcome
from equipage.policy import fence
from equipage.toolschema import reduce_schema

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.client import Transport
    from mcp.types import CallToolResult, Tool

__all__ = ["McpTools"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30.0  # seconds for a server to start and answer the handshake
CALL_TIMEOUT = 300.0  # seconds for one request before it counts as failed
MAX_TEXT = 40_000  # characters of one result kept for the model
MAX_METADATA = 4_000  # characters of a server's own words about one tool, when shown
_MAX_PAGES = 100  # a tools/list paginator that never ends cannot hang the start


@dataclass(frozen=True)
class _Offer:
    server: str
    tool: str  # the name the server knows it by
    spec: ToolSpec


class McpTools:
    """The MCP tools one role may use: listed at start, offered to its model, called for it."""

    def __init__(self, servers: Sequence[McpServer], *, role: str) -> None:
        if importlib.util.find_spec("mcp") is None:
            raise MissingExtraError("MCP servers in company.yaml", "mcp")
        self.role = role
        self._connections = {server.name: _Connection(server, role) for server in servers}
        self._offers: dict[str, _Offer] = {}
        self._started = False

    async def start(self) -> None:
        """Connect to every server and learn its allowed tools; idempotent."""
        if self._started:
            return
        listed = await asyncio.gather(
            *(self._list(c) for c in self._connections.values()), return_exceptions=True
        )
        offers: list[_Offer] = []
        for result in listed:
            if isinstance(result, BaseException):
                await self.aclose()
                raise result
            offers.extend(result)
        self._offers = {offer.spec.name: offer for offer in offers}
        self._started = True

    def specs(self) -> list[ToolSpec]:
        """The tools offered to the model; empty until ``start()``."""
        return [offer.spec for offer in self._offers.values()]

    def offers(self, name: str) -> bool:
        """True if ``name`` is one of the tools offered to the model."""
        return name in self._offers

    def side_effects(self) -> dict[str, bool]:
        """Tool name -> side-effecting: every allowed tool but those company.yaml says only read."""
        return {
            offered_name(c.server.name, tool): tool not in c.server.read_only
            for c in self._connections.values()
            for tool in c.server.allow
        }

    def metadata_sources(self) -> tuple[str, ...]:
        """Servers whose own words are in every prompt (``server_descriptions: true``)."""
        return tuple(
            f"mcp:{c.server.name}"
            for c in self._connections.values()
            if c.server.server_descriptions
        )

    async def call(self, call: ToolCall) -> ToolOutcome:
        """Run ``call`` on its server; tool errors come back as text, never as exceptions."""
        offer = self._offers.get(call.name)
        if offer is None:
            return ToolOutcome(f"error: tool {call.name!r} is not allowed for {self.role}")
        connection = self._connections[offer.server]
        result = await connection.call_tool(offer.tool, call.arguments)
        untrusted = not connection.server.trusted
        if isinstance(result, str):
            return ToolOutcome(f"error: {result}", untrusted=untrusted)
        text = _text(result)
        if len(text) > MAX_TEXT:
            text = f"{text[:MAX_TEXT]}\n[cut: {len(text) - MAX_TEXT} more characters]"
        return ToolOutcome(f"error: {text}" if result.is_error else text, untrusted=untrusted)

    async def aclose(self) -> None:
        """Close every session and stop stdio servers; the object can start again after."""
        await asyncio.gather(*(c.close() for c in self._connections.values()))
        self._offers = {}
        self._started = False

    async def _list(self, connection: _Connection) -> list[_Offer]:
        server = connection.server
        tools = {tool.name: tool for tool in await connection.list_tools()}
        missing = [name for name in server.allow if name not in tools]
        if missing:
            raise ConfigError(
                f"MCP server {server.name!r} of role {self.role!r} has no tool "
                f"{', '.join(map(repr, missing))}; it has: {', '.join(sorted(tools)) or 'none'}. "
                f"Fix `allow:` under roles.{self.role}.mcp in company.yaml.",
                field=f"roles.{self.role}.mcp.{server.name}.allow",
            )
        return [self._offer(server, tools[name]) for name in server.allow]

    def _offer(self, server: McpServer, tool: Tool) -> _Offer:
        try:
            parameters = reduce_schema(tool.input_schema)
        except ValueError as err:
            raise ConfigError(
                f"MCP tool {tool.name!r} of server {server.name!r} (role {self.role!r}) cannot "
                f"be offered: {err}. Remove it from `allow:` under roles.{self.role}.mcp.",
                field=f"roles.{self.role}.mcp.{server.name}.allow",
            ) from err
        spec = ToolSpec(
            name=offered_name(server.name, tool.name),
            description=_description(server, tool),
            parameters=parameters,
        )
        return _Offer(server.name, tool.name, spec)


def _description(server: McpServer, tool: Tool) -> str:
    """The owner's words for the tool, then the server's own only if opted in, fenced."""
    owners = server.describe.get(tool.name) or (
        f"The {tool.name} tool of the MCP server {server.name}."
    )
    if not server.server_descriptions:
        return owners
    lines = [text for text in (tool.title, tool.description) if text]
    properties = tool.input_schema.get("properties")
    if isinstance(properties, dict):
        for name, schema in properties.items():
            about = schema.get("description") if isinstance(schema, dict) else None
            if isinstance(about, str) and about:
                lines.append(f"- {name}: {about}")
    said = "\n".join(lines)[:MAX_METADATA]
    return f"{owners}\n{fence(said, f'mcp:{server.name}')}" if said else owners


def _text(result: CallToolResult) -> str:
    """The result as the model reads it: text parts joined, other parts named."""
    from mcp.types import (
        AudioContent,
        EmbeddedResource,
        ImageContent,
        ResourceLink,
        TextContent,
        TextResourceContents,
    )

    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            parts.append(f"[image {block.mime_type}]")
        elif isinstance(block, AudioContent):
            parts.append(f"[audio {block.mime_type}]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource {block.uri}]")
        elif isinstance(block, EmbeddedResource):
            inner = block.resource
            text = inner.text if isinstance(inner, TextResourceContents) else None
            parts.append(text if text is not None else f"[resource {inner.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts) or "(no output)"


class _Connection:
    """One server's session, opened and closed by a task of its own, shared by callers."""

    def __init__(self, server: McpServer, role: str) -> None:
        self.server = server
        self.role = role
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def where(self) -> str:
        if self.server.url is not None:
            return f"at {self.server.url}"
        return f"started by `{' '.join(self.server.command or ())}`"

    async def list_tools(self) -> list[Tool]:
        from mcp.types import PaginatedRequestParams

        session = await self._open()
        tools: list[Tool] = []
        cursor: str | None = None
        try:
            for _ in range(_MAX_PAGES):
                params = PaginatedRequestParams(cursor=cursor) if cursor else None
                page = await session.list_tools(params=params)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
        except Exception as err:
            await self._discard(session)
            raise self._failure("did not list its tools", err) from err
        return tools

    async def call_tool(self, tool: str, arguments: Mapping[str, object]) -> CallToolResult | str:
        """The server's result, or the text of a request-level error (bad arguments, timeout)."""
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED

        session = await self._open()
        try:
            return await session.call_tool(tool, dict(arguments))
        except MCPError as err:
            if err.code != CONNECTION_CLOSED:
                return f"{self.server.name} refused {tool}: {err.message}"
            await self._discard(session)
            raise self._failure(f"went away during {tool}", err) from err
        except (RuntimeError, ValueError) as err:
            # The SDK's own checks of a result (output schema, input-required rounds).
            return f"{self.server.name} answered {tool} with something unusable: {err}"

    async def _open(self) -> ClientSession:
        async with self._lock:
            if self._session is not None and self._task is not None and not self._task.done():
                return self._session
            await self.close()
            ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self._hold(ready), name=f"mcp:{self.server.name}")
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    self._session = await ready
            except Exception as err:
                await self.close()
                raise self._failure("could not be reached", err) from err
            return self._session

    async def _hold(self, ready: asyncio.Future[ClientSession]) -> None:
        """Open the session, hand it over, keep it until ``close()``, then close it here."""
        from mcp import ClientSession

        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(
                    ClientSession(read, write, read_timeout_seconds=CALL_TIMEOUT)
                )
                await session.initialize()
                if not ready.done():
                    ready.set_result(session)
                await self._stop.wait()
        except Exception as err:
            if not ready.done():
                ready.set_exception(err)
            else:
                log.warning("MCP server %s of %s failed: %r", self.server.name, self.role, err)
        finally:
            if not ready.done():
                ready.cancel()

    def _transport(self) -> Transport:
        from mcp import StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        if self.server.url is not None:
            return streamable_http_client(self.server.url)
        program, *args = self.server.command or ("",)
        params = StdioServerParameters(command=program, args=args, env=mcp_process_env(self.server))
        return stdio_client(params)

    async def _discard(self, session: ClientSession) -> None:
        """Close a session that failed, unless another caller has already replaced it."""
        async with self._lock:
            if self._session is session:
                await self.close()

    async def close(self) -> None:
        task, self._task, session, self._session = self._task, None, self._session, None
        if task is None:
            return
        if session is None:
            task.cancel()  # still connecting: nothing to wind down politely
        self._stop.set()
        await asyncio.gather(task, return_exceptions=True)

    def _failure(self, what: str, err: BaseException) -> RuntimeFailure:
        cause = "; ".join(_causes(err)) or type(err).__name__
        check = (
            "check that the server runs and the URL is right"
            if self.server.url is not None
            else "check that the command runs on its own and speaks MCP on stdin/stdout"
        )
        return RuntimeFailure(
            f"MCP server {self.server.name!r} of role {self.role!r} ({self.where}) {what}: "
            f"{cause}; {check}"
        )


def _causes(err: BaseException) -> list[str]:
    """Readable leaves of an exception group (the SDK's task groups wrap transport errors)."""
    if isinstance(err, BaseExceptionGroup):
        return [text for inner in err.exceptions for text in _causes(inner)]
    if isinstance(err, TimeoutError):
        return [f"no answer within {CONNECT_TIMEOUT:.0f}s"]
    return [str(err) or type(err).__name__]
