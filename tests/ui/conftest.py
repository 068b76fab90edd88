"""AppTest of the explorer over the private tiny home (`home`, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

APP = Path(__file__).resolve().parents[2] / "splat_ui" / "app.py"


@pytest.fixture
def feature(reader) -> int:
    """The feature that fires most often (it has every kind of row)."""
    return int(np.argmax(reader.feature_counts()))


@pytest.fixture
def app(home):
    """An AppTest of the explorer; set query params, then `.run()`."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=60)
