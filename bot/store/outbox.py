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

    async def read(
        self, consumer: str, *, claim_idle: int = 30_000, count: int = 20, block_ms: int = 250
    ) -> list[tuple[str, dict[str, Any]]]:
        """Entries another consumer left unacknowledged for ``claim_idle`` ms (it died), else new ones."""
        claimed = await self._r.xautoclaim(self._k.outbox(), GROUP, consumer, min_idle_time=claim_idle, count=count)
        entries = list(claimed[1]) if claimed else []
        if not entries:
            got = await self._r.xreadgroup(GROUP, consumer, {self._k.outbox(): ">"}, count=count, block=block_ms)
            entries = [e for _stream, items in got for e in items]
        return [(entry_id, json.loads(fields["alert"])) for entry_id, fields in entries if fields]

    async def ack(self, entry_id: str) -> None:
        """Done with it: acknowledged and removed, so the stream holds only what is pending."""
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.xack(self._k.outbox(), GROUP, entry_id)
            pipe.xdel(self._k.outbox(), entry_id)
            await pipe.execute()

    async def keep(self, consumer: str, entry_id: str) -> None:
        """Still working on it (between retries): reset its idle time so no other sender claims it."""
        await self._r.xclaim(self._k.outbox(), GROUP, consumer, 0, [entry_id], justid=True)

    async def pending(self) -> int:
        info = await self._r.xpending(self._k.outbox(), GROUP)
        return int(info["pending"])

    async def length(self) -> int:
        return int(await self._r.xlen(self._k.outbox()))

    async def all(self, count: int = 100) -> list[dict[str, Any]]:
        return [json.loads(f["alert"]) for _id, f in await self._r.xrange(self._k.outbox(), count=count)]

    # -- per-channel delivery marks: a retry skips the channels that already took the alert --
    async def delivered(self, alert_id: str, channel: str) -> bool:
        return bool(await self._r.exists(self._k.delivered(alert_id, channel)))

    async def mark_delivered(self, alert_id: str, channel: str) -> None:
        await self._r.set(self._k.delivered(alert_id, channel), "1", ex=7 * 86400)

    # -- dead letters ------------------------------------------------------------------------
    async def bury(self, alert: dict[str, Any], error: str) -> None:
        await self._r.rpush(self._k.dead_letters(), json.dumps({"alert": alert, "error": error}, ensure_ascii=False))

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in await self._r.lrange(self._k.dead_letters(), 0, -1)]

    async def revive(self, index: int) -> bool:
        """Put a dead letter back in the outbox (the console's retry button)."""
        key = self._k.dead_letters()
        raw = await self._r.lindex(key, index)
        if raw is None:
            return False
        await self.add(json.loads(raw)["alert"])
        await self._r.lrem(key, 1, raw)
        return True
