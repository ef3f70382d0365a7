"""The Official Account door: verify, decrypt, parse into a ``Message``; render and encrypt the ``Reply``.

Modes: plaintext (signature only), compatible and safe (``encrypt_type=aes``: msg_signature
over the ciphertext, AES with the AppID check inside). wechatpy does the crypto, parsing and
reply XML; signatures are compared here in constant time.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from xml.parsers.expat import ExpatError

from aiohttp import web
from pydantic import ValidationError
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.messages import BaseMessage

from bot.channels.door import Door, decrypt, parse_envelope
from bot.channels.signing import Rejected, check_fresh, verify
from bot.config import WechatSettings
from bot.engine import Engine
from bot.metrics import Metrics
from bot.models import Location, Message
from bot.store.accounts import QuotaRepo

log = logging.getLogger(__name__)


# wechatpy event names → ours (a QR-code subscribe is still a subscribe).
_EVENT_ALIASES = {"subscribe_scan": "subscribe", "subscribe_scan_product": "subscribe"}


def to_message(parsed: BaseMessage, raw: dict[str, str], channel: str = "wechat", user_prefix: str = "") -> Message:
    """wechatpy's typed message → our channel-independent Message. A message whose fields we
    cannot read (a field missing, a number that is not one) becomes an ``unknown`` message that
    gets a polite answer, never a server error."""
    base = {
        "channel": channel,
        "user": user_prefix + str(parsed.source or ""),
        "account": str(parsed.target or ""),
        "created": int(raw["CreateTime"]) if str(raw.get("CreateTime") or "").isdigit() else 0,
        "raw_type": str(raw.get("MsgType", "")),
    }
    try:
        return _typed(parsed, raw, channel, base)
    except (KeyError, TypeError, ValueError, ValidationError):
        ident = f"{channel}:msg:{raw.get('MsgId') or raw.get('MsgID') or base['user'] + ':' + str(base['created'])}"
        return Message(**base, id=ident, kind="unknown")


def _typed(parsed: BaseMessage, raw: dict[str, str], channel: str, base: dict[str, Any]) -> Message:
    kind = parsed.type
    if kind == "event":
        event = _EVENT_ALIASES.get(parsed.event, parsed.event)
        key = str(raw.get("EventKey") or "")
        # Events carry no MsgId: the documented key is FromUserName + CreateTime; the event name
        # and key keep two different events of one second apart.
        ident = f"{channel}:ev:{base['user']}:{base['created']}:{event}:{key}"
        location = None
        if event == "location":
            location = Location(latitude=float(raw["Latitude"]), longitude=float(raw["Longitude"]))
        return Message(**base, id=ident, kind="event", event=event, event_key=key, location=location)

    msg_id = raw.get("MsgId") or raw.get("MsgID") or f"{base['user']}:{base['created']}"
    ident = f"{channel}:msg:{msg_id}"
    if kind == "text":
        return Message(**base, id=ident, kind="text", text=parsed.content or "")
    if kind == "voice":
        return Message(**base, id=ident, kind="voice", text=raw.get("Recognition") or "", media_id=parsed.media_id or "")
    if kind == "image":
        return Message(**base, id=ident, kind="image", media_id=parsed.media_id or "", picture_url=parsed.image or "")
    if kind == "location":
        x, y = parsed.location
        return Message(**base, id=ident, kind="location", location=Location(latitude=x, longitude=y, label=parsed.label or ""))
    if kind == "link":
        return Message(**base, id=ident, kind="link", text=parsed.title or "")
    if kind in ("video", "shortvideo"):
        return Message(**base, id=ident, kind="video", media_id=parsed.media_id or "")
    return Message(**base, id=ident, kind="unknown")


def parse_xml(body: str) -> tuple[BaseMessage, dict[str, str]]:
    try:
        parsed = parse_message(body)
        # the fields as parsed (Recognition and others wechatpy has no attribute for): wechatpy
        # keeps its dict on the message, so the body is parsed once
        raw = parsed._data
        if not isinstance(raw, dict) or "MsgType" not in raw:
            raise KeyError("MsgType")
        return parsed, raw
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Rejected(400, "xml", f"malformed XML: {type(exc).__name__}") from None


class WechatDoor(Door):
    """The Official Account callback (``[wechat] path``)."""

    nothing_to_say = "success"

    def __init__(self, settings: WechatSettings, engine: Engine, metrics: Metrics, quota: QuotaRepo) -> None:
        super().__init__(engine, metrics)
        self.settings = settings
        self.quota = quota
        self.token = settings.token.get_secret_value()
        aes_key = settings.encoding_aes_key.get_secret_value()
        self.crypto = WeChatCrypto(self.token, aes_key, settings.app_id) if aes_key else None
        self._prp = PrpCrypto(self.crypto.key) if self.crypto else None

    def _check_plain(self, request: web.Request) -> None:
        q = request.query
        check_fresh(q.get("timestamp", ""), self.settings.timestamp_window)
        verify((self.token, q.get("timestamp", ""), q.get("nonce", "")), q.get("signature", ""))

    async def verify_url(self, request: web.Request) -> web.Response:
        try:
            self._check_plain(request)
        except Rejected as exc:
            return self.reject(exc, request)
        return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")

    async def open(self, request: web.Request) -> tuple[str, bool]:
        q = request.query
        if q.get("encrypt_type", "raw").lower() != "aes":
            self._check_plain(request)
            return await self.body(request), False
        # Compatible and safe modes: msg_signature over the ciphertext ("不要使用signature验证").
        check_fresh(q.get("timestamp", ""), self.settings.timestamp_window)
        body = await self.body(request)
        if self.crypto is None or self._prp is None:
            raise Rejected(400, "mode", "encrypted message but no EncodingAESKey configured")
        envelope = parse_envelope(body)
        verify((self.token, q.get("timestamp", ""), q.get("nonce", ""), envelope), q.get("msg_signature", ""))
        return decrypt(self._prp, envelope, self.settings.app_id), True

    def read(self, xml: str) -> Message:
        parsed, raw = parse_xml(xml)
        return to_message(parsed, raw)

    def seal(self, reply_xml: str, request: web.Request) -> str:
        assert self.crypto is not None
        return self.crypto.encrypt_message(reply_xml, request.query.get("nonce", ""), str(int(time.time())))

    async def after(self, message: Message) -> None:
        if message.kind != "event":  # a user message opens 5 customer-service messages for 48 h
            await self.quota.user_wrote(message.user, self.settings.cs_quota, self.settings.cs_window)
