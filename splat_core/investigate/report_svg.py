"""Inline SVG charts for the static report (report.py): drawn here as text, so the page needs
no script, no plotting library and nothing fetched. Every piece of text is escaped.

The `<svg>` elements carry no `xmlns`: inline SVG in HTML5 needs none, and the page then
holds no URL at all."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BLUE, RED, GREY, INK = "#3b6fb6", "#c0504d", "#b8b8b8", "#333"


def _num(x: float) -> str:
    """Short numbers for tick labels."""
    if x == 0:
        return "0"
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def histogram_svg(bars: Sequence[dict], title: str, width: int = 460, height: int = 200) -> str:
    """Bars over [lo, hi) with their counts (linear scale); an empty note if no bars."""
    if not bars:
        return f'<p class="note">{escape(title)}: no firing samples.</p>'
    left, right, top, bottom = 44, 8, 8, 34
    w, h = width - left - right, height - top - bottom
    lo, hi = min(b["lo"] for b in bars), max(b["hi"] for b in bars)
    span = (hi - lo) or 1.0
    peak = max(b["count"] for b in bars) or 1
    body = [
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="{INK}"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="{INK}"/>',
    ]
    for b in bars:
        x0 = left + w * (b["lo"] - lo) / span
        bw = max(w * (b["hi"] - b["lo"]) / span - 1, 1)
        bh = h * b["count"] / peak
        tip = f"[{b['lo']:.4g}, {b['hi']:.4g}): {b['count']:,} samples"
        body.append(
            f'<rect x="{x0:.1f}" y="{top + h - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
            f'fill="{BLUE}"><title>{escape(tip)}</title></rect>'
        )
    for value, x, anchor in ((lo, left, "start"), (hi, left + w, "end")):
        body.append(_text(x, top + h + 14, _num(value), anchor))
    body.append(_text(left + w / 2, height - 4, "activation", "middle"))
    body.append(_text(left - 4, top + 10, _num(peak), "end"))
    body.append(_text(left - 4, top + h, "0", "end"))
    return _svg(width, height, body, title)


def hbar_svg(
    rows: Sequence[tuple[str, float]],
    title: str,
    color: str = BLUE,
    fmt: str = "{:+.3f}",
    width: int = 460,
) -> str:
    """Horizontal bars, one row per (label, value), lengths by |value|, value at the end."""
    if not rows:
        return f'<p class="note">{escape(title)}: none.</p>'
    label_w, value_w, row_h, top = 170, 64, 18, 4
    w = width - label_w - value_w
    peak = max(abs(v) for _, v in rows) or 1.0
    height = top + row_h * len(rows) + 4
    body = []
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        bw = max(w * abs(value) / peak, 1)
        body.append(_text(label_w - 6, y + 13, label, "end"))
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bw:.1f}" height="{row_h - 6}" '
            f'fill="{color}"><title>{escape(f"{label}: {fmt.format(value)}")}</title></rect>'
        )
        body.append(_text(label_w + bw + 4, y + 13, fmt.format(value), "start"))
    return _svg(width, height, body, title)


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11" '
        f'fill="{INK}">{escape(text)}</text>'
    )
