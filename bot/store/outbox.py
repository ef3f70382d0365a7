"""The alert outbox: a Redis Stream with a consumer group (at-least-once), and a dead-letter list."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.store.keys import Keys

GROUP = "senders"


class Outbox:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def add(self, alert: dict[str, Any]) -> str:
        return await self._r.xadd(self._k.outbox(), {"alert": json.dumps(alert, ensure_ascii=False)})

    async def ensure_group(self) -> None:
        try:
            await self._r.xgroup_create(self._k.outbox(), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, consumer: str, count: int = 20, block_ms: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """New entries for this consumer, plus entries another consumer left unacknowledged for 30 s."""
        claimed = await self._r.xautoclaim(self._k.outbox(), GROUP, consumer, min_idle_time=30_000, count=count)
        entries = list(claimed[1]) if claimed else []
        if not entries:
            got = await self._r.xreadgroup(GROUP, consumer, {self._k.outbox(): ">"}, count=count, block=block_ms)
            entries = [e for _stream, items in got for e in items]
        return [(entry_id, json.loads(fields["alert"])) for entry_id, fields in entries if fields]

    async def ack(self, entry_id: str) -> None:
        await self._r.xack(self._k.outbox(), GROUP, entry_id)

    async def pending(self) -> int:
        info = await self._r.xpending(self._k.outbox(), GROUP)
        return int(info["pending"])

    async def length(self) -> int:
        return int(await self._r.xlen(self._k.outbox()))

    async def all(self, count: int = 100) -> list[dict[str, Any]]:
        return [json.loads(f["alert"]) for _id, f in await self._r.xrange(self._k.outbox(), count=count)]
