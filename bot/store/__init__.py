"""The one place that knows Redis: connections, key names, and small repositories over them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.store.embedded import EmbeddedRedis
from bot.store.keys import Keys
from bot.store.sessions import PENDING, BusyError, Duplicate, Sessions, Unavailable

log = logging.getLogger(__name__)

__all__ = ["Store", "EmbeddedRedis", "Keys", "BusyError", "Duplicate", "Unavailable", "connect"]


def connect(url: str = "", socket_path: str = "") -> aioredis.Redis:
    if url:
        return aioredis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
    return aioredis.Redis(unix_socket_path=socket_path, decode_responses=True)


class Dedup:
    """Remembers what was answered to a delivery, so a retry gets the same answer.

    The first delivery claims the id with a pending marker (``Sessions.open``); a retry that
    arrives while the first is still being handled waits for the answer instead of handling it.
    """

    PENDING = PENDING

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def finish(self, message_id: str, answer: str, ttl: int) -> None:
        await self._r.set(self._k.dedup(message_id), answer, ex=ttl)

    async def forget(self, message_id: str) -> None:
        """The handler failed: let a retry try again."""
        await self._r.delete(self._k.dedup(message_id))

    async def answer(self, message_id: str, wait: float) -> str | None:
        """The stored answer, waiting up to ``wait`` seconds while the first delivery runs."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.005
        while True:
            value = await self._r.get(self._k.dedup(message_id))
            if value != self.PENDING:
                return value
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)


class Conversations:
    """Per-user conversation state: one JSON document with a TTL."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def load(self, user: str) -> dict[str, Any]:
        raw = await self._r.get(self._k.conversation(user))
        return json.loads(raw) if raw else {}

    async def save(self, user: str, state: dict[str, Any], ttl: int) -> None:
        if state:
            await self._r.set(self._k.conversation(user), json.dumps(state, ensure_ascii=False), ex=ttl)
        else:
            await self._r.delete(self._k.conversation(user))


class Store:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.dedup = Dedup(redis, self.keys)
        self.sessions = Sessions(redis, self.keys)
        self.conversations = Conversations(redis, self.keys)
        from bot.store.accounts import QuotaRepo, RoleRepo, TokenRepo  # noqa: PLC0415
        from bot.store.console import ConsoleRepo  # noqa: PLC0415
        from bot.store.api import ApiTokenRepo  # noqa: PLC0415
        from bot.store.faq import FaqRepo  # noqa: PLC0415
        from bot.store.outbox import Outbox  # noqa: PLC0415
        from bot.store.tickets import TicketRepo  # noqa: PLC0415

        self.tickets = TicketRepo(redis, self.keys)
        self.outbox = Outbox(redis, self.keys)
        self.tokens = TokenRepo(redis, self.keys)
        self.roles = RoleRepo(redis, self.keys)
        self.quota = QuotaRepo(redis, self.keys)
        self.console = ConsoleRepo(redis, self.keys)
        self.faq = FaqRepo(redis, self.keys)
        self.api_tokens = ApiTokenRepo(redis, self.keys)

    async def conversations_await_rating(self, user: str, number: str, ttl: int) -> None:
        """Out of band (an official resolved a ticket): make the resident's next message a rating."""
        async with self.user_lock(user, wait=5.0):
            state = await self.conversations.load(user)
            if not state.get("draft"):  # never trample a draft being written
                state["step"] = "rating"
            state.setdefault("rating_tickets", [])
            if number not in state["rating_tickets"]:
                state["rating_tickets"].append(number)
            await self.conversations.save(user, state, ttl)

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except Exception:  # noqa: BLE001 - health check reports any failure as "down"
            return False

    @asynccontextmanager
    async def user_lock(self, user: str, *, wait: float, hold: float = 30.0) -> AsyncIterator[None]:
        """One message at a time per user, across processes (redis-py's Lock: SET NX PX + Lua release)."""
        lock = self.redis.lock(self.keys.user_lock(user), timeout=hold, blocking_timeout=wait, sleep=0.01)
        if not await lock.acquire():
            raise BusyError(user)
        try:
            yield
        finally:
            try:
                await lock.release()
            except LockError:
                log.warning("user lock expired before release")
