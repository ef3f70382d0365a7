"""The ledger (台账): which tickets an account may see, the filters, and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING


from bot.calendar import CHINA
from bot.console.accounts import Account
from bot.knowledge import Knowledge
from bot.tickets.model import UNRESOLVED, State, Ticket

if TYPE_CHECKING:
    from multidict import MultiMapping

SCAN = 20_000  # the newest tickets a ledger looks at; a county files far fewer in a ledger's life
PAGE = 20


def can_see(account: Account, ticket: Ticket) -> bool:
    if account.kind == "admin":
        return True
    if account.kind == "official":
        return ticket.department == account.department
    if account.kind == "staff":
        return bool(account.company) and ticket.company == account.company
    return False


def can_act(account: Account, ticket: Ticket) -> bool:
    """Staff and editors read; officials act on their department's tickets; admins on all."""
    return account.kind == "admin" or (account.kind == "official" and ticket.department == account.department)


def allowed_actions(account: Account, ticket: Ticket) -> list[str]:
    if not can_act(account, ticket):
        return []
    s = ticket.state
    out = []
    if s in (State.OPEN, State.REOPENED):
        out.append("accept")
    if s in (State.ACCEPTED, State.IN_PROGRESS, State.REOPENED):
        out += ["reply", "resolve"]
    if s in (State.OPEN, State.ACCEPTED, State.IN_PROGRESS, State.REOPENED):
        out.append("return")
    if account.kind == "admin" and s in (State.OPEN, State.RETURNED):
        out.append("reroute")
    if account.kind == "admin" and s in (State.RESOLVED, State.RATED, State.RETURNED):
        out.append("close")
    return out


def can_merge(account: Account, ticket: Ticket) -> bool:
    """Merging duplicates is for administrators, into a ticket not yet closed."""
    return account.kind == "admin" and ticket.state != State.CLOSED


def sees_contact(account: Account, ticket: Ticket) -> bool:
    """A resident's phone number is for the handling unit only."""
    return can_act(account, ticket)


async def visible(services, account: Account) -> list[Ticket]:  # type: ignore[no-untyped-def]
    repo = services.store.tickets
    if account.kind == "official":
        numbers = await repo.of_department(account.department, SCAN)
    elif account.kind in ("admin", "staff"):
        numbers = await repo.all(SCAN)
    else:
        return []
    tickets = [t for t in await repo.load_many(numbers) if can_see(account, t)]
    tickets.sort(key=lambda t: t.created, reverse=True)
    return tickets


def is_overdue(ticket: Ticket, now: dt.datetime) -> bool:
    return ticket.state in UNRESOLVED and ticket.state != State.RETURNED and ticket.deadline < now


def time_left(ticket: Ticket, now: dt.datetime) -> str:
    """剩余2天3小时 / 超期5小时 / — for tickets no longer running against a deadline."""
    if ticket.state not in UNRESOLVED or ticket.state == State.RETURNED:
        return "—"
    seconds = int((ticket.deadline - now).total_seconds())
    word = "剩余" if seconds >= 0 else "超期"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{word}{days}天{hours}小时" if hours else f"{word}{days}天"
    if hours:
        return f"{word}{hours}小时"
    return f"{word}{max(rest // 60, 1)}分钟"


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class Filters:
    state: str = ""
    department: str = ""
    matter: str = ""
    place: str = ""
    since: str = ""
    until: str = ""
    overdue: bool = False
    q: str = ""
    page: int = 1
    errors: list[str] = field(default_factory=list)

    FIELDS = ("state", "department", "matter", "place", "since", "until", "q")

    @classmethod
    def parse(cls, query: MultiMapping[str]) -> Filters:
        f = cls(**{name: query.get(name, "").strip()[:100] for name in cls.FIELDS})
        f.overdue = query.get("overdue", "") in ("1", "on", "true")
        try:
            f.page = max(int(query.get("page", "1")), 1)
        except ValueError:
            f.page = 1
        if f.state and f.state not in {s.value for s in State}:
            f.state = ""
        for name in ("since", "until"):
            if getattr(f, name) and _date(getattr(f, name)) is None:
                f.errors.append(f"日期格式应为 YYYY-MM-DD：{getattr(f, name)}")
                setattr(f, name, "")
        return f

    def query(self, **override: object) -> dict[str, str]:
        """The filters as query parameters (for pagination and export links)."""
        out = {name: getattr(self, name) for name in self.FIELDS if getattr(self, name)}
        if self.overdue:
            out["overdue"] = "1"
        out.update({k: str(v) for k, v in override.items()})
        return out

    @property
    def active(self) -> bool:
        return bool(self.query())

    def apply(self, tickets: list[Ticket], knowledge: Knowledge, now: dt.datetime) -> list[Ticket]:
        since, until = _date(self.since), _date(self.until)
        words = self.q.lower().split()
        out = []
        for t in tickets:
            if self.state and t.state != self.state:
                continue
            if self.department and t.department != self.department:
                continue
            if self.matter and t.matter != self.matter:
                continue
            if self.place and self.place not in t.place and not (t.location and self.place in t.location.label):
                continue
            day = t.created.astimezone(CHINA).date()
            if since and day < since:
                continue
            if until and day > until:
                continue
            if self.overdue and not is_overdue(t, now):
                continue
            if words:
                matter = knowledge.matter.get(t.matter)
                hay = " ".join([t.number, t.place, *t.texts, matter.name if matter else t.matter]).lower()
                if not all(w in hay for w in words):
                    continue
            out.append(t)
        return out


def rows(tickets: list[Ticket], knowledge: Knowledge, account: Account, now: dt.datetime) -> tuple[list[str], list[list[str]]]:
    head = ["工单编号", "派发时间", "事项", "责任部门", "小区/地点", "状态", "办理时限", "剩余时间", "来源", "物业企业",
            "反映内容", "联系电话", "评价"]
    source = {"resident": "居民", "property": "物业企业", "official": "工作人员"}
    body = []
    for t in tickets:
        matter = knowledge.matter.get(t.matter)
        dept = knowledge.department.get(t.department)
        body.append([
            t.number,
            t.created.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
            matter.name if matter else t.matter,
            dept.name if dept else t.department,
            t.place or (t.location.label if t.location else ""),
            str(t.state),
            t.deadline.astimezone(CHINA).strftime("%Y-%m-%d %H:%M"),
            time_left(t, now),
            source.get(t.source, t.source),
            t.company,
            "\n".join(t.texts),
            t.contact if sees_contact(account, t) else "",
            t.rating or "",
        ])
    return head, body


def _safe(cell: str) -> str:
    """Spreadsheet programs run a cell that starts with = + - @ as a formula: residents write these cells."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def to_csv(head: list[str], body: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(head)
    writer.writerows([[_safe(c) for c in r] for r in body])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(head: list[str], body: list[list[str]]) -> bytes:
    # Imported here: openpyxl takes ~0.1 s to import, and every CLI run imports this module.
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(head)
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F5C99")
    for r in body:
        ws.append(r)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula
    widths = [18, 17, 16, 20, 24, 9, 17, 14, 9, 16, 50, 14, 9]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
