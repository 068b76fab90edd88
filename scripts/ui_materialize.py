"""Materialize from the Dagster UI as a person does, in headless Chromium, and time it
against `splat materialize` on the same profile.

    python scripts/ui_materialize.py --profile tiny [--from job|graph]
        [--after unsynced|automation|schedule] [--json docs/bench/ui-materialize.json]

On a fresh SPLAT_HOME it starts `splat serve dagster`, opens the page (`job`: the
Pipeline job's page; `graph`: the global asset lineage), clicks "Materialize all",
chooses All partitions and launches the backfill, then follows the backfill's runs over
GraphQL until they end: runs launched and wall time from the click to the last run's end.
`--after` then retrains the SAE differently (the server restarted with another SAE seed,
`sae` materialized from its page) and brings the home current: `unsynced` clicks
"Materialize unsynced" (the automation sensor stopped), `automation` leaves it to the
follow_upstream sensor; either reports what was stale, what ran, and what is stale after,
by Dagster and by `splat info`; `schedule` restarts it with other sample settings (every
shard stale) and reads the partitions of the shard schedule's "Preview tick result".
The CLI's time is `splat materialize` on another fresh home, in the same session.
Needs chromium, chromedriver and selenium (scripts/setup).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "splat_assets.definitions"
MATERIALIZE_ALL = "Pipeline"  # splat_assets.definitions.MATERIALIZE_ALL (not imported: torch)
DONE = {"SUCCESS", "FAILURE", "CANCELED"}
POLL_S = 5.0  # how often runs are asked for: a run's end is known within this
CHANGED_SAE = ["sae.seed=1"]  # another SAE, trained the same way
CHANGED_SAMPLES = ["samples.seed=1"]  # every shard drawn otherwise: all stale


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="tiny")
    p.add_argument("--from", dest="origin", choices=["job", "graph"], default="job")
    p.add_argument(
        "--after",
        choices=["unsynced", "automation", "schedule"],
        default=None,
        help="then change the SAE and bring the home current this way, or make every shard "
        "stale and preview the shard schedule",
    )
    p.add_argument("--no-cli", action="store_true", help="skip the CLI timing")
    p.add_argument("--port", type=int, default=3311)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="keep the temporary homes")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="splat-ui-"))
    report: dict = {"profile": args.profile, "from": args.origin}
    try:
        home = work / "home"
        with Server(home, args.profile, args.port, work / "dagster.log") as server, Browser() as b:
            report["ui"] = materialize_all(b, server, args.origin)
            print(json.dumps(report["ui"], indent=1))
            if args.after:
                changed = CHANGED_SAMPLES if args.after == "schedule" else CHANGED_SAE
                server.restart(changed)
                scenario = {"unsynced": materialize_unsynced, "automation": automation,
                            "schedule": schedule_preview}  # fmt: skip
                report[args.after] = scenario[args.after](b, server, home, changed)
                print(json.dumps(report[args.after], indent=1))
        if not args.no_cli:
            report["cli_seconds"] = cli_seconds(work / "cli-home", args.profile)
            report["ratio_ui_to_cli"] = round(report["ui"]["seconds"] / report["cli_seconds"], 2)
        print(json.dumps(report, indent=1))
        if args.json:
            args.json.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    return 0


# -- the server -------------------------------------------------------------------------


class Server:
    """`splat serve dagster` (webserver + daemon) on a fresh home, on 127.0.0.1."""

    def __init__(self, home: Path, profile: str, port: int, log: Path):
        self.home, self.profile, self.port, self.log = home, profile, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.start([])
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self, overrides: list[str]) -> None:
        dagster_home = self.home.parent / "dagster_home"
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home),
               "SPLAT_DAGSTER_STORAGE": str(dagster_home / "storage"),
               "SPLAT_OVERRIDES": ";".join(overrides)}  # fmt: skip
        Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "splat_cli.main", "serve", "dagster", "--home",
               str(self.home), "--profile", self.profile, "--port", str(self.port)]  # fmt: skip
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log,
                                         start_new_session=True)  # fmt: skip
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if self.graphql("{ version }").get("version") and self._location_loaded():
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"dagster exited; see {self.log}")
            time.sleep(1)
        raise TimeoutError(f"the Dagster UI did not come up; see {self.log}")

    def _location_loaded(self) -> bool:
        q = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
        entries = self.graphql(q)["workspaceOrError"]["locationEntries"]
        return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def restart(self, overrides: list[str]) -> None:
        self.stop()
        self.start(overrides)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", body,
                                     {"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{e}: {e.read().decode()[:2000]}") from None
        if answer.get("errors"):
            raise RuntimeError(answer["errors"])
        return answer["data"]

    def stop_sensor(self, name: str) -> None:
        """As the toggle on the Automation page does."""
        q = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                 ... on Sensor { sensorState { id } } } }"""
        selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__",
                    "sensorName": name}  # fmt: skip
        state = self.graphql(q, {"s": selector})["sensorOrError"]["sensorState"]["id"]
        m = "mutation($id: String) { stopSensor(id: $id) { __typename } }"
        assert self.graphql(m, {"id": state})["stopSensor"]["__typename"].startswith("Stop")

    def unsynced(self) -> list[str]:
        """What Dagster itself calls stale or missing: assets, and partitions as name/key."""
        q = "{ assetNodes { assetKey { path } isPartitioned staleStatus } }"
        by_partition = """query($k: AssetKeyInput!) { assetNodeOrError(assetKey: $k) {
                            ... on AssetNode { partitionKeys staleStatusByPartition } } }"""
        out = []
        for node in self.graphql(q)["assetNodes"]:
            name = node["assetKey"]["path"][-1]
            if node["isPartitioned"]:
                n = self.graphql(by_partition, {"k": {"path": [name]}})["assetNodeOrError"]
                out += [f"{name}/{k}" for k, st in zip(n["partitionKeys"],
                        n["staleStatusByPartition"], strict=True) if st != "FRESH"]  # fmt: skip
            elif node["staleStatus"] != "FRESH":
                out.append(name)
        return sorted(out)

    def failure(self, run_id: str) -> str:
        """The first step failure's message of a run."""
        q = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
                 __typename ... on ExecutionStepFailureEvent { error { message } } } } } }"""
        events = self.graphql(q, {"id": run_id})["logsForRun"]["events"]
        failed = [e["error"]["message"] for e in events if e["__typename"].endswith("FailureEvent")
                  and e.get("error")]  # fmt: skip
        return failed[0].strip()[:400] if failed else ""

    def runs(self, since: float) -> list[dict]:
        q = """{ runsOrError(limit: 200) { ... on Runs { results {
                  runId status creationTime startTime endTime
                  tags { key value } assetSelection { path } } } } }"""
        runs = self.graphql(q)["runsOrError"]["results"]
        return [r for r in runs if r["creationTime"] >= since - 1]


def wait_runs(server: Server, since: float, expect_done: callable, timeout: float) -> list:
    """The runs created since `since`, once none is queued or running and `expect_done`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = server.runs(since)
        if runs and all(r["status"] in DONE for r in runs) and expect_done(server):
            return runs
        time.sleep(POLL_S)
    raise TimeoutError(f"runs still going after {timeout:.0f}s: {server.runs(since)}")


