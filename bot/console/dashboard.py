"""The dashboard's figures and its server-side SVG charts (pygal; no JavaScript, nothing fetched)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pygal
from pygal.style import Style

from bot import calendar
from bot.calendar import CHINA
from bot.knowledge import Knowledge
from bot.tickets.model import State, Ticket

DONE = {State.RESOLVED, State.RATED, State.CLOSED}
STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1d2733", foreground_strong="#1d2733",
    foreground_subtle="#d9dee5", colors=("#1f5c99", "#1e7b3c", "#b26a00", "#c62828"),
    font_family='"WenQuanYi Micro Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    label_font_size=12, major_label_font_size=12, value_font_size=11, title_font_size=15, legend_font_size=12,
)


@dataclass
class Figures:
    total: int
    done: int
    rated: int
    satisfied: int
    overdue: int

    @property
    def resolution_rate(self) -> str:
        return f"{self.done / self.total:.0%}" if self.total else "—"

    @property
    def satisfaction_rate(self) -> str:
        return f"{self.satisfied / self.rated:.0%}" if self.rated else "—"


def figures(tickets: list[Ticket], overdue: int) -> Figures:
    rated = [t for t in tickets if t.rating and t.rating != "未解决"]
    return Figures(
        total=len(tickets),
        done=sum(t.state in DONE for t in tickets),
        rated=len(rated),
        satisfied=sum(t.rating in ("满意", "基本满意") for t in rated),
        overdue=overdue,
    )


def _render(chart: pygal.Graph) -> str:
    return chart.render(is_unicode=True)


def _integer_axis(top: int) -> list[int]:
    """Counts are whole numbers: 0..top in at most about six steps."""
    step = max(1, -(-top // 6))
    return list(range(0, top + step, step)) if top else [0, 1]


def _last_months(today: dt.date, months: int) -> list[str]:
    year, month = today.year, today.month
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def per_month(tickets: list[Ticket], months: int = 6) -> str:
    counts = Counter(t.created.astimezone(CHINA).strftime("%Y-%m") for t in tickets)
    keys = _last_months(calendar.now().date(), months)
    chart = pygal.Bar(style=STYLE, js=[], disable_xml_declaration=True, show_legend=False, height=300, width=640,
                      title="每月工单数", print_values=True, explicit_size=False, margin=16)
    chart.x_labels = keys
    chart.y_labels = _integer_axis(max((counts[k] for k in keys), default=0))
    chart.add("工单", [counts[k] for k in keys])
    return _render(chart)


def per_department(tickets: list[Ticket], knowledge: Knowledge) -> str:
    counts = Counter(t.department for t in tickets)
    done = Counter(t.department for t in tickets if t.state in DONE)
    codes = [c for c, _ in counts.most_common(10)][::-1]
    chart = pygal.HorizontalBar(style=STYLE, js=[], disable_xml_declaration=True, height=150 + 40 * max(len(codes), 1),
                                width=640, title="各部门工单", explicit_size=False, margin=16, legend_at_bottom=True)
    chart.x_labels = [knowledge.department[c].name if c in knowledge.department else c for c in codes]
    chart.y_labels = _integer_axis(max(counts.values(), default=0))
    chart.add("全部", [counts[c] for c in codes])
    chart.add("已办结", [done[c] for c in codes])
    return _render(chart)
