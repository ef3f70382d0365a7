"""What every callback door does the same way: read a bounded body, hand the message to the
engine, answer within the protocol's rules, and refuse bad input with a clear status."""

from __future__ import annotations

import logging
import time
from xml.parsers.expat import ExpatError

import xmltodict
from aiohttp import web
from redis.exceptions import RedisError
from wechatpy.crypto import BasePrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.replies import TextReply

from bot.channels.signing import Rejected
from bot.engine import Engine
from bot.metrics import Metrics
from bot.models import Message, Reply
from bot.store import Unavailable

log = logging.getLogger(__name__)


class Door:
    """A callback endpoint. Subclasses say how a request is checked and opened, and how a
    message is read; the way from there to the engine and back is the same for all."""

    #: The body that tells the platform "received, nothing to say".
    nothing_to_say = ""

    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self.engine = engine
        self.metrics = metrics

    # -- subclasses ---------------------------------------------------------------------
    async def open(self, request: web.Request) -> tuple[str, bool]:
        """Check the request and return (message XML, whether the reply must be encrypted)."""
        raise NotImplementedError

    def read(self, xml: str) -> Message:
        raise NotImplementedError

    def seal(self, reply_xml: str, request: web.Request) -> str:
        """Encrypt a passive reply."""
        raise NotImplementedError

    async def after(self, message: Message) -> None:
        """Bookkeeping once a message was handled (e.g. the customer-service window)."""

    # -- the way of one request --------------------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        try:
            xml, encrypted = await self.open(request)
            message = self.read(xml)
        except Rejected as exc:
            return self.reject(exc, request)
        try:
            reply = await self.engine.handle(message)
        except Unavailable:
            # Nothing was recorded: refuse, and the platform's retry gets a fresh try.
            return self.reject(Rejected(503, "redis", "storage unavailable, retry later"), request)
        try:
            await self.after(message)
        except RedisError as exc:  # the reply is ready; losing this bookkeeping must not lose it
            log.warning("after-message bookkeeping failed for %s: %s", message.id, exc)
        if reply.text is None:
            return web.Response(text=self.nothing_to_say, content_type="text/plain")
        rendered = render(message, reply)
        if encrypted:
            rendered = self.seal(rendered, request)
        return web.Response(text=rendered, content_type="application/xml")

    @staticmethod
    async def body(request: web.Request) -> str:
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

    def reject(self, exc: Rejected, request: web.Request) -> web.Response:
        self.metrics.rejected.labels(reason=exc.reason).inc()
        log.warning("rejected %s %s from %s: %s", request.method, request.path, request.remote, exc)
        return web.Response(status=exc.status, text=str(exc), content_type="text/plain")


def render(message: Message, reply: Reply) -> str:
    return TextReply(source=message.account, target=message.platform_user, content=reply.text, time=int(time.time())).render()


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


def decrypt(prp: BasePrpCrypto, ciphertext: str, receive_id: str) -> str:
    """AES-decrypt and check the receive id (AppID / CorpID) inside the plaintext."""
    try:
        return prp.decrypt(ciphertext, receive_id)  # type: ignore[attr-defined]
    except (InvalidAppIdException, InvalidCorpIdException):
        raise Rejected(403, "appid", "ciphertext is for another AppID / CorpID") from None
    except Exception as exc:  # noqa: BLE001 - a wrong key yields any of padding, struct, unicode errors
        raise Rejected(400, "decrypt", f"cannot decrypt: {type(exc).__name__}") from None
