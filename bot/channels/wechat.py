"""The Official Account door: verify, decrypt, parse into a ``Message``; render and encrypt the ``Reply``.

Modes: plaintext (signature only), compatible and safe (``encrypt_type=aes``: msg_signature
over the ciphertext, AES with the AppID check inside). wechatpy does the crypto, parsing and
reply XML; signatures are compared here in constant time.
"""

from __future__ import annotations

import logging
import time
from xml.parsers.expat import ExpatError

from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.messages import BaseMessage
from wechatpy.replies import TextReply

import xmltodict

from bot.channels.signing import Rejected, check_fresh, verify
from bot.config import WechatSettings
from bot.engine import Engine
from bot.metrics import Metrics
from bot.models import Location, Message
from bot.store import Unavailable
from bot.store.accounts import QuotaRepo

log = logging.getLogger(__name__)


# wechatpy event names → ours (a QR-code subscribe is still a subscribe).
_EVENT_ALIASES = {"subscribe_scan": "subscribe", "subscribe_scan_product": "subscribe"}


def to_message(parsed: BaseMessage, raw: dict[str, str], channel: str = "wechat") -> Message:
    """wechatpy's typed message → our channel-independent Message."""
    kind = parsed.type
    base = {
        "channel": channel,
        "user": parsed.source or "",
        "account": parsed.target or "",
        "created": int(raw.get("CreateTime") or 0),
        "raw_type": raw.get("MsgType", ""),
    }
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
        return Message(**base, id=ident, kind="voice", text=raw.get("Recognition") or "", media_id=parsed.media_id)
    if kind == "image":
        return Message(**base, id=ident, kind="image", media_id=parsed.media_id, picture_url=parsed.image or "")
    if kind == "location":
        x, y = parsed.location
        return Message(**base, id=ident, kind="location", location=Location(latitude=x, longitude=y, label=parsed.label or ""))
    if kind == "link":
        return Message(**base, id=ident, kind="link", text=parsed.title or "")
    if kind in ("video", "shortvideo"):
        return Message(**base, id=ident, kind="video", media_id=parsed.media_id)
    return Message(**base, id=ident, kind="unknown")


def parse_xml(body: str) -> tuple[BaseMessage, dict[str, str]]:
    try:
        raw = xmltodict.parse(body)["xml"]
        if not isinstance(raw, dict) or "MsgType" not in raw:
            raise KeyError("MsgType")
        return parse_message(body), raw
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Rejected(400, "xml", f"malformed XML: {type(exc).__name__}") from None


class WechatDoor:
    def __init__(self, settings: WechatSettings, engine: Engine, metrics: Metrics, quota: QuotaRepo) -> None:
        self.settings = settings
        self.quota = quota
        self.engine = engine
        self.metrics = metrics
        self.token = settings.token.get_secret_value()
        aes_key = settings.encoding_aes_key.get_secret_value()
        self.crypto = WeChatCrypto(self.token, aes_key, settings.app_id) if aes_key else None
        self._prp = PrpCrypto(self.crypto.key) if self.crypto else None

    def routes(self) -> list[web.RouteDef]:
        return [web.get(self.settings.path, self.verify_url), web.post(self.settings.path, self.receive)]

    def _check(self, request: web.Request) -> None:
        q = request.query
        check_fresh(q.get("timestamp", ""), self.settings.timestamp_window)
        verify((self.token, q.get("timestamp", ""), q.get("nonce", "")), q.get("signature", ""))

    async def verify_url(self, request: web.Request) -> web.Response:
        try:
            self._check(request)
        except Rejected as exc:
            return self._reject(exc, request)
        return web.Response(text=request.query.get("echostr", ""), content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        try:
            self._check(request)
            body = await self._body(request)
            encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
            xml = self._decrypt(body, request) if encrypted else body
            parsed, raw = parse_xml(xml)
        except Rejected as exc:
            return self._reject(exc, request)

        message = to_message(parsed, raw)
        try:
            reply = await self.engine.handle(message)
            if message.kind != "event":  # a user message opens 5 customer-service messages for 48 h
                await self.quota.user_wrote(message.user, self.settings.cs_quota, self.settings.cs_window)
        except Unavailable:
            # Nothing was recorded: refuse, and WeChat's retry (or the next one) gets a fresh try.
            return self._reject(Rejected(503, "redis", "storage unavailable, retry later"), request)
        if reply.text is None:
            return web.Response(text="success", content_type="text/plain")  # WeChat: nothing to say
        rendered = TextReply(source=message.account, target=message.user, content=reply.text, time=int(time.time())).render()
        if encrypted and self.crypto:
            nonce = request.query.get("nonce", "")
            rendered = self.crypto.encrypt_message(rendered, nonce, str(int(time.time())))
        return web.Response(text=rendered, content_type="application/xml")

    async def _body(self, request: web.Request) -> str:
        if request.content_length is not None and request.content_length > request.app._client_max_size:
            raise Rejected(413, "size", "request body too large")
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Rejected(413, "size", "request body too large") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(400, "encoding", "body is not UTF-8") from None

    def _decrypt(self, body: str, request: web.Request) -> str:
        if self.crypto is None or self._prp is None:
            raise Rejected(400, "mode", "encrypted message but no EncodingAESKey configured")
        envelope = parse_envelope(body)
        q = request.query
        verify((self.token, q.get("timestamp", ""), q.get("nonce", ""), envelope), q.get("msg_signature", ""))
        return decrypt(self._prp, envelope, self.settings.app_id)

    def _reject(self, exc: Rejected, request: web.Request) -> web.Response:
        self.metrics.rejected.labels(reason=exc.reason).inc()
        log.warning("rejected %s %s from %s: %s", request.method, request.path, request.remote, exc)
        return web.Response(status=exc.status, text=str(exc), content_type="text/plain")


def parse_envelope(body: str) -> str:
    """The <Encrypt> of an encrypted push (safe mode, compatible mode, WeCom)."""
    try:
        raw = xmltodict.parse(body)["xml"]
        encrypt = raw["Encrypt"] if isinstance(raw, dict) else None
    except (ExpatError, KeyError, TypeError, ValueError):
        raise Rejected(400, "xml", "malformed XML envelope") from None
    if not encrypt or not isinstance(encrypt, str):
        raise Rejected(400, "xml", "no Encrypt element")
    return encrypt


def decrypt(prp: PrpCrypto, envelope: str, receive_id: str) -> str:
    """AES-decrypt and check the receive id (AppID / CorpID) inside the plaintext."""
    try:
        return prp.decrypt(envelope, receive_id)
    except InvalidAppIdException:
        raise Rejected(403, "appid", "ciphertext is for another AppID") from None
    except Exception as exc:  # noqa: BLE001 - a wrong key yields any of padding, struct, unicode errors
        raise Rejected(400, "decrypt", f"cannot decrypt: {type(exc).__name__}") from None
