"""Put the parts together for the CLI: a session on Redis with the crew, workers, gateway.

The CLI stays thin: everything it does goes through these functions, which tests call.
``session`` connects and builds the crew, ``serving`` runs its loops until stopped,
``relay`` carries one request by hand and shows its answers, ``oversight`` holds what the
owner does between runs.
"""

from equipage.app.oversight import raise_budget, verify_audit
from equipage.app.relay import converse, run_workflow
from equipage.app.serving import serve, worker_pools
from equipage.app.session import Session, make_gateway, model_plan, open_session

__all__ = [
    "Session",
    "converse",
    "make_gateway",
    "model_plan",
    "open_session",
    "raise_budget",
    "run_workflow",
    "serve",
    "verify_audit",
    "worker_pools",
]
