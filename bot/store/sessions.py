"""One message's hold on Redis, in two round trips: ``open`` claims the delivery id, takes the
user's lock and reads the conversation in one script; ``close`` writes the conversation back
(only if it changed) and releases the lock in another. Per-command round trips were most of
the bot's cost per message."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.keys import Keys

PENDING = "\x00pending"  # the dedup marker while the first delivery is being handled

# KEYS: dedup, lock, conversation. ARGV: dedup ttl ('' = no claim), pending marker, lock token, lock ms.
# Returns {0} duplicate, {1} lock busy (claimed if asked), {2, state} claimed, locked and read.
_OPEN = """
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[1]) then return {0} end
end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {1} end
return {2, redis.call('GET', KEYS[3])}
"""

# KEYS: conversation, lock. ARGV: write? ('1'/'0'), state JSON ('' = delete), ttl, lock token.
_CLOSE = """
if ARGV[1] == '1' then
  if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
end
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
return 1
"""


class Duplicate(Exception):
    """This delivery id was already claimed: a retry of a message being (or already) handled."""


class BusyError(Exception):
    """The user's lock could not be taken in time."""


class Unavailable(Exception):
    """Redis cannot be reached: the caller should refuse the work so that it is retried later."""


@dataclass
class Held:
    user: str
    token: str
    state: dict[str, Any]


class Sessions:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._k = keys
        self._open = redis.register_script(_OPEN)
        self._close = redis.register_script(_CLOSE)

    async def open(self, user: str, *, claim: str | None, dedup_ttl: int, wait: float, hold: float = 30.0) -> Held:
        """Raise Duplicate, BusyError, or Unavailable (nothing was written) as the case may be."""
        token = secrets.token_hex(8)
        keys = [self._k.dedup(claim or ""), self._k.user_lock(user), self._k.conversation(user)]
        args = [str(dedup_ttl) if claim else "", PENDING, token, str(int(hold * 1000))]
        try:
            result = await self._open(keys=keys, args=args)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise Unavailable(str(exc)) from exc
        if result[0] == 0:
            raise Duplicate(claim)
        # Another message of this user is being handled: wait for its lock (the claim is ours).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        args[0] = ""
        while result[0] == 1:
            if loop.time() >= deadline:
                raise BusyError(user)
            await asyncio.sleep(0.01)
            result = await self._open(keys=keys, args=args)
        raw = result[1] if len(result) > 1 else None
        return Held(user, token, json.loads(raw) if raw else {})

    async def close(self, held: Held, state: dict[str, Any] | None, ttl: int) -> None:
        """Write ``state`` back (None: unchanged, no write) and release the lock if still ours."""
        keys = [self._k.conversation(held.user), self._k.user_lock(held.user)]
        body = "" if not state else json.dumps(state, ensure_ascii=False)
        await self._close(keys=keys, args=["0" if state is None else "1", body, str(ttl), held.token])
