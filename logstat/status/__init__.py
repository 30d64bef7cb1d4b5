"""Status-code meanings per vendor, as data with a source for every row, plus `tag()`."""

from logstat.status.registry import (
    CLASS_VENDOR,
    IANA,
    UNREGISTERED,
    Meaning,
    Registry,
    class_fallback,
    load_registry,
    status_class,
    tag,
)

__all__ = [
    "CLASS_VENDOR",
    "IANA",
    "UNREGISTERED",
    "Meaning",
    "Registry",
    "class_fallback",
    "load_registry",
    "status_class",
    "tag",
]
