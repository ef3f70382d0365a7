"""An access_token shared by every process through Redis, refreshed by one lock holder.

WeChat invalidates the previous token when a new one is fetched, so processes must never fetch
concurrently: the one that holds the lock fetches, the others wait and read what it stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.store import Store

log = logging.getLogger(__name__)

Fetch = Callable[[], Awaitable[tuple[str, int]]]  # → (token, expires_in seconds)


class SharedToken:
    def __init__(self, store: Store, name: str, fetch: Fetch, *, early: int = 300) -> None:
        self.store = store
        self.name = name  # e.g. "wechat:wx123" or "wecom:corp:agent"
        self.fetch = fetch
        self.early = early  # refresh this many seconds before WeChat's expiry

    async def get(self) -> str:
        token = await self.store.tokens.read(self.name)
        return token or await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """Fetch a new token unless someone else already replaced ``stale`` meanwhile."""
        async with self.store.tokens.lock(self.name):
            current = await self.store.tokens.read(self.name)
            if current and current != stale:
                return current  # another process refreshed while we waited
            token, expires_in = await self.fetch()
            await self.store.tokens.write(self.name, token, max(60, expires_in - self.early))
            log.info("access token %s refreshed", self.name)
            return token
