"""Resident memory of this process (now, the peak so far, the peak of one step), and a timer
that records each step's seconds and memory."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


class RssPeak:
    """Samples this process's RSS every 20 ms in a thread: the peak of one step."""

    def __init__(self):
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())
        return {"rss_start_bytes": self.start, "rss_peak_bytes": self.peak,
                "rss_delta_bytes": self.peak - self.start}  # fmt: skip


def peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over fork and exec,
    so a child would report its parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


class StepTimer:
    """Runs named steps, recording seconds and RSS (start, peak, delta) per step in
    `figures`; a step over its limit in `limits` (seconds) is reported as slow."""

    def __init__(self, progress: Callable[[str], None], limits: dict[str, float] | None = None):
        self.progress, self.limits = progress, limits or {}
        self.figures: dict[str, dict] = {}

    def run(self, name: str, fn: Callable[[], object]):
        self.progress(f"materializing {name}")
        rss = RssPeak()
        start = time.perf_counter()
        try:
            out = fn()
        finally:
            seconds = time.perf_counter() - start
            self.figures[name] = {"seconds": round(seconds, 3), **rss.stop()}
        peak = self.figures[name]["rss_peak_bytes"] / 2**20
        self.progress(f"  done {name} in {seconds:.1f}s (peak RSS {peak:,.0f} MiB)")
        if seconds > self.limits.get(name, float("inf")):
            self.progress(f"  SLOW: {name} took {seconds:.0f}s (> {self.limits[name]:.0f}s)")
        return out
