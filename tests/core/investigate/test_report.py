"""The static feature report: its numbers against direct computations on the activation
CSR shards (not the CSC store the report reads), the model's weights and the stored files;
the page parses, escapes every text and refers to nothing outside itself."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from splat_core import __version__
from splat_core.domain.present import build_text
from splat_core.investigate.compare import logit_histogram
from splat_core.investigate.report import feature_report, render_report_html
from splat_core.labels import LabelStore
from splat_core.query import UnknownFeatureError

VOID = {"meta", "br", "hr", "img", "input", "link"}  # HTML void elements; SVG ones self-close


def dense_column(reader, f: int) -> np.ndarray:
    """Feature f over all samples, from the activation CSR shards (by sample)."""
    out = np.zeros(reader.n_samples, np.float32)
    for s in reader.activation_shards():
        rows = s.row_slice(0, s.shape[0]).toarray()
        out[s.sample_start : s.sample_start + s.shape[0]] = rows[:, f]
    return out


class TagChecker(HTMLParser):
    """Every element the page opens is closed, in order; collects src/href values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.links, self.tags, self.errors = [], [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.links += [v for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def check_page(html: str) -> TagChecker:
    p = TagChecker()
    p.feed(html)
    p.close()
    assert html.startswith("<!DOCTYPE html>")
    assert not p.errors and not p.stack, (p.errors, p.stack)
    assert "script" not in p.tags and "iframe" not in p.tags
    # nothing fetched: links only to anchors of the page itself, no URL anywhere
    assert all(link.startswith("#") for link in p.links), p.links
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|url\(", html, re.I)
    return p


@pytest.fixture(scope="module")
def tiny_report(tiny_reader):
    counts = tiny_reader.feature_counts()
    ids = [int(f) for f in np.argsort(-counts, kind="stable")[:2]] + [int(np.argmin(counts))]
    return ids, feature_report(tiny_reader, [*ids, ids[0]], top_k=5, n_examples=8)


def test_numbers_match_direct_computations(tiny_reader, tiny_report):
    r, (ids, rep) = tiny_reader, tiny_report
    assert [f["feature_id"] for f in rep["features"]] == ids  # order kept, duplicate dropped
    assert json.loads(json.dumps(rep)) == rep  # pure data
    n = r.n_samples
    for feat in rep["features"]:
        f = feat["feature_id"]
        a = dense_column(r, f)
        nz = a[a > 0]
        s = feat["stats"]
        assert (s["n_samples"], s["n_firing"]) == (n, len(nz))
        assert s["firing_rate"] == pytest.approx(len(nz) / n)
        p = len(nz) / n
        assert s["firing_rate_stderr"] == pytest.approx(math.sqrt(p * (1 - p) / n))
        bars = feat["histogram"]["bars"]
        assert sum(b["count"] for b in bars) == len(nz)
        if len(nz):
            assert s["max"] == pytest.approx(nz.max()) and s["min"] == pytest.approx(nz.min())
            assert s["mean_firing"] == pytest.approx(nz.mean(), rel=1e-5)
            assert s["std_firing"] == pytest.approx(nz.std(), rel=1e-4)
            assert s["mean_firing_stderr"] == pytest.approx(nz.std() / math.sqrt(len(nz)), 1e-4)
            assert s["p50"] == pytest.approx(np.quantile(nz, 0.5), rel=1e-5)
            assert bars[0]["lo"] == pytest.approx(nz.min()) and bars[-1]["hi"] >= nz.max() - 1e-6
        ex = feat["examples"]
        assert len(ex) == min(8, len(nz))
        want = np.sort(nz)[::-1][: len(ex)]
        assert [e["activation"] for e in ex] == pytest.approx(want.tolist())
        for e in ex:  # each one is the stored activation of its sample, its build as read
            assert e["activation"] == pytest.approx(a[e["sample_id"]])
            assert e["build"] == build_text(r.sample(e["sample_id"])["tokens"])
        best = r.explanations(f)
        if best:
            for key in ("rule", "f1", "precision", "recall", "target"):
                assert feat["explanation"][key] == best[0][key]
        inf = logit_histogram(r, f, top_k=5)  # W_out . d_f from the model's weights
        got = [(x["token"], x["value"]) for x in feat["influence"]["raises"]]
        for (tok, value), w in zip(got, inf["top_positive"], strict=False):
            assert (tok, value) == (w["token"], pytest.approx(w["value"], abs=1e-5))
        assert len(feat["weapons"]) <= 5 and len(feat["tokens"]["enhancers"]) <= 5


def test_provenance_names_the_exact_versions(tiny_reader, tiny_report):
    r, prov = tiny_reader, tiny_report[1]["provenance"]
    assert prov["versions"] == r.versions and prov["generation"] == r.generation
    assert prov["data_version"] == r.data_version and prov["splat_version"] == __version__
    sae_dir = r.path("sae")
    config = json.loads((sae_dir / "sae_config.json").read_text())
    metrics = json.loads((sae_dir / "metrics.json").read_text())
    assert prov["sae"]["config"] == config and config["arch"]
    assert prov["sae"]["metrics"]["explained_variance"] == metrics["explained_variance"]
    assert set(prov["sae"]["metrics"]) >= {"explained_variance", "loss_recovered", "mean_l0"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prov["created_at"])


def test_page_parses_and_shows_the_numbers(tiny_reader, tiny_report):
    ids, rep = tiny_report
    html = render_report_html(rep, "Report <draft> & notes")
    page = check_page(html)
    assert "<title>Report &lt;draft&gt; &amp; notes</title>" in html
    assert {"svg", "rect", "table", "section"} <= page.tags
    for f in ids:
        assert f'id="feature-{f}"' in html and f'href="#feature-{f}"' in html
    for version in rep["provenance"]["versions"].values():
        assert version in html
    first = rep["features"][0]
    assert f"of {first['stats']['n_samples']:,}" in html
    assert f"{first['stats']['n_firing']:,}" in html


def test_labels_are_escaped_and_missing_tables_noted(home, reader):
    store = LabelStore.open(home)
    store.set(2, name="<script>alert(1)</script>", notes='a "quote" & <b>', category="none")
    rep = feature_report(reader, [2], top_k=3, n_examples=2)
    assert rep["features"][0]["label"]["name"] == "<script>alert(1)</script>"
    html = render_report_html(rep, "t")
    check_page(html)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;quote&quot; &amp; &lt;b&gt;" in html


def test_a_home_without_analysis_tables(investigation_reader, investigation_home):
    a = investigation_home[3]
    rep = feature_report(investigation_reader, [1], n_examples=3)
    feat = rep["features"][0]
    assert feat["tokens"] is None and feat["influence"] is None and feat["explanation"] is None
    nz = a[:, 1][a[:, 1] > 0]
    assert sum(b["count"] for b in feat["histogram"]["bars"]) == len(nz)
    assert "feature store" in feat["histogram"]["source"]
    html = render_report_html(rep, "t")
    check_page(html)
    assert "feature_tokens is not materialized" in html


def test_bad_requests(tiny_reader):
    with pytest.raises(UnknownFeatureError, match="unknown feature id 100000"):
        feature_report(tiny_reader, [0, 100000])
    with pytest.raises(ValueError, match="no features"):
        feature_report(tiny_reader, [])
    with pytest.raises(ValueError, match="top_k"):
        feature_report(tiny_reader, [0], top_k=0)
