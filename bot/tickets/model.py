"""A ticket, its states and the transitions between them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from bot.models import Location

Source = Literal["resident", "property", "official"]


class State(StrEnum):
    OPEN = "待受理"  # opened and dispatched to the unit
    ACCEPTED = "已受理"  # the unit signed for it
    IN_PROGRESS = "处理中"
    RESOLVED = "已办结"
    RATED = "已评价"
    CLOSED = "已关闭"
    RETURNED = "退回"  # the unit sent it back: a dispatcher re-routes it
    REOPENED = "重新办理"


UNRESOLVED = frozenset({State.OPEN, State.ACCEPTED, State.IN_PROGRESS, State.REOPENED, State.RETURNED})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.ACCEPTED, State.RETURNED}),
    State.ACCEPTED: frozenset({State.IN_PROGRESS, State.RESOLVED, State.RETURNED}),
    State.IN_PROGRESS: frozenset({State.RESOLVED, State.RETURNED}),
    State.RESOLVED: frozenset({State.RATED, State.REOPENED, State.CLOSED}),
    State.RATED: frozenset({State.CLOSED}),
    State.RETURNED: frozenset({State.OPEN, State.CLOSED}),
    State.REOPENED: frozenset({State.ACCEPTED, State.RESOLVED, State.RETURNED}),
    State.CLOSED: frozenset(),
}

Rating = Literal["满意", "基本满意", "不满意", "未解决"]
RATINGS: tuple[Rating, ...] = ("满意", "基本满意", "不满意", "未解决")
LEVELS = ("社区", "镇街", "县")


class TransitionError(ValueError):
    """An action the ticket's current state does not allow."""


class Event(BaseModel):
    at: dt.datetime
    who: str  # "resident", "official:police", "system", ...
    action: str  # opened, accepted, replied, resolved, returned, rerouted, rated, reopened, chased, supervised, joined, merged
    note: str = ""


class Ticket(BaseModel):
    number: str
    user: str
    co_reporters: list[str] = []
    matter: str
    department: str
    also: list[str] = []
    level: str = LEVELS[0]
    source: Source = "resident"
    company: str = ""  # the reporting property company, for staff reports
    texts: list[str]
    place: str = ""
    location: Location | None = None
    photos: list[str] = []
    contact: str = ""  # phone number: personal data, shown only to the handling unit
    state: State = State.OPEN
    created: dt.datetime
    dispatched: dt.datetime
    deadline: dt.datetime
    escalations: list[str] = []  # ladder steps already taken
    history: list[Event] = []
    rating: Rating | None = None
    merged_into: str = ""  # a duplicate merged into that ticket (closed; counted there, not here)

    def move(self, to: State, *, at: dt.datetime, who: str, action: str, note: str = "") -> None:
        if to not in TRANSITIONS[self.state]:
            raise TransitionError(f"工单{self.number}当前状态为「{self.state}」，不能{action_names.get(action, action)}")
        self.state = to
        self.record(at=at, who=who, action=action, note=note)

    def record(self, *, at: dt.datetime, who: str, action: str, note: str = "") -> None:
        self.history.append(Event(at=at, who=who, action=action, note=note))

    @property
    def residents(self) -> list[str]:
        return [self.user, *self.co_reporters]

    @property
    def last_event(self) -> Event:
        return self.history[-1]


action_names = {
    "accepted": "受理",
    "replied": "回复",
    "resolved": "办结",
    "returned": "退回",
    "rerouted": "改派",
    "rated": "评价",
    "reopened": "重新办理",
    "closed": "关闭",
    "opened": "派发",
    "chased": "催办",
    "supervised": "督办",
    "joined": "合并",
    "merged": "合并工单",
}
