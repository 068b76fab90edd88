"""The static report as its reader opens it: a file in headless Chromium, offline. Every
feature's section and chart renders with a size, nothing is fetched from anywhere, the
browser logs no error, and the links of the contents jump to their feature. Screenshot:
test-artifacts/report.png."""

from __future__ import annotations

import pytest

from splat_core.investigate.report import feature_report, render_report_html
from tests.helpers import CHROMIUM, DRIVER, ROOT

ARTIFACT = ROOT / "test-artifacts" / "report.png"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium + chromium-driver missing: run scripts/setup"
)


def test_report_renders_offline_in_chromium(browser, tiny_reader, tmp_path):
    from selenium.webdriver.common.by import By

    counts = tiny_reader.feature_counts()
    ids = [int(f) for f in counts.argsort()[::-1][:3]]
    report = feature_report(tiny_reader, ids, top_k=5, n_examples=5)
    page = tmp_path / "report.html"
    page.write_text(render_report_html(report, "Three features"), encoding="utf-8")
    browser.get(page.as_uri())
    assert browser.title == "Three features"
    sections = browser.find_elements(By.CSS_SELECTOR, "section.feature")
    assert [s.get_attribute("id") for s in sections] == [f"feature-{f}" for f in ids]
    charts = browser.find_elements(By.CSS_SELECTOR, "svg")
    assert len(charts) >= len(ids)  # a histogram at least per feature
    for chart in charts:
        size = chart.size
        assert size["width"] > 100 and size["height"] > 50, chart.get_attribute("outerHTML")[:80]
        assert chart.find_elements(By.CSS_SELECTOR, "rect")  # bars drawn
    # the firing counts shown are the report's (which test_report.py checks against the store)
    text = browser.find_element(By.TAG_NAME, "body").text
    for feature in report["features"]:
        assert f"{feature['stats']['n_firing']:,}" in text
    fetched = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert fetched == 0  # no stylesheet, script, font or image from anywhere
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    browser.find_element(By.CSS_SELECTOR, f'a[href="#feature-{ids[-1]}"]').click()
    assert browser.execute_script("return location.hash") == f"#feature-{ids[-1]}"
    ARTIFACT.parent.mkdir(exist_ok=True)
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 40, 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(ARTIFACT))
    assert ARTIFACT.stat().st_size > 20_000
