"""A process that uses the embedded server of a folder, stepped by lines on its stdin.

python tests/procs/embedded_user.py HOME
stdin "go"    -> start or join the server, print the server's pid
stdin "leave" -> stop (leave) it, print "left"
"""

from __future__ import annotations

import sys
from pathlib import Path

import redis

from equipage.connection import EmbeddedRedis


def main(home: Path) -> None:
    sys.stdin.readline()
    server = EmbeddedRedis(home).start()
    client = redis.Redis(unix_socket_path=server.socket_file)
    print(client.info("server")["process_id"], flush=True)
    client.close()
    sys.stdin.readline()
    server.stop()
    print("left", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
