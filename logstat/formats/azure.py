"""What Azure's resource logs have in common, for Front Door and Application Gateway.

A diagnostic setting that archives to a storage account writes one JSON record per
line: `time` (or `timeStamp`), `resourceId`, `category`, `operationName`, and the
request under `properties`.  Each format reads its own category's properties.

https://learn.microsoft.com/en-us/azure/azure-monitor/essentials/resource-logs-schema
"""

from __future__ import annotations

from logstat.formats.json_records import Key
from logstat.formats.template import Converter, to_string, to_timestamp

TIMES = (
    Key(("time",), to_timestamp("%+"), ("timestamp",)),
    Key(("timeStamp",), to_timestamp("%+"), ("timestamp",)),
)
CATEGORY = Key(("category",), to_string("category"), ("category",), identifies=True)


def field(name: str, convert: Converter, columns: tuple[str, ...], identifies: bool = False) -> Key:
    """A value under `properties`."""
    return Key(("properties", name), convert, columns, identifies=identifies)
