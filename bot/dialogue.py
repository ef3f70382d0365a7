"""Conversation state and the ticket draft: what is still missing, and reading answers to it.

The state is one JSON document per user (saved by the engine, with a TTL), so a draft the
resident abandons simply expires, leaving nothing half-written.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel

from bot.models import Location

Slot = Literal["place", "details", "photo", "contact", "dissuaded", "confirm"]

PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
# A place: a named compound (…小区/苑/园/府/城/家园/花园…) and/or building, unit, room numbers.
PLACE = re.compile(
    r"([\u4e00-\u9fa5a-z0-9]{1,12}?(?:小区|花园|家园|苑|园|府|城|庭|居|公寓|新村|社区|大院|家属院|宿舍))"
    r"|(\d+\s*(?:号楼|栋|幢|号院|单元|层|楼|室|号))"
)
SKIP_WORDS = ("没有", "没", "不用", "跳过", "无", "算了吧", "不需要", "不了")


class Draft(BaseModel):
    """A complaint or repair being put together, before it becomes a ticket."""

    matter: str
    department: str
    intent: Literal["complaint", "repair"]
    texts: list[str] = []
    place: str = ""
    location: Location | None = None
    photos: list[str] = []
    contact: str = ""  # a phone number, or "wechat"
    asked: list[Slot] = []  # optional slots already asked once (never asked twice)
    alternatives: list[str] = []  # other matters it might be, for "不是这个"
    source: Literal["resident", "property", "official"] = "resident"
    company: str = ""  # property staff reports: the reporting company
    staff_note: str = ""  # property staff reports: whether they tried to dissuade first (劝阻)

    def missing(self, *, needs_confirm: bool, ask_photo: bool) -> Slot | None:
        if not self.place and self.location is None:
            return "place"
        if sum(len(t) for t in self.texts) < 8 and "details" not in self.asked:
            return "details"
        if ask_photo and not self.photos and "photo" not in self.asked:
            return "photo"
        if self.source == "property":
            if not self.staff_note:  # required: the record that they tried to stop it first
                return "dissuaded"
        elif not self.contact and "contact" not in self.asked:
            return "contact"
        if needs_confirm:
            return "confirm"
        return None


def read_place(text: str) -> str:
    """The place words of an answer ('阳光小区3号楼2单元'), or '' when there are none."""
    parts = [m.group(0).strip() for m in PLACE.finditer(text)]
    return "".join(parts)


def read_phone(text: str) -> str:
    m = PHONE.search(text)
    return m.group(1) if m else ""


def is_skip(text: str) -> bool:
    t = text.strip()
    return len(t) <= 6 and any(w in t for w in SKIP_WORDS)


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "****"


class Conversation:
    """Per-user state between messages. ``step`` names what the bot is waiting for."""

    def __init__(self, user: str, data: dict[str, Any] | None = None) -> None:
        self.user = user
        self.data: dict[str, Any] = data or {}

    @property
    def step(self) -> str | None:
        return self.data.get("step")

    def expect(self, step: str | None, **payload: Any) -> None:
        if step is None:
            self.data.pop("step", None)
        else:
            self.data["step"] = step
        self.data.update(payload)

    @property
    def draft(self) -> Draft | None:
        raw = self.data.get("draft")
        return Draft.model_validate(raw) if raw else None

    @draft.setter
    def draft(self, draft: Draft | None) -> None:
        if draft is None:
            self.data.pop("draft", None)
        else:
            self.data["draft"] = draft.model_dump(mode="json")

    def remember_media(self, *, photo: str = "", location: Location | None = None) -> None:
        """Photos and locations sent outside a draft, kept for the next one."""
        if photo:
            self.data.setdefault("photos", []).append(photo)
        if location is not None:
            self.data["location"] = location.model_dump()

    def take_media(self) -> tuple[list[str], Location | None]:
        photos = self.data.pop("photos", [])
        raw = self.data.pop("location", None)
        return photos, Location.model_validate(raw) if raw else None

    def clear(self) -> None:
        self.data.clear()