def backfills(server: Server) -> list[dict]:
    """The latest backfills, newest first: {id, status}."""
    q = """{ partitionBackfillsOrError(limit: 5) { ... on PartitionBackfills {
              results { id status } } } }"""
    return server.graphql(q)["partitionBackfillsOrError"]["results"]


def backfills_done(server: Server) -> bool:
    return all(b["status"] not in {"REQUESTED", "CANCELING"} for b in backfills(server))


def wait_new_backfill(server: Server, known: set[str], timeout: float = 60) -> None:
    """Until the UI's launch has created a backfill not in `known`."""
    deadline = time.time() + timeout
    while not {b["id"] for b in backfills(server)} - known:
        if time.time() > deadline:
            raise TimeoutError("the launch created no backfill")
        time.sleep(0.5)


# -- the browser ------------------------------------------------------------------------


class Browser:
    def __enter__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--window-size=1600,1100"):  # fmt: skip
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")),
                                       options=options)  # fmt: skip
        self.driver.set_page_load_timeout(60)
        return self.driver

    def __exit__(self, *_exc):
        self.driver.quit()


def click_text(driver, text: str, timeout: float = 60, tag: str = "button", prefix=False,
               click=True, within: str | None = None):  # fmt: skip
    """Click the first visible, enabled element `tag` whose text is `text` (or starts so),
    inside the element matching CSS `within` if given; returns it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    same = f"normalize-space(.)='{text}'"
    test = f"starts-with(normalize-space(.), '{text}')" if prefix else same
    xpath = f".//{tag}[{test}]"

    def ready(d):
        roots = d.find_elements(By.CSS_SELECTOR, within) if within else [d]
        for el in [e for r in roots for e in r.find_elements(By.XPATH, xpath)]:
            if el.is_displayed() and el.is_enabled():
                return el
        return False

    el = WebDriverWait(driver, timeout).until(ready)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
    if click:
        el.click()
    return el


def dismiss_welcome(driver) -> None:
    """A new instance greets the first visit with a survey over the page: skip it."""
    from selenium.common.exceptions import TimeoutException

    with contextlib.suppress(TimeoutException):
        click_text(driver, "Skip", timeout=8)


def shot(driver, name: str) -> None:
    out = ROOT / "test-artifacts" / f"ui-{name}.png"
    out.parent.mkdir(exist_ok=True)
    driver.save_screenshot(str(out))


# -- the scenarios ----------------------------------------------------------------------


def open_origin(driver, server: Server, origin: str) -> None:
    if origin == "job":
        driver.get(f"{server.url}/locations/{LOCATION}/jobs/{MATERIALIZE_ALL}")
    else:
        driver.get(f"{server.url}/asset-groups")
    dismiss_welcome(driver)


def materialize_all(driver, server: Server, origin: str) -> dict:
    open_origin(driver, server, origin)
    click_text(driver, "Materialize all", prefix=True)
    click_text(driver, "All")  # every partition (the dialog starts with none)
    shot(driver, f"materialize-all-{origin}")
    known = {b["id"] for b in backfills(server)}
    start = time.time()
    click_text(driver, "Launch backfill")
    wait_new_backfill(server, known)
    driver.get("about:blank")  # the live page would take CPU from the run on a small machine
    runs = wait_runs(server, start, backfills_done, timeout=3600)
    return summary(runs, start)


def change_sae(driver, server: Server, home: Path, overrides: list[str]) -> dict:
    """A changed SAE (the server runs with `overrides`), materialized from its page; what
    Dagster and `splat info` then call unsynced or stale."""
    driver.get(f"{server.url}/assets/sae")
    dismiss_welcome(driver)
    before = time.time()
    click_text(driver, "Materialize")
    wait_runs(server, before, lambda _s: True, timeout=900)
    return {"dagster_unsynced_before": server.unsynced(),
            "splat_stale_before": splat_info_stale(home, server.profile, overrides)}  # fmt: skip


def materialize_unsynced(driver, server: Server, home: Path, overrides: list[str]) -> dict:
    """After a changed SAE, "Materialize unsynced" from the lineage, with the automation
    sensor stopped first (or it would bring everything current itself)."""
    server.stop_sensor("follow_upstream")
    out = change_sae(driver, server, home, overrides)
    out.update(unsynced_round(driver, server))
    out["dagster_unsynced_after"] = server.unsynced()
    out["splat_stale_after"] = splat_info_stale(home, server.profile, overrides)
    return out


def automation(driver, server: Server, home: Path, overrides: list[str]) -> dict:
    """After a changed SAE, nothing clicked: the follow_upstream sensor (on by default)
    until neither Dagster nor `splat info` calls anything stale."""
    out = change_sae(driver, server, home, overrides)
    start = time.time()
    while time.time() - start < 1200:
        if not server.unsynced() and not splat_info_stale(home, server.profile, overrides):
            break
        time.sleep(5)
    runs = wait_runs(server, start, backfills_done, timeout=600)
    out.update(summary(runs, start))
    out["dagster_unsynced_after"] = server.unsynced()
    out["splat_stale_after"] = splat_info_stale(home, server.profile, overrides)
    return out


def unsynced_round(driver, server: Server) -> dict:
    """Lineage, the menu beside "Materialize all...", "Materialize unsynced", launch."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    driver.get(f"{server.url}/asset-groups")
    dismiss_welcome(driver)
    caret = click_text(driver, "Materialize all", prefix=True, click=False)
    caret.find_element(By.XPATH, "following::button[1]").click()
    click_text(driver, "Materialize unsynced", tag="*[self::a or self::button]", prefix=True)
    launch = click_text(driver, "Materialize ", prefix=True, tag="button", click=False,
                        within=".bp5-dialog")  # fmt: skip
    dialog = driver.find_element(By.CSS_SELECTOR, ".bp5-dialog").text.splitlines()
    chosen = [line for line in dialog[2:-1] if line.strip()]
    shot(driver, "materialize-unsynced")
    start = time.time()
    launch.click()
    try:  # partitioned assets among them: the partitions dialog, all of them
        click_text(driver, "All", timeout=10)
        click_text(driver, "Launch backfill")
    except TimeoutException:
        pass  # none: one run was launched at once
    runs = wait_runs(server, start, backfills_done, timeout=1800)
    errors = [server.failure(r["runId"]) for r in runs if r["status"] == "FAILURE"]
    return {"chosen": chosen, **summary(runs, start), "errors": errors}


