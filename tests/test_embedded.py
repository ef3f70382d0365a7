"""The embedded Redis: started in the data directory, stopped with a save, started again."""

from __future__ import annotations

from pathlib import Path

import psutil

from bot.store import connect
from bot.store.embedded import EmbeddedRedis


async def test_stop_saves_and_ends_the_server(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path / "data")
    redis = connect(socket_path=await embedded.start())
    await redis.set("k", "kept")
    pid = embedded._server.pid  # type: ignore[union-attr]
    await redis.aclose()
    await embedded.stop()
    assert not _running(pid)
    assert (tmp_path / "data" / "redis.rdb").exists()  # SHUTDOWN SAVE wrote the snapshot

    again = EmbeddedRedis(tmp_path / "data")
    redis = connect(socket_path=await again.start())
    try:
        assert await redis.get("k") in ("kept", b"kept")
    finally:
        await redis.aclose()
        await again.stop()


def _running(pid: int) -> bool:
    """Whether the process still runs (an exited child nobody reaped is a zombie: it has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
