"""The JSON-over-HTTPS calls of WeChat and WeCom, with the token retry rule."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.wxapi.token import SharedToken

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid / expired access_token


class ApiError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


async def call_json(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> dict[str, Any]:
    async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=10), **kw) as resp:
        resp.raise_for_status()
        data: dict[str, Any] = await resp.json(content_type=None)
    if data.get("errcode"):
        raise ApiError(int(data["errcode"]), str(data.get("errmsg", "")))
    return data


async def call_with_token(
    session: aiohttp.ClientSession, token: SharedToken, url: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """POST with ?access_token=; on an invalid/expired token, refresh once and retry once."""
    current = await token.get()
    try:
        return await call_json(session, "POST", url, params={"access_token": current}, json=payload)
    except ApiError as exc:
        if exc.errcode not in TOKEN_ERRORS:
            raise
    fresh = await token.refresh(stale=current)
    return await call_json(session, "POST", url, params={"access_token": fresh}, json=payload)
