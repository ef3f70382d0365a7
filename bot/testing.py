"""Build real WeChat pushes (signed, and encrypted with wechatpy's own crypto) for tests and benchmarks,
and read the replies back."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WorkCrypto

from bot.channels.signing import sha1_signature

Mode = Literal["plain", "compat", "safe"]
_ids = itertools.count(int(time.time() * 1000))


def next_msg_id() -> int:
    return next(_ids)


def text_xml(content: str, *, user: str = "o_resident", account: str = "gh_wuye", msg_id: int | None = None, created: int | None = None) -> str:
    return xml_of(
        {"MsgType": "text", "Content": content, "MsgId": str(msg_id or next_msg_id())}, user=user, account=account, created=created
    )


def xml_of(fields: dict[str, str], *, user: str = "o_resident", account: str = "gh_wuye", created: int | None = None) -> str:
    head = {"ToUserName": account, "FromUserName": user, "CreateTime": str(created or int(time.time()))}
    body = "".join(
        f"<{k}>{v}</{k}>" if v.replace(".", "").replace("-", "").isdigit() else f"<{k}><![CDATA[{escape(v)}]]></{k}>"
        for k, v in {**head, **fields}.items()
    )
    return f"<xml>{body}</xml>"


@dataclass
class WechatSender:
    """Signs (and in compatible/safe mode encrypts) pushes the way WeChat's servers do."""

    token: str
    encoding_aes_key: str = ""
    app_id: str = ""
    path: str = "/wechat"
    _crypto: WeChatCrypto | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.encoding_aes_key:
            self._crypto = WeChatCrypto(self.token, self.encoding_aes_key, self.app_id)

    def query(self, *, timestamp: int | None = None, nonce: str = "nonce123", **extra: str) -> dict[str, str]:
        ts = str(timestamp or int(time.time()))
        return {"timestamp": ts, "nonce": nonce, "signature": sha1_signature(self.token, ts, nonce), **extra}

    def verify_query(self, echostr: str = "echo-4375120948345356249", **kw: object) -> dict[str, str]:
        return self.query(echostr=echostr, **kw)  # type: ignore[arg-type]

    def push(self, xml: str, mode: Mode = "safe", *, timestamp: int | None = None, nonce: str | None = None) -> tuple[dict[str, str], str]:
        """(query, body) for a POST in the given mode."""
        nonce = nonce or f"n{next_msg_id()}"
        ts = timestamp or int(time.time())
        if mode == "plain":
            return self.query(timestamp=ts, nonce=nonce, openid="o_resident"), xml
        assert self._crypto is not None, "compatible/safe mode needs an EncodingAESKey"
        envelope = xmltodict.parse(self._crypto.encrypt_message(xml, nonce, str(ts)))["xml"]
        encrypt, msg_signature = envelope["Encrypt"], envelope["MsgSignature"]
        if mode == "compat":  # the plaintext fields and the ciphertext, side by side
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        else:
            body = f"<xml><ToUserName><![CDATA[gh_wuye]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        query = self.query(timestamp=ts, nonce=nonce, openid="o_resident", encrypt_type="aes", msg_signature=msg_signature)
        return query, body

    def read_reply(self, body: str, query: dict[str, str] | None = None) -> dict[str, str]:
        """The reply's fields; encrypted replies are verified and decrypted with wechatpy."""
        if body in ("success", ""):
            return {}
        data = xmltodict.parse(body)["xml"]
        if "Encrypt" in data and self._crypto is not None:
            plain = self._crypto.decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
            data = xmltodict.parse(plain)["xml"]
        return dict(data)


@dataclass
class WecomSender:
    """Encrypts and signs pushes the way WeCom's servers do (every push encrypted, CorpID inside)."""

    token: str
    encoding_aes_key: str
    corp_id: str
    path: str = "/wecom"
    _crypto: WorkCrypto = field(init=False)

    def __post_init__(self) -> None:
        self._crypto = WorkCrypto(self.token, self.encoding_aes_key, self.corp_id)

    def verify_query(self, echo: str = "wecom-echo-1409659589", *, timestamp: int | None = None, nonce: str = "n1") -> dict[str, str]:
        """The GET handshake: echostr is the encrypted ``echo``; the answer must be ``echo``."""
        ts = str(timestamp or int(time.time()))
        echostr = WorkPrpCrypto(self._crypto.key).encrypt(echo, self.corp_id).decode()
        return {"msg_signature": sha1_signature(self.token, ts, nonce, echostr), "timestamp": ts, "nonce": nonce, "echostr": echostr}

    def push(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> tuple[dict[str, str], str]:
        nonce = nonce or f"n{next_msg_id()}"
        ts = str(timestamp or int(time.time()))
        envelope = xmltodict.parse(self._crypto.encrypt_message(xml, nonce, ts))["xml"]
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
        )
        return {"msg_signature": envelope["MsgSignature"], "timestamp": ts, "nonce": nonce}, body

    def read_reply(self, body: str) -> dict[str, str]:
        if not body:
            return {}
        data = xmltodict.parse(body)["xml"]
        plain = self._crypto.decrypt_message(body, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
        return dict(xmltodict.parse(plain)["xml"])
