"""Readable tables for the investigation commands (their `--json` prints the dicts as they
are)."""

from __future__ import annotations


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows: list[dict], cols: list[tuple[str, str]], title: str | None = None) -> None:
    """Aligned columns (header, key); numbers right-aligned."""
    if title:
        print(f"\n{title}")
    if not rows:
        print("  (none)")
        return
    cells = [[str(r.get(k)) if k.endswith("_id") else fmt(r.get(k)) for _, k in cols] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _) in enumerate(cols)]
    num = [
        all(isinstance(r.get(k), int | float) or r.get(k) is None for r in rows) for _, k in cols
    ]

    def line(values):
        return (
            "  "
            + "  ".join(
                v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, num, strict=True)
            ).rstrip()
        )

    print(line([h for h, _ in cols]))
    for c in cells:
        print(line(c))


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"
