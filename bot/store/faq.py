"""The FAQ overlay in Redis: console edits on top of the packaged ``knowledge/faq.yaml``.

Three keys: a hash id → JSON of the whole entry (edited or added), a set of packaged ids
deleted, and a capped list of who changed what and when (newest first). Every change writes
the overlay and its history record in one MULTI transaction.
"""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from bot.knowledge import FaqEntry, FaqOverlay
from bot.store.keys import Keys

HISTORY = 500  # records kept


class FaqRepo:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._r, self._k = redis, keys

    async def overlay(self) -> FaqOverlay:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._k.faq_entries())
            pipe.smembers(self._k.faq_deleted())
            raw, deleted = await pipe.execute()
        entries = {i: FaqEntry.model_validate_json(v) for i, v in raw.items()}
        return FaqOverlay(entries=entries, deleted=set(deleted))

    def _log(self, pipe: Any, record: dict[str, Any]) -> None:
        pipe.lpush(self._k.faq_history(), json.dumps(record, ensure_ascii=False))
        pipe.ltrim(self._k.faq_history(), 0, HISTORY - 1)

    async def put(self, entry: FaqEntry, record: dict[str, Any]) -> None:
        """Add or replace one entry (it comes back if it was a deleted packaged one)."""
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hset(self._k.faq_entries(), entry.id, entry.model_dump_json())
            pipe.srem(self._k.faq_deleted(), entry.id)
            self._log(pipe, record)
            await pipe.execute()

    async def delete(self, entry_id: str, *, packaged: bool, record: dict[str, Any]) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.hdel(self._k.faq_entries(), entry_id)
            if packaged:
                pipe.sadd(self._k.faq_deleted(), entry_id)
            self._log(pipe, record)
            await pipe.execute()

    async def replace(self, overlay: FaqOverlay, record: dict[str, Any]) -> None:
        """The whole overlay at once (an import)."""
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.delete(self._k.faq_entries(), self._k.faq_deleted())
            if overlay.entries:
                pipe.hset(self._k.faq_entries(), mapping={i: e.model_dump_json() for i, e in overlay.entries.items()})
            if overlay.deleted:
                pipe.sadd(self._k.faq_deleted(), *sorted(overlay.deleted))
            self._log(pipe, record)
            await pipe.execute()

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        return [json.loads(r) for r in await self._r.lrange(self._k.faq_history(), 0, limit - 1)]
