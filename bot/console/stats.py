"""The dashboard's numbers, computed from tickets alone (no I/O), so they can be tested exactly.

- **Year on year**: tickets per month this year and last year; the same period (1 January to
  today's date) compared, for all tickets and for complaints (matters whose intent is
  ``complaint``). The 盘锦 2025 plan's goal is 投诉量同比下降10%以上: met when complaints in the
  period are at least 10% fewer than last year's same period.
- **Rates** (each a ``Ratio``, shown as a percentage with its numerator and denominator):
  响应率 — signed for (受理) before the sign-in deadline (``TicketSettings.sign_within`` after
  dispatch; a re-route before the first 受理 restarts the clock), over tickets signed for or
  past that deadline; 解决率 — 已办结/已评价/已关闭 over all; 满意率 — 满意+基本满意 over rated;
  按期办结率 — resolved by the deadline, over tickets resolved or past their deadline unresolved;
  退回率 — tickets returned (退回) at least once, over all.
- **红黑榜** of property companies: a ticket belongs to a company by its ``company`` field (the
  company's own reports), else by its compound when a bound property staff member serves that
  compound. A *valid complaint* is a resident's ticket about the company's own duties (a matter
  the property company handles, or one about the company itself such as 物业服务质量差), not merged
  into another and not closed after 退回. Rank: fewest valid complaints first, then the higher
  average rating (满意 100, 基本满意 60, 不满意 0; none yet counts 60). The best are the red
  list, the worst the black list (at most three each, never overlapping).

Merged duplicates (``merged_into``) are left out everywhere: the ticket they joined counts them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot import calendar
from bot.api.open311 import compound
from bot.calendar import CHINA
from bot.knowledge import Knowledge
from bot.tickets.model import UNRESOLVED, State, Ticket

DONE = frozenset({State.RESOLVED, State.RATED, State.CLOSED})
GOAL = -0.10  # 盘锦 2025: complaints at least 10% fewer than the year before
SCORES = {"满意": 100, "基本满意": 60, "不满意": 0}
NEUTRAL = 60
BOARD_SIZE = 3


@dataclass(frozen=True)
class Ratio:
    num: int
    den: int

    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None

    @property
    def pct(self) -> str:
        return f"{self.num / self.den:.0%}" if self.den else "—"

    def __str__(self) -> str:
        return self.pct


@dataclass
class YearOnYear:
    year: int
    this_year: list[int]  # twelve months; months after this one are 0
    last_year: list[int]
    months_so_far: int
    period_this: int  # tickets 1 January .. today
    period_last: int  # tickets 1 January .. the same date last year
    complaints_this: int
    complaints_last: int

    @staticmethod
    def _change(now: int, before: int) -> float | None:
        return (now - before) / before if before else None

    @property
    def change(self) -> float | None:
        return self._change(self.period_this, self.period_last)

    @property
    def complaint_change(self) -> float | None:
        return self._change(self.complaints_this, self.complaints_last)

    @property
    def goal_met(self) -> bool | None:
        """None when last year's same period had no complaints to compare with."""
        change = self.complaint_change
        return None if change is None else change <= GOAL + 1e-9


@dataclass
class CompanyRow:
    company: str
    complaints: int = 0  # valid complaints
    reports: int = 0  # tickets the company itself reported
    ratings: list[int] = field(default_factory=list)
    rank: int = 0

    @property
    def average(self) -> float | None:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None

    @property
    def average_text(self) -> str:
        return "—" if self.average is None else f"{self.average:.0f}分"

    def key(self) -> tuple[int, float, str]:
        return (self.complaints, -(self.average if self.average is not None else NEUTRAL), self.company)


@dataclass
class Stats:
    total: int
    overdue: int
    response: Ratio
    resolution: Ratio
    satisfaction: Ratio
    on_time: Ratio
    returned: Ratio
    yoy: YearOnYear
    by_department: list[tuple[str, int, int]]  # code, all, done
    by_matter: list[tuple[str, int]]  # top 10
    by_compound: list[tuple[str, int]]  # top 10
    board: list[CompanyRow]
    red: list[CompanyRow]
    black: list[CompanyRow]

    @property
    def done(self) -> int:
        return self.resolution.num

    @property
    def rated(self) -> int:
        return self.satisfaction.den


# -- single tickets -------------------------------------------------------------------------
def signed_in_time(ticket: Ticket, sign_within: str, now: dt.datetime) -> bool | None:
    """True: 受理 before the sign-in deadline; False: late, or not yet and the deadline passed;
    None: not yet signed and still within the window."""
    start = ticket.created
    for event in ticket.history:
        if event.action == "accepted":
            return event.at <= calendar.deadline(start, sign_within)
        if event.action == "rerouted":
            start = event.at
    return False if now > calendar.deadline(start, sign_within) else None


