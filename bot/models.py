"""What crosses the doors: a channel-independent incoming ``Message`` and outgoing ``Reply``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Kind = Literal["text", "voice", "image", "location", "link", "video", "event", "unknown"]


class Location(BaseModel):
    latitude: float
    longitude: float
    label: str = ""


class Message(BaseModel):
    channel: str = "wechat"
    id: str  # de-duplication key: MsgId, or user + CreateTime (+ event) for events
    user: str  # the sender's OpenID / WeCom UserID
    account: str = ""  # the receiving account (ToUserName)
    kind: Kind
    text: str = ""  # text, voice recognition, link title
    event: str = ""  # subscribe, unsubscribe, click, view, scan, location, ...
    event_key: str = ""
    media_id: str = ""
    picture_url: str = ""
    location: Location | None = None
    created: int = 0
    raw_type: str = ""  # the MsgType / Event as received, for unknown kinds and logs

    @property
    def platform_user(self) -> str:
        """The sender's id as the platform knows it: outside the Official Account, ``user``
        carries a channel prefix ("wecom:zhangsan") so that ids of two platforms never meet."""
        prefix = f"{self.channel}:"
        return self.user[len(prefix) :] if self.user.startswith(prefix) else self.user


class Reply(BaseModel):
    """What the bot says back. ``text`` None means nothing to say (the door answers ``success``)."""

    text: str | None = None

    @classmethod
    def silent(cls) -> "Reply":
        return cls(text=None)
