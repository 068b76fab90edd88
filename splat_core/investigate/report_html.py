"""The static report (report.py's data) as one self-contained HTML page: inline CSS, charts
as inline SVG (report_svg.py), no script and no outside resource. All text is escaped here,
once, where it enters the page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from splat_core.domain.present import share, token_name
from splat_core.investigate.report_svg import BLUE, RED, hbar_svg, histogram_svg

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0 auto;
max-width:1000px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #3b6fb6;
padding-bottom:4px;margin-top:36px}h3{font-size:15px;margin:20px 0 6px}
.sub,.note{color:#666}.grid{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;margin:4px 0 8px}th,td{padding:2px 8px;text-align:left;
vertical-align:top}th{border-bottom:1px solid #999;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#f5f7fa}
.rule{font-family:ui-monospace,monospace;background:#f3f3f3;padding:2px 6px}
.box{border-left:4px solid #3b6fb6;background:#f7f9fc;padding:8px 12px;margin:8px 0}
.tag{display:inline-block;border-radius:8px;padding:0 8px;background:#e4ecf7;font-size:12px}
.small{font-size:12px}svg.chart{display:block}nav ul{columns:2}
"""

TARGET = {"fires": "where it fires", "strong": "its strong activations (>= median when firing)"}


def num(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.{digits}g}" if abs(x) < 1e5 else f"{x:,.0f}"


def table(header: Sequence[str], rows: Sequence[Sequence], numeric: Sequence[bool] = ()) -> str:
    """An HTML table; every cell is escaped (numbers formatted by the caller or num())."""
    numeric = list(numeric) + [False] * (len(header) - len(numeric))
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{escape(_cell(c))}</td>' if n else f"<td>{escape(_cell(c))}</td>"
            for c, n in zip(r, numeric, strict=False)
        ) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(c) -> str:
    return c if isinstance(c, str) else num(c)


