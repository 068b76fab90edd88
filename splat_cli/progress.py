"""`splat materialize`'s progress: on a terminal, one bar per stage that fills as its runs
finish, with counts and elapsed time; elsewhere (a log, a pipe) the runner's plain lines."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 24  # bar cells


class StageBars:
    """Call with each runner event (splat_assets.runner.Step) or plain message."""

    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()
        self.open = False  # a bar is drawn on the current line

    def __call__(self, event) -> None:
        if not self.tty or not hasattr(event, "stage"):
            self._line(str(event))
            return
        filled = WIDTH * event.done // max(event.total, 1)
        bar = "█" * filled + "·" * (WIDTH - filled)
        state = "done" if event.done == event.total and event.finished else event.label
        text = f"{event.stage:28} {bar} {event.done}/{event.total} {event.seconds:6.1f}s  {state}"
        self.stream.write("\r\033[K" + text)  # redraw the line
        self.open = not (event.finished and event.done == event.total)
        if not self.open:
            self.stream.write("\n")
        self.stream.flush()

    def _line(self, text: str) -> None:
        if self.open:
            self.stream.write("\n")
            self.open = False
        self.stream.write(text + "\n")
        self.stream.flush()