def schedule_preview(driver, server: Server, home: Path, overrides: list[str]) -> dict:
    """Every shard stale (the server restarted with other sample settings): the schedule's
    "Preview tick result", and the partition in each requested run's tags (the table lists
    only the target job; its "Preview run config and tags" button shows the tags)."""
    from selenium.webdriver.common.by import By

    driver.get(f"{server.url}/locations/{LOCATION}/schedules/backfill_stale_shards")
    dismiss_welcome(driver)
    click_text(driver, "Preview tick result")
    click_text(driver, "Continue")
    click_text(driver, "Launch all", prefix=True, click=False)  # the result is shown
    shot(driver, "schedule-preview")
    partitions = []
    for i in range(len([b for b in driver.find_elements(By.CSS_SELECTOR, ".bp5-dialog button")
                        if not b.text.strip()])):  # fmt: skip
        [b for b in driver.find_elements(By.CSS_SELECTOR, ".bp5-dialog button")
         if not b.text.strip()][i].click()  # fmt: skip
        tags = click_text(driver, "Copy tags", click=False).find_element(
            By.XPATH, "ancestor::*[contains(@class, 'bp5-dialog')]").text  # fmt: skip
        partitions += [line.split(": ", 1)[1] for line in tags.splitlines()
                       if line.startswith("partition: ")]  # fmt: skip
        click_text(driver, "OK")
    return {"stale_shards": splat_info_stale(home, server.profile, overrides),
            "preview_partitions": partitions}  # fmt: skip


