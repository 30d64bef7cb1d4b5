"""Shared test setup.

Tests run under a non-UTC time zone so that any code that leans on local time
instead of UTC shows up as a failure.  What tests share is in tests/helpers.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["TZ"] = "Pacific/Chatham"  # UTC+12:45/+13:45: odd offsets catch local-time bugs
time.tzset()

from tests.helpers import SHARED_CORPUS  # noqa: E402  (after TZ: helpers import polars)
from tests.servers.chromium import Browser, chromium  # noqa: E402


@pytest.fixture
def corpus() -> Path:
    """../shared/corpus, the real-world logs; tests using it skip cleanly when it is absent."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip("../shared/corpus is not beside the repository")
    return SHARED_CORPUS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium, closed after the test (skips where there is none)."""
    opened = Browser(chromium(), tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()
