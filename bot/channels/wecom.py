"""The WeCom (企业微信 / 政务微信) callback door, for officials and staff who work there.

Every push is encrypted; the GET handshake carries an encrypted echostr whose plaintext is
the answer; the receive id inside the ciphertext is the CorpID. User ids are kept apart from
Official Account OpenIDs by the ``wecom:`` prefix.
"""

from __future__ import annotations

import time

from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from bot.channels.door import Door, decrypt, parse_envelope
from bot.channels.signing import Rejected, check_fresh, verify
from bot.channels.wechat import parse_xml, to_message
from bot.config import WecomSettings
from bot.engine import Engine
from bot.metrics import Metrics
from bot.models import Message

CHANNEL = "wecom"


class WecomDoor(Door):
    nothing_to_say = ""  # WeCom: HTTP 200 with an empty body ("空串")

    def __init__(self, settings: WecomSettings, engine: Engine, metrics: Metrics) -> None:
        super().__init__(engine, metrics)
        self.settings = settings
        self.token = settings.token.get_secret_value()
        self.crypto = WeChatCrypto(self.token, settings.encoding_aes_key.get_secret_value(), settings.corp_id)
        self._prp = PrpCrypto(self.crypto.key)

    def _check(self, request: web.Request, signed: str) -> None:
        q = request.query
        check_fresh(q.get("timestamp", ""), self.settings.timestamp_window)
        verify((self.token, q.get("timestamp", ""), q.get("nonce", ""), signed), q.get("msg_signature", ""))

    async def verify_url(self, request: web.Request) -> web.Response:
        echostr = request.query.get("echostr", "")  # aiohttp has URL-decoded it already
        try:
            if not echostr:
                raise Rejected(400, "echostr", "no echostr")
            self._check(request, echostr)
            plain = decrypt(self._prp, echostr, self.settings.corp_id)
        except Rejected as exc:
            return self.reject(exc, request)
        return web.Response(text=plain, content_type="text/plain")

    async def open(self, request: web.Request) -> tuple[str, bool]:
        envelope = parse_envelope(await self.body(request))
        self._check(request, envelope)
        return decrypt(self._prp, envelope, self.settings.corp_id), True

    def read(self, xml: str) -> Message:
        parsed, raw = parse_xml(xml)
        return to_message(parsed, raw, channel=CHANNEL, user_prefix=f"{CHANNEL}:")

    def seal(self, reply_xml: str, request: web.Request) -> str:
        return self.crypto.encrypt_message(reply_xml, request.query.get("nonce", ""), str(int(time.time())))
