"""Line charts as inline SVG, drawn on the server: no chart library and no JavaScript needed to read them."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Sequence

from markupsafe import Markup

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 52, 28, 40, 48
LEGEND_ROW = 18
PALETTE = ("#1f6fb4", "#d9730d", "#2a9d55", "#b5338a")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], y_max: float | None = None,
               y_label: str = "", percent: bool = False) -> Markup:
    """An SVG line chart with axes, grid, ticks and a legend; None values leave a gap in a line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    legend, legend_rows = _legend(series, TOP + plot_h + 34)
    height = HEIGHT + LEGEND_ROW * (legend_rows - 1)
    top = y_max if y_max is not None else _nice_max(max((v for s in series for v in s.values if v is not None),
                                                        default=0))
    n = len(x_labels)

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(value: float) -> float:
        return TOP + plot_h - (plot_h * value / top if top else 0)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{LEFT}" y="16" class="chart-title" font-size="14" font-weight="bold">{escape(title)}</text>']
    for step in range(5):
        value = top * step / 4
        tick = f"{value:.0%}" if percent else f"{value:g}"
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     f'stroke="#ddd" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#555">{tick}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#333"/>')
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#333"/>')
    if y_label:
        parts.append(f'<text x="12" y="{TOP + plot_h / 2:.1f}" font-size="11" fill="#555" text-anchor="middle" '
                     f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_label)}</text>')
    every = max(1, -(-n // 10))  # at most ~10 x labels, so they never overlap
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle" '
                         f'fill="#555">{escape(label)}</text>')
    for s in series:
        parts.extend(_line(s, x, y, x_labels))
    parts.extend(legend)
    if not n:
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" fill="#888">'
                     'no data yet</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _line(s: Series, x, y, x_labels: Sequence[str]) -> list[str]:  # type: ignore[no-untyped-def]
    dash = ' stroke-dasharray="6 4"' if s.dashed else ""
    parts, run = [], []
    for i, value in enumerate(list(s.values) + [None]):
        if value is None:
            if len(run) > 1:
                points = " ".join(f"{x(j):.1f},{y(v):.1f}" for j, v in run)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{s.color}" stroke-width="2"{dash}/>')
            run = []
        else:
            run.append((i, value))
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{s.color}">'
                         f'<title>{escape(s.name)} · {escape(x_labels[i])}: {value:g}</title></circle>')
    return parts


def _legend(series: Sequence[Series], baseline: float) -> tuple[list[str], int]:
    """Legend entries left to right, wrapping onto a new row before they would leave the chart."""
    parts, left, rows = [], LEFT, 1
    for s in series:
        width = 40 + 7 * len(s.name)
        if left + width > WIDTH - RIGHT and left > LEFT:
            left, baseline, rows = LEFT, baseline + LEGEND_ROW, rows + 1
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(f'<line x1="{left}" x2="{left + 24}" y1="{baseline - 4}" y2="{baseline - 4}" '
                     f'stroke="{s.color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{left + 30}" y="{baseline}" font-size="11" fill="#333">{escape(s.name)}</text>')
        left += width
    return parts, rows


def _nice_max(value: float) -> float:
    """A round axis top just above the largest value (so ticks read 0, 5, 10 … rather than 0, 3.25 …)."""
    if value <= 0:
        return 4
    for top in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 800, 1000, 2000, 4000, 10000):
        if value <= top:
            return top
    return value
