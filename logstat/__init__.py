"""logstat: count and explain the HTTP status codes in web access logs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("logstat")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
