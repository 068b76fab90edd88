"""End to end in a real headless Chromium: open the explorer at `?feature=N`, check the
numbers it shows against the query layer (its best explanation too), save a label, keep a
screenshot.

Needs Debian's `chromium` and `chromium-driver` (scripts/setup installs them) and selenium;
the screenshot goes to test-artifacts/explorer.png."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from splat_cli.serve import ui_command
from splat_core.labels import LabelStore
from tests.helpers import CHROMIUM, DRIVER, ROOT, answers, free_port, wait_for

ARTIFACT = ROOT / "test-artifacts" / "explorer.png"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="chromium + chromium-driver missing: run scripts/setup"
)


@pytest.fixture
def explorer(home):
    port = free_port()
    env = {**os.environ, "SPLAT_HOME": str(home)}
    proc = subprocess.Popen(
        ui_command("127.0.0.1", port), env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        health = f"http://127.0.0.1:{port}/_stcore/health"
        wait_for(lambda: answers(health), 40, "the explorer", [proc])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_explorer_in_chromium(explorer, browser, home, reader, feature):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(f"{explorer}/?feature={feature}")
    title = (By.XPATH, f"//h3[starts-with(normalize-space(.), 'Feature {feature}')]")
    wait.until(ec.visibility_of_element_located(title))
    wait.until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')) == 4
    )

    # the numbers shown are the query layer's
    labels = [
        e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]')
    ]
    values = [
        e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')
    ]
    shown = dict(zip(labels, values, strict=True))
    stats = reader.stats(feature)
    assert shown["fires on"] == f"{int(reader.feature_counts()[feature]):,}"
    assert shown["mean when firing"] == f"{stats['mean_nonzero']:.4f}"
    assert shown["max"] == f"{stats['max']:.4f}"
    assert shown["p99.5"] == f"{stats['p99_5']:.4f}"

    # the best explanation at the top; its other rules and examples open on a click
    best = reader.explanations(feature)[0]
    wait.until(ec.visibility_of_element_located((By.XPATH, "//*[text()='Best explanation']")))
    page = browser.find_element(By.CSS_SELECTOR, '[data-testid="stMain"]').text
    assert best["sentence"] in page
    assert f"held-out F1 {best['f1']:.3f} vs null {best['null_f1']:.3f}" in page
    browser.find_element(By.XPATH, "//summary[contains(., 'hard negatives')]").click()
    wait.until(ec.visibility_of_element_located(
        (By.XPATH, "//*[@role='tab'][contains(., 'Hard negatives')]")
    ))  # fmt: skip

    # save a label through the sidebar form
    name = browser.find_element(
        By.CSS_SELECTOR, 'section[data-testid="stSidebar"] input[aria-label="name"]'
    )
    name.send_keys("Browser-made label")
    notes = browser.find_element(By.CSS_SELECTOR, 'section[data-testid="stSidebar"] textarea')
    notes.send_keys("typed in Chromium")
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Save label']").click()
    wait.until(ec.visibility_of_element_located(
        (By.XPATH, f"//*[contains(text(), 'Saved label of feature {feature}')]")
    ))  # fmt: skip
    wait.until(ec.visibility_of_element_located(
        (By.XPATH, f"//h3[contains(., 'Feature {feature} · Browser-made label')]")
    ))  # fmt: skip
    label = LabelStore.open(home).get(feature)
    assert (label.name, label.notes, label.source, label.version) == (
        "Browser-made label", "typed in Chromium", "ui", 1,
    )  # fmt: skip

    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script(
        "return document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    browser.set_window_size(1500, max(1100, int(height) + 120))
    time.sleep(1.0)  # let the charts re-layout at the new size
    browser.save_screenshot(str(ARTIFACT))
    assert ARTIFACT.stat().st_size > 10_000
