"""Render time of every explorer view, moving between features as a researcher does:
`python -m splat_ui.bench --home H [--features 8]` (Streamlit AppTest, in process).

Per view: its first render (`first`: what it loads first, e.g. the model, is loaded then;
the views run in tab order in one process), then one render per feature, each a feature not
seen before (`move`: the cached reader and model are warm, that feature's tables and
computations are not), and a re-render of the last one (`again`). Times are the app
script's own (what the server spends per rerun); `AppTest` is the median wall time of
AppTest's run() around a move."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

APP = Path(__file__).resolve().parent / "app.py"


def measure(view: str, features: list[int]) -> dict:
    from streamlit.testing.v1 import AppTest

    from splat_ui.nav import RENDER_S

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["view"] = view
    at.query_params["feature"] = str(features[0])

    walls = []

    def run() -> float:
        t = time.perf_counter()
        at.run()
        walls.append(time.perf_counter() - t)
        if at.exception or at.error:
            raise RuntimeError(f"{view}: {[e.value for e in [*at.exception, *at.error]]}")
        return at.session_state[RENDER_S]

    first = run()
    moves = []
    for f in features[1:]:
        at.session_state["feature"] = f
        moves.append(run())
    again = run()
    return {
        "first": first,
        "median": statistics.median(moves),
        "max": max(moves),
        "again": again,
        "wall": statistics.median(walls[1:-1]),  # AppTest's run() around a move
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--home", required=True)
    p.add_argument("--features", type=int, default=8, help="features moved through per view")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--views", nargs="+", default=None, help="these views, in this order")
    args = p.parse_args(argv)
    os.environ["SPLAT_HOME"] = str(Path(args.home).resolve())
    from splat_core.query import Reader
    from splat_ui.views import VIEWS

    counts = Reader.open(args.home).feature_counts()
    firing = np.flatnonzero(counts)
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(firing, size=min(args.features * len(VIEWS) + 1, len(firing)), replace=False)
    picks = [int(np.argmax(counts)), *(int(f) for f in picks)]
    print(f"{'view':14}{'first':>8}{'move med':>10}{'move max':>10}{'again':>8}"
          f"{'AppTest':>9}  (seconds)")  # fmt: skip
    for i, view in enumerate(args.views or VIEWS):
        chunk = picks[i * args.features : (i + 1) * args.features + 1]  # unseen features
        r = measure(view, [picks[0], *chunk])
        print(f"{view:14}{r['first']:8.3f}{r['median']:10.3f}{r['max']:10.3f}{r['again']:8.3f}"
              f"{r['wall']:9.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
