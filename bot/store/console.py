"""The web console's state in Redis: accounts, failed sign-in counters, sessions."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from bot.store.keys import Keys


class ConsoleRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    # -- accounts ------------------------------------------------------------------------
    async def add_user(self, username: str, account: dict[str, Any], *, replace: bool = False) -> bool:
        """False when the username is taken (unless ``replace``)."""
        ok = await self._r.set(self._k.console_user(username), json.dumps(account, ensure_ascii=False), nx=not replace)
        if ok:
            await self._r.sadd(self._k.console_users(), username)
        return bool(ok)

    async def user(self, username: str) -> dict[str, Any] | None:
        raw = await self._r.get(self._k.console_user(username))
        return json.loads(raw) if raw else None

    async def users(self) -> list[str]:
        return sorted(await self._r.smembers(self._k.console_users()))

    async def remove_user(self, username: str) -> bool:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k.console_user(username))
            pipe.srem(self._k.console_users(), username)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    # -- failed sign-ins: a counter that lives ``window`` seconds from the first failure ----
    async def failures(self, username: str) -> int:
        return int(await self._r.get(self._k.console_failures(username)) or 0)

    async def fail(self, username: str, window: int, limit: int) -> int:
        """Count one failure; the limit-th failure (re)starts the lockout window."""
        key = self._k.console_failures(username)
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, nx=True, ex=window)  # INCR keeps the TTL the first failure set
            pipe.incr(key)
            _, count = await pipe.execute()
        if int(count) >= limit:
            await self._r.expire(key, window)
        return int(count)

    async def clear_failures(self, username: str) -> None:
        await self._r.delete(self._k.console_failures(username))

    async def locked_for(self, username: str) -> int:
        """Seconds left of the lockout window (0 when the counter is gone)."""
        return max(int(await self._r.ttl(self._k.console_failures(username))), 0)

    # -- sessions ------------------------------------------------------------------------
    async def load_session(self, sid: str) -> str | None:
        return await self._r.get(self._k.console_session(sid))

    async def save_session(self, sid: str, data: str, ttl: int) -> None:
        await self._r.set(self._k.console_session(sid), data, ex=ttl)

    async def drop_session(self, sid: str) -> None:
        await self._r.delete(self._k.console_session(sid))
