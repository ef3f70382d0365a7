"""Tickets in Redis: one JSON document each, plus the indexes that find them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bot.store.keys import Keys
from bot.tickets.model import Ticket


class TicketRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def next_sequence(self, day: str) -> int:
        """Per-day counter: INCR is atomic across processes, and AOF keeps it across restarts."""
        return int(await self._r.incr(self._k.ticket_counter(day)))

    async def save(self, ticket: Ticket, *, new: bool = False) -> None:
        score = ticket.created.timestamp()
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.set(self._k.ticket(ticket.number), ticket.model_dump_json())
            if new:
                pipe.zadd(self._k.all_tickets(), {ticket.number: score})
                pipe.zadd(self._k.user_tickets(ticket.user), {ticket.number: score})
            pipe.zadd(self._k.department_tickets(ticket.department), {ticket.number: score})
            await pipe.execute()

    async def add_reporter(self, ticket: Ticket, user: str) -> None:
        await self._r.zadd(self._k.user_tickets(user), {ticket.number: ticket.created.timestamp()})

    async def moved_department(self, ticket: Ticket, old: str) -> None:
        await self._r.zrem(self._k.department_tickets(old), ticket.number)

    # -- re-routes: corrections of the routing, kept to improve the keywords ----------------
    REROUTES_KEPT = 5000

    async def record_reroute(self, entry: dict) -> None:  # type: ignore[type-arg]
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.lpush(self._k.reroutes(), json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(self._k.reroutes(), 0, self.REROUTES_KEPT - 1)
            await pipe.execute()

    async def reroutes(self, limit: int = REROUTES_KEPT) -> list[dict]:  # type: ignore[type-arg]
        """Newest first."""
        return [json.loads(raw) for raw in await self._r.lrange(self._k.reroutes(), 0, limit - 1)]

    async def load(self, number: str) -> Ticket | None:
        raw = await self._r.get(self._k.ticket(number))
        return Ticket.model_validate_json(raw) if raw else None

    async def load_many(self, numbers: list[str]) -> list[Ticket]:
        if not numbers:
            return []
        raws = await self._r.mget([self._k.ticket(n) for n in numbers])
        return [Ticket.model_validate_json(r) for r in raws if r]

    async def of_user(self, user: str, limit: int = 5) -> list[str]:
        return list(await self._r.zrevrange(self._k.user_tickets(user), 0, limit - 1))

    async def of_department(self, department: str, limit: int = 50) -> list[str]:
        return list(await self._r.zrevrange(self._k.department_tickets(department), 0, limit - 1))

    async def all(self, limit: int = 1000) -> list[str]:
        return list(await self._r.zrevrange(self._k.all_tickets(), 0, limit - 1))

    # -- duplicates: one open ticket per matter and place within a window ------------------
    async def open_at(self, matter: str, place: str) -> str | None:
        return await self._r.get(self._k.open_tickets_by_place(matter, place))

    async def mark_open_at(self, matter: str, place: str, number: str, window: int) -> None:
        await self._r.set(self._k.open_tickets_by_place(matter, place), number, ex=window)

    # -- escalation schedule -------------------------------------------------------------
    async def schedule(self, number: str, when: float) -> None:
        await self._r.zadd(self._k.deadlines(), {number: when})

    async def unschedule(self, number: str) -> None:
        await self._r.zrem(self._k.deadlines(), number)

    async def due(self, now: float, limit: int = 100) -> list[str]:
        return list(await self._r.zrangebyscore(self._k.deadlines(), "-inf", now, start=0, num=limit))

    async def claim_step(self, number: str, step: str) -> bool:
        """True for exactly one caller per ticket and ladder step, whatever the number of processes."""
        return bool(await self._r.set(self._k.ticket_claim(number, step), "1", nx=True))

    @asynccontextmanager
    async def locked(self, number: str) -> AsyncIterator[None]:
        async with self._r.lock(self._k.ticket_lock(number), timeout=10, blocking_timeout=5, sleep=0.01):
            yield
