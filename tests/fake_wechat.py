"""A local stand-in for api.weixin.qq.com and qyapi.weixin.qq.com: speaks their JSON, records
what it received, and can be told to fail, to be slow, or to expire tokens."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWechat:
    failing: bool = False  # answer 502 to every send
    delay: float = 0.0  # seconds before answering
    quota_errors: set[str] = field(default_factory=set)  # openids that get 45015
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (endpoint, body)
    token_fetches: int = 0
    concurrent_fetches: int = 0
    max_concurrent_fetches: int = 0
    _valid_tokens: set[str] = field(default_factory=set)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_get("/cgi-bin/gettoken", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send("custom"))
        app.router.add_post("/cgi-bin/message/template/send", self.send("template"))
        app.router.add_post("/cgi-bin/message/subscribe/bizsend", self.send("notice"))
        app.router.add_post("/cgi-bin/message/send", self.send("wecom_app"))
        app.router.add_post("/cgi-bin/webhook/send", self.robot)
        app.router.add_post("/hook", self.hook)
        return app

    def expire_tokens(self) -> None:
        self._valid_tokens.clear()

    def of(self, endpoint: str) -> list[dict[str, Any]]:
        return [body for name, body in self.received if name == endpoint]

    async def token(self, request: web.Request) -> web.Response:
        self.token_fetches += 1
        self.concurrent_fetches += 1
        self.max_concurrent_fetches = max(self.max_concurrent_fetches, self.concurrent_fetches)
        try:
            await asyncio.sleep(0.05 + self.delay)  # long enough for a race to show
            token = f"TOKEN-{next(self._seq)}-" + "x" * 500
            self._valid_tokens = {token}  # a new token invalidates the old one, as WeChat does
            return web.json_response({"access_token": token, "expires_in": 7200})
        finally:
            self.concurrent_fetches -= 1

    def send(self, endpoint: str):  # type: ignore[no-untyped-def]
        async def handler(request: web.Request) -> web.Response:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failing:
                return web.Response(status=502, text="bad gateway")
            if request.query.get("access_token") not in self._valid_tokens:
                return web.json_response({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
            body = await request.json()
            if endpoint == "custom" and body.get("touser") in self.quota_errors:
                return web.json_response({"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"})
            self.received.append((endpoint, body))
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(self._seq)})

        return handler

    async def robot(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failing:
            return web.Response(status=502, text="bad gateway")
        body = await request.json()
        self.received.append(("robot:" + request.query.get("key", ""), body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def hook(self, request: web.Request) -> web.Response:
        if self.failing:
            return web.Response(status=503)
        body = await request.read()
        self.received.append(("hook", {"body": body.decode(), "headers": dict(request.headers)}))
        return web.json_response({"ok": True})
