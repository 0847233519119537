"""Which language the gateway answers a person in.

The language of their message when its words tell (``equipage.language.language_of``); else the
language the member last wrote in, kept in Redis (``Keys.member_languages``) so every gateway
process knows it; else the company's first language; else English.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from equipage.keys import Keys
from equipage.language import language_of

__all__ = ["Languages"]


class Languages:
    """The member languages the gateway remembers, and the choice it makes from them."""

    def __init__(self, redis: aioredis.Redis, keys: Keys, company_language: str) -> None:
        self.redis = redis
        self.key = keys.member_languages()
        self.company_language = company_language or "en"

    async def shown(self, member: str, spoken: str) -> str | None:
        """The language of ``spoken`` when its words tell, else the one ``member`` last wrote.

        A language told is remembered, so the commands the member types next (no words of
        their own) are answered in it too, by whichever gateway process gets them.
        """
        told = language_of(spoken) if spoken else None
        if told is not None:
            await self.redis.hset(self.key, member, told)
            return told
        return await self.known(member)

    async def known(self, member: str) -> str | None:
        """The language ``member`` last wrote in, if they ever told."""
        value = await self.redis.hget(self.key, member)
        return value.decode() if isinstance(value, bytes) else value

    def answer_in(self, shown: str | None) -> str:
        """The language to answer in: the one the person showed, else the company's first."""
        return shown or self.company_language
