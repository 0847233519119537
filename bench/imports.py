"""Import time of the CLI's start path: ``equipage.app`` and ``equipage.cli`` in a fresh
interpreter, the median of ``--runs`` of each.

Each run is a new process that times its own ``import`` (the interpreter's start is not
counted) and counts the modules it loaded. The bytecode cache is warm, as for any
installed package after its first run: it lives in a temporary folder
(``PYTHONPYCACHEPREFIX``), written by one untimed run, so the tree stays untouched and
``PYTHONDONTWRITEBYTECODE`` does not turn the figure into the compiler's time. Passes when
``equipage.app`` imports in at most 0.5 s (``--target-app-s``); it took about 1 s while it
imported LangGraph and the crew.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from _verdict import Check, Target, add_targets, finish

APP_S = Target("app_s", 0.5, "most seconds that importing equipage.app may take")
MODULES = ("equipage.app", "equipage.cli")

_TIMED = """
import json, sys, time
start = time.perf_counter()
import {module}
took = time.perf_counter() - start
print(json.dumps({{"seconds": took, "modules": len(sys.modules)}}))
"""


def _import_once(module: str, env: dict[str, str]) -> dict[str, float]:
    """One fresh interpreter's import of ``module``: its seconds and modules loaded."""
    run = subprocess.run(
        [sys.executable, "-c", _TIMED.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    figures: dict[str, float] = json.loads(run.stdout.splitlines()[-1])
    return figures


def _measure(module: str, runs: int, env: dict[str, str]) -> dict[str, float | int]:
    _import_once(module, env)  # writes the bytecode cache; not timed
    samples = [_import_once(module, env) for _ in range(runs)]
    seconds = [s["seconds"] for s in samples]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "modules": int(samples[-1]["modules"]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed imports of each module")
    parser.add_argument("--out", type=Path, help="also write the JSON to this file")
    add_targets(parser, APP_S)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        figures = {module: _measure(module, args.runs, env) for module in MODULES}
    app_s = float(figures["equipage.app"]["median_s"])
    result: dict[str, object] = {
        "benchmark": "start_imports",
        "runs": args.runs,
        "python": sys.version.split()[0],
        "bytecode": "warm",
        **figures,
        "target_app_s": APP_S.of(args),
    }
    check = Check("equipage.app.median_s", app_s, APP_S.of(args))
    return finish(__file__, result, [check], args.out)


if __name__ == "__main__":
    raise SystemExit(main())
