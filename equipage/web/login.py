"""One-time login links and console sessions, kept in the crew's Redis.

A link carries a random token; Redis keeps only its SHA-256, for 15 minutes, and the
first redeem deletes it (GETDEL), so a link works once. A session is a random id in an
HttpOnly, SameSite=Strict cookie; Redis keeps its SHA-256 with the member and the CSRF
token every POST must carry. Nothing here is logged: a token in a log is a way in.

A farm serves one console for all its crews, and each crew keeps its own links and
sessions: a farm's link and cookie name their crew before the secret (``crew.secret``,
``farm_token``), so the console looks in that crew's keys alone. A farm crew with no
console of its own gets links to the farm's (``address``, ``login_link``).
"""

from __future__ import annotations

import hashlib
import secrets

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict

from equipage.config import CompanyConfig
from equipage.errors import ConfigError
from equipage.keys import FarmKeys, Keys
from equipage.keys.web import FarmWebKeys, WebKeys

__all__ = [
    "ADDRESS_FOR",
    "COOKIE",
    "LINK_FOR",
    "SESSION_FOR",
    "WebSession",
    "address",
    "end_session",
    "farm_address",
    "farm_token",
    "find_session",
    "issue",
    "link",
    "login_link",
    "member_of",
    "publish_address",
    "publish_farm_address",
    "redeem",
    "split_token",
    "start_session",
]

#: Seconds a login link works.
LINK_FOR = 15 * 60
#: Seconds a session lasts, from login (then a new link is needed).
SESSION_FOR = 12 * 3600
#: Seconds the console's address stays known unless its server says it again.
ADDRESS_FOR = 60
#: The session cookie's name.
COOKIE = "equipage_session"


class WebSession(BaseModel):
    """A logged-in member's session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    member: str
    csrf: str


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_of(config: CompanyConfig, member: str | None) -> str:
    """The id of the member a link is for (default: the owner); ConfigError if unknown."""
    if member is None:
        return config.owner.id
    if not any(m.id == member for m in config.members):
        known = ", ".join(m.id for m in config.members)
        raise ConfigError(f"no member {member!r} in company.yaml; members: {known}")
    return member


async def issue(redis: aioredis.Redis, keys: Keys, member: str) -> str:
    """A new one-time token logging ``member`` in, valid for ``LINK_FOR`` seconds."""
    token = secrets.token_urlsafe(32)
    await redis.set(WebKeys(keys).login(_hashed(token)), member, ex=LINK_FOR)
    return token


def link(base: str, token: str) -> str:
    """The login link of ``token`` on the console served at ``base``."""
    return f"{base.rstrip('/')}/login/{token}"


async def redeem(redis: aioredis.Redis, keys: Keys, token: str, *, take: bool = True) -> str | None:
    """The member ``token`` logs in, used up (``take``); None when used, expired or unknown."""
    key = WebKeys(keys).login(_hashed(token))
    raw = await (redis.getdel(key) if take else redis.get(key))
    return raw.decode() if isinstance(raw, bytes) else raw


async def start_session(redis: aioredis.Redis, keys: Keys, member: str) -> tuple[str, WebSession]:
    """A new session for ``member``: its cookie value and what Redis keeps of it."""
    session_id = secrets.token_urlsafe(32)
    session = WebSession(member=member, csrf=secrets.token_urlsafe(32))
    key = WebKeys(keys).session(_hashed(session_id))
    await redis.set(key, session.model_dump_json(), ex=SESSION_FOR)
    return session_id, session


async def find_session(redis: aioredis.Redis, keys: Keys, session_id: str) -> WebSession | None:
    """The session of a cookie's value; None when it expired or never was."""
    raw = await redis.get(WebKeys(keys).session(_hashed(session_id)))
    return WebSession.model_validate_json(raw) if raw else None


async def end_session(redis: aioredis.Redis, keys: Keys, session_id: str) -> None:
    await redis.delete(WebKeys(keys).session(_hashed(session_id)))


async def publish_address(redis: aioredis.Redis, keys: Keys, url: str) -> None:
    """Say where the console is served, for ``equipage web login`` and ``/web``."""
    await redis.set(WebKeys(keys).address, url, ex=ADDRESS_FOR)


async def publish_farm_address(redis: aioredis.Redis, namespace: str, url: str) -> None:
    """Say where the farm's one console is served, for every crew of the farm."""
    await redis.set(FarmWebKeys(namespace).address, url, ex=ADDRESS_FOR)


async def farm_address(redis: aioredis.Redis, namespace: str) -> str | None:
    """Where the farm's console is served now; None when no process serves it."""
    return _text(await redis.get(FarmWebKeys(namespace).address))


def farm_token(crew: str, secret: str) -> str:
    """A farm's link token or cookie: the crew it is for, then the secret (``.``: in neither)."""
    return f"{crew}.{secret}"


def split_token(token: str) -> tuple[str, str] | None:
    """(crew, secret) of a farm's token or cookie; None when it names no crew."""
    crew, dot, secret = token.partition(".")
    return (crew, secret) if dot and crew and secret else None


async def _base(redis: aioredis.Redis, keys: Keys) -> tuple[str, bool] | None:
    """The crew's console address, and whether it is its farm's; None when none is served."""
    own = _text(await redis.get(WebKeys(keys).address))
    if own is not None:
        return own, False
    # A company of its own on a Redis that also holds a farm is no crew of that farm.
    if not await redis.hexists(FarmKeys(keys.namespace).crews, keys.company):
        return None
    farm = await farm_address(redis, keys.namespace)
    return (farm, True) if farm is not None else None


async def address(redis: aioredis.Redis, keys: Keys) -> str | None:
    """Where the crew's console is served now (its farm's, for a farm crew); None if nowhere."""
    found = await _base(redis, keys)
    return found[0] if found else None


async def login_link(redis: aioredis.Redis, keys: Keys, member: str) -> str | None:
    """A working login link for ``member``; None when no process serves the console."""
    found = await _base(redis, keys)
    if found is None:
        return None
    base, farm = found
    token = await issue(redis, keys, member)
    return link(base, farm_token(keys.company, token) if farm else token)


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw
