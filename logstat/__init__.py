"""logstat: count and explain the HTTP status codes in web access logs."""


def __getattr__(name: str) -> str:
    # the version is looked up only when asked for: importlib.metadata costs start-up time
    if name != "__version__":
        raise AttributeError(f"module 'logstat' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logstat")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


__all__ = ["__version__"]