def render_report_html(report: dict, title: str) -> str:
    feats = report["features"]
    prov = report["provenance"]
    nav = "".join(f'<li><a href="#feature-{f["feature_id"]}">{escape(f["title"])}</a></li>'
                  for f in feats)  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="sub">{len(feats)} feature{"s" * (len(feats) != 1)} · generation '
        f"{escape(str(prov['generation']))} · data version {escape(prov['data_version'])} · "
        f"splat {escape(prov['splat_version'])} · {escape(prov['created_at'])}</p>",
        f'<p class="note small">Population: {escape(report["population"])}.</p></header>',
        f"<nav><h3>Features</h3><ul>{nav}</ul></nav>",
        *(_feature(f) for f in feats),
        _provenance(prov),
        _definitions(report["definitions"]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _feature(f: dict) -> str:
    fid = f["feature_id"]
    return "\n".join([
        f'<section class="feature" id="feature-{fid}"><h2>{escape(f["title"])}</h2>',
        _label(f["label"]),
        _explanation(f["explanation"]),
        _stats(f["stats"], f["histogram"], fid),
        _tokens(f["tokens"]),
        _weapons(f["weapons"]),
        _influence(f["influence"], fid),
        _examples(f["examples"]),
        "</section>",
    ])  # fmt: skip


def _missing(asset: str) -> str:
    return f'<p class="note">{escape(asset)} is not materialized in this generation.</p>'


def _label(label: dict | None) -> str:
    if not label:
        return '<p class="note">No label.</p>'
    bits = [f"<strong>Label:</strong> {escape(label['name'])}"]
    if label.get("category") and label["category"] != "none":
        bits.append(f'<span class="tag">{escape(label["category"])}</span>')
    meta = f"version {label.get('version')}, source {label.get('source')}, " \
           f"updated {label.get('updated_at')}"  # fmt: skip
    notes = f"<p>{escape(label['notes'])}</p>" if label.get("notes") else ""
    return (f'<div class="box">{" ".join(bits)}{notes}'
            f'<p class="note small">{escape(meta)}</p></div>')  # fmt: skip


def _explanation(e: dict | None) -> str:
    if e is None:
        return _missing("feature_explanations")
    if e.get("rule") is None:
        return f'<p class="note">Best explanation: {escape(e.get("note", "none"))}.</p>'
    scores = (f"held-out F1 {num(e['f1'], 3)} (null {num(e['null_f1'], 3)}) · precision "
              f"{num(e['precision'], 3)} · recall {num(e['recall'], 3)} · AUROC "
              f"{num(e['auroc'], 3)} · target: {TARGET.get(e['target'], e['target'])} · "
              f"confidence: {e['confidence']} · "
              f"the rule holds on {share(e['coverage'] or 0)} of samples")  # fmt: skip
    return (f'<div class="box"><strong>Best explanation:</strong> {escape(e["sentence"])}'
            f'<p><code class="rule">{escape(e["rule"])}</code></p>'
            f'<p class="small">{escape(scores)}</p></div>')  # fmt: skip


STAT_ROWS = [("n_firing", "firing samples"), ("firing_rate", "fire rate"),
             ("mean_firing", "mean (firing)"), ("std_firing", "std (firing)"),
             ("mean_all", "mean (all samples)"), ("min", "min"), ("p50", "median"),
             ("p90", "p90"), ("p99", "p99"), ("p99_5", "p99.5"), ("max", "max")]  # fmt: skip


def _stats(s: dict, hist: dict, fid: int) -> str:
    rows = []
    for key, name in STAT_ROWS:
        value = s[key]
        if key == "firing_rate":
            text = f"{share(value)} ± {share(s['firing_rate_stderr'] or 0)} of {s['n_samples']:,}"
        elif key == "mean_firing" and value is not None and s["mean_firing_stderr"] is not None:
            text = f"{num(value)} ± {num(s['mean_firing_stderr'], 2)}"
        else:
            text = num(value)
        rows.append((name, text))
    chart = histogram_svg(hist["bars"], f"feature {fid}: histogram of nonzero activations")
    return (f'<div class="grid"><div><h3>Activation statistics</h3>'
            f'{table(["statistic", "value"], rows, [False, True])}</div>'
            f'<div><h3>Activation histogram</h3>{chart}'
            f'<p class="note small">{escape(hist["source"])}</p></div></div>')  # fmt: skip


def _tokens(t: dict | None) -> str:
    if t is None:
        return _missing("feature_tokens")
    head = ["token", "in top", "overall", "enrichment", "tf-idf"]
    out = [f'<h3>Tokens among the top {t["n_top"]:,} activations</h3><div class="grid">']
    for key, name in (("enhancers", "Enhancers"), ("suppressors", "Suppressors")):
        rows = [(token_name(r["token"]), share(r["rate_top"]), share(r["base_rate"]),
                 f"{r['enrichment']:.2f}×", num(r["tfidf"], 3)) for r in t[key]]  # fmt: skip
        body = table(head, rows, [False, True, True, True, True]) if rows else "<p>none</p>"
        out.append(f"<div><strong>{name}</strong>{body}</div>")
    return "".join(out) + "</div>"


def _weapons(w: list | None) -> str:
    if w is None:
        return _missing("feature_weapons")
    rows = [(r["name"], f"{r['count_top']:,}", share(r["rate_top"]), share(r["base_rate"]),
             f"{r['enrichment']:.2f}×") for r in w]  # fmt: skip
    head = ["weapon", "in top (count)", "in top", "overall", "enrichment"]
    body = table(head, rows, [False, True, True, True, True]) if rows else "<p>none</p>"
    return f"<h3>Weapons among the top activations</h3>{body}"


def _influence(i: dict | None, fid: int) -> str:
    if i is None:
        return _missing("feature_influence")
    title = lambda key: f"feature {fid}: output tokens it {key}"  # noqa: E731
    charts = [
        f"<div><strong>{name}</strong>"
        f"{hbar_svg([(token_name(r['token']), r['value']) for r in i[key]], title(key), color)}"
        "</div>"
        for key, name, color in (("raises", "Raises", BLUE), ("lowers", "Lowers", RED))
    ]
    return ("<h3>Output-logit effects</h3><p class=\"note small\">logit change per unit of "
            f"activation</p><div class=\"grid\">{''.join(charts)}</div>")  # fmt: skip


def _examples(examples: list[dict]) -> str:
    rows = [(e["rank"], num(e["activation"]), e["sample_id"], e["weapon"], e["build"])
            for e in examples]  # fmt: skip
    head = ["#", "activation", "sample", "weapon", "build"]
    body = table(head, rows, [True, True, True]) if rows else "<p>none</p>"
    return f"<h3>Top examples</h3>{body}"


def _provenance(p: dict) -> str:
    rows = [("home", p["home"]), ("generation", str(p["generation"])),
            ("data version", p["data_version"]), ("samples", p["n_samples"]),
            ("features", p["n_features"]), ("splat version", p["splat_version"]),
            ("created at", p["created_at"])]  # fmt: skip
    sae = p["sae"]
    config = [(k, str(v)) for k, v in sae["config"].items()]
    metrics = [(k, num(v)) for k, v in sae["metrics"].items()]
    versions = list(p["versions"].items())
    return "".join([
        '<section id="provenance"><h2>Provenance</h2>',
        table(["", "value"], rows),
        '<div class="grid"><div><h3>SAE</h3>',
        table(["setting", "value"], config) + table(["metric", "value"], metrics, [False, True]),
        "</div><div><h3>Asset versions</h3>",
        table(["asset", "version"], versions),
        "</div></div></section>",
    ])  # fmt: skip


def _definitions(d: dict) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in d.items())
    return f'<footer><h2>Definitions</h2><dl class="small">{items}</dl></footer>'
