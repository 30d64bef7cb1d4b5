"""The installed version, looked up only when asked for (importlib.metadata is slow)."""

from __future__ import annotations


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("logstat")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"
