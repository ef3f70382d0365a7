"""API tokens in Redis: only a SHA-256 digest of each token is kept (tokens are 256 random
bits, so a fast hash is enough; the token itself is shown once, when it is made)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis.asyncio as aioredis

from bot.store.keys import Keys


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiTokenRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def add(self, token: str, grant: dict[str, Any]) -> str:
        """Store the token's grant; returns the token's id (the start of its digest)."""
        d = digest(token)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k.api_token(d), json.dumps(grant, ensure_ascii=False))
            pipe.sadd(self._k.api_tokens(), d)
            await pipe.execute()
        return d[:12]

    async def grant(self, token: str) -> dict[str, Any] | None:
        raw = await self._r.get(self._k.api_token(digest(token)))
        return json.loads(raw) if raw else None

    async def all(self) -> list[tuple[str, dict[str, Any]]]:
        digests = sorted(await self._r.smembers(self._k.api_tokens()))
        raws = await self._r.mget([self._k.api_token(d) for d in digests]) if digests else []
        return [(d[:12], json.loads(r)) for d, r in zip(digests, raws, strict=True) if r]

    async def revoke(self, token_id: str) -> bool:
        """By id (a prefix of the digest, at least 8 characters)."""
        if len(token_id) < 8:
            return False
        matches = [d for d in await self._r.smembers(self._k.api_tokens()) if d.startswith(token_id)]
        if len(matches) != 1:
            return False
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k.api_token(matches[0]))
            pipe.srem(self._k.api_tokens(), matches[0])
            await pipe.execute()
        return True
