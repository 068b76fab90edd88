"""End to end in a real headless Chromium: open the explorer at `?feature=N`, check the
numbers it shows against the query layer (its best explanation too), save a label, keep a
screenshot.

Needs Debian's `chromium` and `chromium-driver` (scripts/setup installs them) and selenium;
the screenshots go to test-artifacts/ (explorer.png; steer.png, compare.png and
feature-map.png)."""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np
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


STEER_PNG, COMPARE_PNG, MAP_PNG = (
    ROOT / "test-artifacts" / name for name in ("steer.png", "compare.png", "feature-map.png")
)


def _shot(browser, path, min_height: int = 1100) -> None:
    """The whole main area, as a person would scroll through it."""
    height = browser.execute_script(
        "return document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    browser.set_window_size(1500, min(max(min_height, int(height) + 120), 4000))
    time.sleep(1.0)  # let the charts re-layout at the new size
    browser.save_screenshot(str(path))
    browser.set_window_size(1500, 1100)
    assert path.stat().st_size > 10_000


def _metrics(browser) -> dict[str, str]:
    """The main area's metrics, label -> value ({} while a rerun is drawing them)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        main = browser.find_element(By.CSS_SELECTOR, '[data-testid="stMain"]')
        labels, values = (
            [e.text for e in main.find_elements(By.CSS_SELECTOR, f'[data-testid="{kind}"]')]
            for kind in ("stMetricLabel", "stMetricValue")
        )
    except StaleElementReferenceException:
        return {}
    return dict(zip(labels, values, strict=True)) if len(labels) == len(values) else {}


def test_steer_compare_and_map_in_chromium(explorer, browser, reader, feature):
    """Steer (the slider moved by keyboard), Compare (a second feature typed in), Map (a
    point clicked opens its feature); a screenshot of each."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from splat_core import investigate as inv

    wait = WebDriverWait(browser, 40)
    browser.get(f"{explorer}/?feature={feature}")
    wait.until(ec.visibility_of_element_located(
        (By.XPATH, f"//h3[starts-with(normalize-space(.), 'Feature {feature}')]")
    ))  # fmt: skip

    def tab(name):
        wait.until(ec.element_to_be_clickable(
            (By.XPATH, f"//*[@role='tab'][normalize-space(.)='{name}']")
        )).click()  # fmt: skip

    # Steer: the default ablates the feature; scale it to 5 with the keyboard
    tab("Steer")
    slider = '[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]'
    thumb = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, slider)))
    wait.until(lambda d: _metrics(d).get(f"feature {feature}") == "0.0000")
    browser.execute_script("arguments[0].focus()", thumb)  # the thumb, as a click would
    ActionChains(browser).send_keys(Keys.END).perform()  # the slider's top: scale 5
    top = reader.top_examples(feature, 1)[0]
    want = inv.steer_tokens(
        reader, top.weapon.weapon_id, top.tokens, [inv.FeatureEdit(feature, "scale", 5.0)]
    )
    after = f"{want['features'][0]['after']:.4f}"
    wait.until(lambda d: _metrics(d).get(f"feature {feature}") == after)
    changes = len(want["added"]) + len(want["removed"])
    assert _metrics(browser)["completion changes"] == str(changes)
    assert abs(want["changes"][0]["delta"]) > 0  # scale 5 moves the output
    _shot(browser, STEER_PNG)

    # Compare: type a second feature
    tab("Compare")
    g = int(next(x for x in np.argsort(-reader.feature_counts(), kind="stable") if x != feature))
    box = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, f'input[aria-label="Compare feature {feature} with feature"]')
    ))  # fmt: skip
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(g), Keys.ENTER)
    want = inv.compare_features(reader, feature, g)
    expected = {
        f"only {g}": f"{want['counts']['only_g']:,}",
        "both fire": f"{want['counts']['both']:,}",
        "decoder cosine": f"{want['decoder_cosine']:.3f}",
    }  # read together, once the page has settled on g
    wait.until(lambda d: {k: _metrics(d).get(k) for k in expected} == expected)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .scatterlayer .point"))
    _shot(browser, COMPARE_PNG)

    # Map: every feature a point; clicking one opens that feature
    tab("Map")
    points = inv.map_points(reader)
    caption = f"{points['n_features']:,} features placed by {points['method']}"
    wait.until(ec.visibility_of_element_located((By.XPATH, f"//*[contains(., '{caption}')]")))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .point"))
               >= points["n_features"])  # fmt: skip
    _shot(browser, MAP_PNG, min_height=1350)
    plot = browser.find_element(By.CSS_SELECTOR, ".js-plotly-plot")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", plot)
    time.sleep(1.0)  # the re-layout after the screenshot's resize
    # the point nearest the plot's centre that is not the selected feature, in div pixels
    target, dx, dy = browser.execute_script(
        """
        const gd = arguments[0], f = arguments[1], L = gd._fullLayout, xa = L.xaxis,
              ya = L.yaxis, cx = xa._offset + xa._length / 2, cy = ya._offset + ya._length / 2;
        let best = null;
        for (const t of gd.data) for (let i = 0; i < t.x.length; i++) {
          const id = t.customdata[i][0];
          const px = xa._offset + xa.l2p(t.x[i]), py = ya._offset + ya.l2p(t.y[i]);
          const d = (px - cx) ** 2 + (py - cy) ** 2;
          if (id !== f && (best === null || d < best[3])) best = [id, px, py, d];
        }
        return best.slice(0, 3);""",
        plot, feature,
    )  # fmt: skip
    rect = plot.rect
    ActionChains(browser).move_to_element_with_offset(
        plot, int(dx - rect["width"] / 2), int(dy - rect["height"] / 2)
    ).pause(0.5).click().perform()
    title = (
        f"//h3[normalize-space(.)='Feature {target}' or starts-with(normalize-space(.), "
        f"'Feature {target} ·')]"
    )
    wait.until(ec.visibility_of_element_located((By.XPATH, title)))
    overview = "//*[@role='tab'][@aria-selected='true'][normalize-space(.)='Overview']"
    wait.until(ec.visibility_of_element_located((By.XPATH, overview)))
