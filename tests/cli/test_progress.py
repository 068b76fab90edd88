"""The stage bars of `splat materialize`: drawn on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from splat_assets.runner import Step
from splat_cli.progress import WIDTH, StageBars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events():
    yield Step("samples+pooled", "samples+pooled [000]", 0, 2, 0.0, False)
    yield Step("samples+pooled", "samples+pooled [000]", 1, 2, 1.5, True)
    yield Step("samples+pooled", "samples+pooled [001]", 1, 2, 1.5, False)
    yield Step("samples+pooled", "samples+pooled [001]", 2, 2, 3.0, True)


def test_a_terminal_gets_one_bar_per_stage_redrawn_in_place():
    out = Terminal()
    bars = StageBars(out)
    for event in _events():
        bars(event)
    bars("after the stage")
    text = out.getvalue()
    frames = text.split("\r\033[K")[1:]
    assert len(frames) == 4 and text.count("\n") == 2  # the finished bar, then the line
    assert frames[1].startswith("samples+pooled") and f"{'█' * (WIDTH // 2)}" in frames[1]
    assert "1/2" in frames[1] and "1.5s" in frames[1]
    assert frames[3].startswith("samples+pooled") and "2/2" in frames[3]
    assert frames[3].split("\n")[0].endswith("done") and "█" * WIDTH in frames[3]
    assert text.endswith("after the stage\n")


def test_elsewhere_the_runners_plain_lines():
    out = io.StringIO()
    bars = StageBars(out)
    for event in _events():
        bars(event)
    lines = out.getvalue().splitlines()
    assert lines == [str(e) for e in _events()]
    assert lines[0] == "materializing samples+pooled [000]"
    assert lines[-1] == "  done samples+pooled [001] (2/2, 3.0s into the stage)"
