"""The dashboard's figures and its server-side SVG charts (pygal; no JavaScript, nothing fetched)."""

from __future__ import annotations

import pygal
from pygal.style import Style

from bot.console.stats import Stats, YearOnYear
from bot.knowledge import Knowledge

STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#1d2733", foreground_strong="#1d2733",
    foreground_subtle="#d9dee5", colors=("#1f5c99", "#1e7b3c", "#b26a00", "#c62828"),
    font_family='"WenQuanYi Micro Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif',
    label_font_size=12, major_label_font_size=12, value_font_size=11, title_font_size=15, legend_font_size=12,
)


def _render(chart: pygal.Graph) -> str:
    return chart.render(is_unicode=True)


def _integer_axis(top: int) -> list[int]:
    """Counts are whole numbers: 0..top in at most about six steps."""
    step = max(1, -(-top // 6))
    return list(range(0, top + step, step)) if top else [0, 1]


def year_on_year(yoy: YearOnYear) -> str:
    """Grouped bars: each month of last year beside the same month this year (months to come empty)."""
    style = Style(**{**STYLE.to_dict(), "colors": ("#a9b4c0", "#1f5c99")})  # last year muted, this year strong
    chart = pygal.Bar(style=style, js=[], disable_xml_declaration=True, height=340, width=1200,
                      title=f"每月工单数：{yoy.year}年与{yoy.year - 1}年", print_values=False, explicit_size=False,
                      margin=16, legend_at_bottom=True, legend_at_bottom_columns=2)
    chart.x_labels = [f"{m}月" for m in range(1, 13)]
    chart.y_labels = _integer_axis(max([*yoy.this_year, *yoy.last_year], default=0))
    chart.add(f"{yoy.year - 1}年", yoy.last_year)
    chart.add(f"{yoy.year}年", [n if m < yoy.months_so_far else None for m, n in enumerate(yoy.this_year)])
    return _render(chart)


def _horizontal(title: str, labels: list[str], series: list[tuple[str, list[int]]]) -> str:
    # pygal measures labels as Latin text: Chinese characters need about twice the room.
    widest = max((len(label) for label in labels), default=0)
    chart = pygal.HorizontalBar(style=STYLE, js=[], disable_xml_declaration=True,
                                height=150 + (40 if len(series) > 1 else 30) * max(len(labels), 1),
                                width=640, title=title, explicit_size=False, margin=16, margin_left=16 + 7 * widest,
                                legend_at_bottom=True, show_legend=len(series) > 1, print_values=True)
    chart.x_labels = labels[::-1]
    chart.y_labels = _integer_axis(max((n for _, values in series for n in values), default=0))
    for name, values in series:
        chart.add(name, values[::-1])
    return _render(chart)


def per_department(stats: Stats, knowledge: Knowledge) -> str:
    rows = stats.by_department[:10]
    names = [knowledge.department[c].name if c in knowledge.department else c for c, _, _ in rows]
    return _horizontal("各部门工单", names, [("全部", [n for _, n, _ in rows]), ("已办结", [d for _, _, d in rows])])


def per_matter(stats: Stats, knowledge: Knowledge) -> str:
    names = [knowledge.matter[m].name.split("（")[0] if m in knowledge.matter else m for m, _ in stats.by_matter]
    return _horizontal("事项前十", names, [("工单", [n for _, n in stats.by_matter])])


def per_compound(stats: Stats) -> str:
    return _horizontal("小区前十", [p for p, _ in stats.by_compound], [("工单", [n for _, n in stats.by_compound])])
