"""Who is who (roles bound by one-time codes), shared access tokens, and the customer-service quota."""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock

from bot.store.keys import Keys


class TokenRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def read(self, name: str) -> str | None:
        return await self._r.get(self._k.access_token(name))

    async def write(self, name: str, token: str, ttl: int) -> None:
        await self._r.set(self._k.access_token(name), token, ex=ttl)

    def lock(self, name: str) -> Lock:
        return self._r.lock(self._k.access_token_lock(name), timeout=30, blocking_timeout=30, sleep=0.02)


class RoleRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def add_invite(self, code: str, role: dict[str, Any], ttl: int) -> bool:
        return bool(await self._r.set(self._k.invite(code), json.dumps(role, ensure_ascii=False), nx=True, ex=ttl))

    async def take_invite(self, code: str) -> dict[str, Any] | None:
        """GETDEL: a code works once, even when two people send it at the same moment."""
        raw = await self._r.getdel(self._k.invite(code))
        return json.loads(raw) if raw else None

    async def bind(self, user: str, role: dict[str, Any]) -> None:
        previous = await self.of(user)
        async with self._r.pipeline(transaction=True) as pipe:
            if previous is not None:
                pipe.srem(self._members_key(previous), user)
            pipe.set(self._k.role(user), json.dumps(role, ensure_ascii=False))
            pipe.sadd(self._members_key(role), user)
            pipe.sadd(self._k.role_index(), user)
            await pipe.execute()

    async def of(self, user: str) -> dict[str, Any] | None:
        raw = await self._r.get(self._k.role(user))
        return json.loads(raw) if raw else None

    async def revoke(self, user: str) -> bool:
        role = await self.of(user)
        if role is None:
            return False
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k.role(user))
            pipe.srem(self._members_key(role), user)
            pipe.srem(self._k.role_index(), user)
            await pipe.execute()
        return True

    async def all(self) -> list[tuple[str, dict[str, Any]]]:
        users = sorted(await self._r.smembers(self._k.role_index()))
        raws = await self._r.mget([self._k.role(u) for u in users]) if users else []
        return [(u, json.loads(r)) for u, r in zip(users, raws, strict=True) if r]

    def _members_key(self, role: dict[str, Any]) -> str:
        return self._k.role_members(role["kind"], role.get("department") or role.get("company", ""))

    async def members(self, kind: str, scope: str) -> list[str]:
        return sorted(await self._r.smembers(self._k.role_members(kind, scope)))


# Spend one unit of a user's customer-service quota if any is left inside the window (atomic).
_SPEND = """
local left = tonumber(redis.call('HGET', KEYS[1], 'left') or '0')
local expires = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if expires < tonumber(ARGV[1]) or left <= 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'left', -1)
return 1
"""


class QuotaRepo:
    """Since 2023 an account may send a user 5 customer-service messages within 48 h of the
    user's last message. The ledger restarts whenever the user writes."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys
        self._spend = redis.register_script(_SPEND)

    async def user_wrote(self, user: str, allowance: int, window: int) -> None:
        key = self._k.cs_quota(user)
        async with self._r.pipeline(transaction=False) as pipe:  # one round trip; order is enough
            pipe.hset(key, mapping={"left": allowance, "until": int(time.time()) + window})
            pipe.expire(key, window)
            await pipe.execute()

    async def spend(self, user: str) -> bool:
        return bool(await self._spend(keys=[self._k.cs_quota(user)], args=[int(time.time())]))

    async def exhaust(self, user: str) -> None:
        """WeChat said 45015 (out of window): believe it."""
        await self._r.hset(self._k.cs_quota(user), "left", 0)

    async def left(self, user: str) -> int:
        return int(await self._r.hget(self._k.cs_quota(user), "left") or 0)
