"""Tiny server-side SVG charts for the admin dashboard: no JavaScript, no static assets.

Every label may come from a client (a tool name, a username), so all text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

AXIS = "#666"
GRID = "#ddd"
FONT = 'font-family="sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def stacked_bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    ticks: Sequence[tuple[int, str]] = (),
    width: int = 900,
    height: int = 220,
    label: str = "",
) -> SafeString:
    """Vertical bars, one per category, each stacked from `series` (same length as `categories`).

    `ticks` are (category index, text) pairs written under the x axis.
    """
    left, right, top, bottom = 48, 8, 10, 22
    legend_height = 18 if series else 0
    plot_w = width - left - right
    plot_h = height - top - bottom - legend_height
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    y_max = _nice_max(max(totals, default=0))
    slot = plot_w / max(len(categories), 1)
    bar_w = max(slot * 0.8, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="audit-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">',
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h - fraction * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}" {FONT}>{_num(y_max * fraction)}</text>'
        )
    for i, category in enumerate(categories):
        base = top + plot_h
        x = left + i * slot + (slot - bar_w) / 2
        for s in series:
            value = s.values[i]
            if not value:
                continue
            h = value / y_max * plot_h
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{escape(s.color)}">'
                f"<title>{escape(category)}: {escape(s.name)} {_num(value)}</title></rect>"
            )
    for index, text in ticks:
        x = left + index * slot
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="{AXIS}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" fill="{AXIS}" {FONT}>{escape(text)}</text>')
    legend_y = height - 6
    x = left
    for s in series:
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{escape(s.color)}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}" {FONT}>{escape(s.name)}</text>')
        x += 22 + 7 * len(s.name)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def horizontal_bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    width: int = 440,
    bar_height: int = 18,
    color: str = "#447e9b",
    unit: str = "",
    label: str = "",
) -> SafeString:
    """One labelled horizontal bar per (label, value) item, longest value full width."""
    label_w, value_w, gap = 150, 70, 4
    height = max(len(items), 1) * (bar_height + gap) + gap
    plot_w = width - label_w - value_w
    v_max = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="audit-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">',
    ]
    if not items:
        parts.append(f'<text x="0" y="{bar_height}" fill="{AXIS}" {FONT}>No data</text>')
    for i, (name, value) in enumerate(items):
        y = gap + i * (bar_height + gap)
        shown = name if len(name) <= 24 else name[:23] + "…"
        w = max(value / v_max * plot_w, 1 if value else 0)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_height - 5}" text-anchor="end" {FONT}>'
            f"<title>{escape(name)}</title>{escape(shown)}</text>"
        )
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" fill="{escape(color)}">'
            f"<title>{escape(name)}: {_num(value)}{escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height - 5}" fill="{AXIS}" {FONT}>{_num(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
