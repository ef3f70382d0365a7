"""The API calls the bot makes: Official Account (customer-service, template, subscription
notice), WeCom (application message, group robot) and a generic signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from bot.store import Store
from bot.wxapi.http import call_json, call_with_token
from bot.wxapi.token import SharedToken


class OfficialAccount:
    def __init__(self, session: aiohttp.ClientSession, store: Store, *, api_base: str, app_id: str, app_secret: str) -> None:
        self.session = session
        self.base = api_base.rstrip("/")
        self.app_id, self._secret = app_id, app_secret
        self.token = SharedToken(store, f"wechat:{app_id}", self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        data = await call_json(
            self.session,
            "GET",
            f"{self.base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret},
        )
        return data["access_token"], int(data.get("expires_in", 7200))

    async def send_text(self, openid: str, content: str) -> None:
        """A customer-service message (inside the user's 48-hour window)."""
        await call_with_token(
            self.session, self.token, f"{self.base}/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "text", "text": {"content": content}},
        )

    async def send_template(self, openid: str, template_id: str, data: dict[str, str], *, client_msg_id: str = "") -> None:
        payload: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": {k: {"value": v} for k, v in data.items()}}
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id[:64]  # WeChat sends one message per id (防重入)
        await call_with_token(self.session, self.token, f"{self.base}/cgi-bin/message/template/send", payload)

    async def send_notice(self, openid: str, template_id: str, data: dict[str, str]) -> None:
        """A subscription notice (订阅通知), for when the customer-service window is closed."""
        await call_with_token(
            self.session, self.token, f"{self.base}/cgi-bin/message/subscribe/bizsend",
            {"touser": openid, "template_id": template_id, "data": {k: {"value": v} for k, v in data.items()}},
        )


class WeCom:
    def __init__(self, session: aiohttp.ClientSession, store: Store, *, api_base: str, corp_id: str, agent_id: int, secret: str) -> None:
        self.session = session
        self.base = api_base.rstrip("/")
        self.corp_id, self.agent_id, self._secret = corp_id, agent_id, secret
        # WeCom tokens are per application (each has its own secret).
        self.token = SharedToken(store, f"wecom:{corp_id}:{agent_id}", self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        data = await call_json(
            self.session, "GET", f"{self.base}/cgi-bin/gettoken", params={"corpid": self.corp_id, "corpsecret": self._secret}
        )
        return data["access_token"], int(data.get("expires_in", 7200))

    async def send_app_text(self, users: list[str], content: str) -> None:
        await call_with_token(
            self.session, self.token, f"{self.base}/cgi-bin/message/send",
            {"touser": "|".join(users), "msgtype": "text", "agentid": self.agent_id, "text": {"content": content[:680]}},
        )

    async def send_robot_markdown(self, webhook_url: str, content: str) -> None:
        """A group robot (群机器人): markdown up to 4096 bytes; the key in the URL is a secret."""
        body = content.encode("utf-8")[:4096].decode("utf-8", "ignore")
        await call_json(self.session, "POST", webhook_url, json={"msgtype": "markdown", "markdown": {"content": body}})


async def send_signed_webhook(session: aiohttp.ClientSession, url: str, secret: str, payload: dict[str, Any]) -> None:
    """JSON with ``X-Wuye-Signature: sha256=HMAC(secret, timestamp + "." + body)``, so the receiver
    can check where it came from and refuse replays."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Wuye-Timestamp": timestamp, "X-Wuye-Signature": f"sha256={digest}"}
    async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as resp:
        resp.raise_for_status()
