"""Status-code meanings per vendor, as data with a source for every row, plus `tag()`."""

from logstat.status.classes import status_class
from logstat.status.producers import producer_label
from logstat.status.registry import (
    CLASS_VENDOR,
    IANA,
    PRODUCERS,
    PROXY,
    UNKNOWN,
    UNREGISTERED,
    UPSTREAM,
    Meaning,
    Registry,
    class_fallback,
    load_registry,
    producer_chain,
    tag,
)

__all__ = [
    "CLASS_VENDOR",
    "IANA",
    "PRODUCERS",
    "PROXY",
    "UNKNOWN",
    "UNREGISTERED",
    "UPSTREAM",
    "Meaning",
    "Registry",
    "class_fallback",
    "load_registry",
    "producer_chain",
    "producer_label",
    "status_class",
    "tag",
]