def met_deadline(ticket: Ticket, now: dt.datetime) -> bool | None:
    """True: resolved by the deadline; False: resolved late, or unresolved and past it; None: still
    running, or never resolved (closed after 退回)."""
    resolved = [e.at for e in ticket.history if e.action == "resolved"]
    if resolved and ticket.state not in UNRESOLVED:
        return resolved[-1] <= ticket.deadline
    if ticket.state in UNRESOLVED and ticket.state != State.RETURNED and ticket.deadline < now:
        return False
    return None


def place_of(ticket: Ticket) -> str:
    return compound(ticket.place or (ticket.location.label if ticket.location else ""))


def company_of(ticket: Ticket, compound_companies: Mapping[str, str]) -> str:
    if ticket.company:
        return ticket.company
    where = ticket.place or (ticket.location.label if ticket.location else "")
    for name, company in compound_companies.items():
        if name and name in where:
            return company
    return ""


def about_company(ticket: Ticket, knowledge: Knowledge) -> bool:
    matter = knowledge.matter.get(ticket.matter)
    # The company's own duties, and matters about the company itself handled by 住建 (knowledge/matters.yaml).
    return matter is not None and (matter.about_company or matter.department == "property_company")


def valid_complaint(ticket: Ticket, knowledge: Knowledge) -> bool:
    closed_after_return = ticket.state == State.CLOSED and any(e.action == "returned" for e in ticket.history) and not any(
        e.action == "resolved" for e in ticket.history)
    return ticket.source == "resident" and about_company(ticket, knowledge) and not ticket.merged_into and not closed_after_return


# -- the whole set --------------------------------------------------------------------------
def _same_period(day: dt.date, today: dt.date) -> bool:
    return (day.month, day.day) <= (today.month, today.day)


def year_on_year(tickets: Iterable[Ticket], knowledge: Knowledge, now: dt.datetime) -> YearOnYear:
    today = now.astimezone(CHINA).date()
    this, last = [0] * 12, [0] * 12
    period = Counter[str]()
    for t in tickets:
        day = t.created.astimezone(CHINA).date()
        matter = knowledge.matter.get(t.matter)
        complaint = matter is not None and matter.intent == "complaint"
        for year, months, tag in ((today.year, this, "this"), (today.year - 1, last, "last")):
            if day.year == year:
                months[day.month - 1] += 1
                if _same_period(day, today):
                    period[tag] += 1
                    period[f"c_{tag}"] += complaint
    return YearOnYear(year=today.year, this_year=this, last_year=last, months_so_far=today.month,
                      period_this=period["this"], period_last=period["last"],
                      complaints_this=period["c_this"], complaints_last=period["c_last"])


def board(tickets: Iterable[Ticket], knowledge: Knowledge, compound_companies: Mapping[str, str],
          known: Iterable[str] = ()) -> list[CompanyRow]:
    rows = {name: CompanyRow(name) for name in known if name}
    for t in tickets:
        if t.merged_into:
            continue
        company = company_of(t, compound_companies)
        if not company:
            continue
        row = rows.setdefault(company, CompanyRow(company))
        if t.source == "property" and t.company == company:
            row.reports += 1
        elif valid_complaint(t, knowledge):
            row.complaints += 1
            if t.rating in SCORES:
                row.ratings.append(SCORES[t.rating])
    ranked = sorted(rows.values(), key=CompanyRow.key)
    for i, row in enumerate(ranked, start=1):
        row.rank = i
    return ranked


def compute(tickets: list[Ticket], knowledge: Knowledge, *, sign_within: str, now: dt.datetime,
            compound_companies: Mapping[str, str] | None = None, known_companies: Iterable[str] = ()) -> Stats:
    compound_companies = compound_companies or {}
    counted = [t for t in tickets if not t.merged_into]
    total = len(counted)
    signed = [s for s in (signed_in_time(t, sign_within, now) for t in counted) if s is not None]
    met = [m for m in (met_deadline(t, now) for t in counted) if m is not None]
    rated = [t for t in counted if t.rating in SCORES]

    by_dept, done_dept = Counter(t.department for t in counted), Counter(t.department for t in counted if t.state in DONE)
    places = Counter(p for p in (place_of(t) for t in counted) if p)
    ranked = board(counted, knowledge, compound_companies, known_companies)
    size = min(BOARD_SIZE, len(ranked) // 2)
    return Stats(
        total=total,
        overdue=sum(t.state in UNRESOLVED and t.state != State.RETURNED and t.deadline < now for t in counted),
        response=Ratio(sum(signed), len(signed)),
        resolution=Ratio(sum(t.state in DONE for t in counted), total),
        satisfaction=Ratio(sum(t.rating in ("满意", "基本满意") for t in rated), len(rated)),
        on_time=Ratio(sum(met), len(met)),
        returned=Ratio(sum(any(e.action == "returned" for e in t.history) for t in counted), total),
        yoy=year_on_year(counted, knowledge, now),
        by_department=[(code, n, done_dept[code]) for code, n in by_dept.most_common()],
        by_matter=Counter(t.matter for t in counted).most_common(10),
        by_compound=places.most_common(10),
        board=ranked,
        red=ranked[:size],
        black=ranked[::-1][:size] if size else [],
    )
