"""The owner's oversight between runs: raise a spending limit, check the audit chain."""

from __future__ import annotations

from pathlib import Path

from equipage.app.session import Session
from equipage.approvals import Approval, Approvals
from equipage.audit import AuditReport, verify_company
from equipage.config import CompanyConfig, Settings
from equipage.connection import check_server, connect, open_target
from equipage.keys import Keys


async def raise_budget(
    session: Session, *, role: str | None = None, amount: float
) -> list[Approval]:
    """Raise a limit at run time and resume the threads that a budget paused.

    With ``role``, its daily limit and the threads of that role; without, the company's
    monthly limit and every budget-paused thread. Returns the questions answered.
    """
    budget = session.crew.budget
    await budget.raise_limit(role=role, amount=amount)
    owner = session.config.owner.id
    resumed = []
    for approval in await Approvals(session.redis, session.keys).all():
        if approval.topic != "budget" or (role is not None and approval.role != role):
            continue
        note = f"budget raised to {amount:g}"
        await session.bus.publish(
            approval.answered(
                session.keys.company, member=owner, approved=True, note=note, origin=None
            )
        )
        resumed.append(approval)
    return resumed


async def verify_audit(
    config: CompanyConfig, settings: Settings, *, home: Path | None = None
) -> AuditReport:
    """Check the company's whole audit chain against its anchors (``equipage audit verify``)."""
    where = home or settings.home
    with open_target(settings.redis_url, where) as target:
        redis = connect(target)
        try:
            await check_server(redis)
            keys = Keys(config.company.id, settings.namespace)
            return await verify_company(settings.audit_key, where, redis, keys)
        finally:
            await redis.aclose()
