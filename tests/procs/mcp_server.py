"""A small real MCP server for the tests: files under $ROOT, over stdio or streamable HTTP.

    python tests/procs/mcp_server.py                 # stdio
    python tests/procs/mcp_server.py --port 0        # HTTP on 127.0.0.1, any free port

Over HTTP it prints ``ready http://127.0.0.1:<port>/mcp`` once it accepts connections.
Every tool call appends the tool's name to $ROOT/.calls, so a test can tell which calls
reached the server.
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations

ROOT = Path(os.environ.get("ROOT", "."))
READ_ONLY = ToolAnnotations(read_only_hint=True)

server = MCPServer("files", log_level="WARNING")


def _called(tool: str) -> None:
    with (ROOT / ".calls").open("a", encoding="utf-8") as calls:
        calls.write(f"{tool}\n")


@server.tool(description="Read a text file.", annotations=READ_ONLY)
def read_file(path: str) -> str:
    _called("read_file")
    return (ROOT / path).read_text(encoding="utf-8")


@server.tool(description="List the files of the root folder.", annotations=READ_ONLY)
def list_dir() -> str:
    _called("list_dir")
    return "\n".join(sorted(p.name for p in ROOT.iterdir() if not p.name.startswith(".")))


@server.tool(description="Write a text file.")
def write_file(path: str, text: str) -> str:
    _called("write_file")
    (ROOT / path).write_text(text, encoding="utf-8")
    return f"wrote {len(text)} characters to {path}"


@server.tool(description="Delete a file.", annotations=ToolAnnotations(destructive_hint=True))
def delete_file(path: str) -> str:
    _called("delete_file")
    (ROOT / path).unlink()
    return f"deleted {path}"


@server.tool(
    description="A chart of the folder: a caption and an image.",
    annotations=READ_ONLY,
    structured_output=False,
)
def chart() -> list[object]:
    _called("chart")
    return ["the chart:", Image(data=b"\x89PNG\r\n\x1a\n", format="png")]


@server.tool(description="Always fails.", annotations=READ_ONLY)
def broken() -> str:
    _called("broken")
    raise ToolError("the disk is on fire")


@server.tool(description="Stop the server at once, without answering.")
def crash() -> str:
    _called("crash")
    os._exit(3)


async def _serve_http(port: int) -> None:
    # Listen before announcing: a client that reads the line can connect at once.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning")
    print(f"ready http://127.0.0.1:{sock.getsockname()[1]}/mcp", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, help="serve streamable HTTP on this port (0: any)")
    args = parser.parse_args()
    if args.port is None:
        server.run("stdio")
    else:
        anyio.run(_serve_http, args.port)


if __name__ == "__main__":
    main()