def splat_info_stale(home: Path, profile: str, overrides: list[str]) -> list[str]:
    """What `splat info` calls stale: assets, and partitions as name/key."""
    sets = [a for o in overrides for a in ("--set", o)]
    out = subprocess.run([sys.executable, "-m", "splat_cli.main", "info", "--home", str(home),
                          "--profile", profile, *sets, "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True)  # fmt: skip
    stale = []
    for name, entry in json.loads(out.stdout).items():
        if entry.get("stale"):
            stale.append(name)
        stale += [f"{name}/{k}" for k, p in entry.get("partitions", {}).items() if p.get("stale")]
    return sorted(stale)


def summary(runs: list[dict], start: float) -> dict:
    """Runs launched; seconds from the click to the last run's end, and how they split:
    waiting for the backfill daemon to submit the first run, the run processes starting,
    running."""
    end = max(r["endTime"] or time.time() for r in runs)
    first = min(r["creationTime"] for r in runs)
    started = sum((r["startTime"] or first) - r["creationTime"] for r in runs)
    return {"runs": len(runs), "statuses": sorted({r["status"] for r in runs}),
            "seconds": round(end - start, 1), "until_submitted": round(first - start, 1),
            "starting": round(started, 1),
            "running": round(sum((r["endTime"] or end) - (r["startTime"] or end) for r in runs), 1),
            "assets_per_run": [len(r["assetSelection"] or []) for r in runs]}  # fmt: skip


def cli_seconds(home: Path, profile: str) -> float:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home.parent / "cli-dagster"),
        "SPLAT_DAGSTER_STORAGE": str(home.parent / "cli-dagster" / "storage"),
    }
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    start = time.time()
    subprocess.run([sys.executable, "-m", "splat_cli.main", "materialize", "--home", str(home),
                    "--profile", profile], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return round(time.time() - start, 1)


if __name__ == "__main__":
    sys.exit(main())
