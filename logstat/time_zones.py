"""The time zone a report is shown in (`--tz`, `LOGSTAT_TZ`): by default the machine's
local zone, as `date` uses; IANA names (Europe/Paris), `UTC` and `local` are accepted.

Counting never depends on it: records keep their instant (UTC), JSON stays in UTC.
It decides how the text, rich and Markdown views show times, and how `--since` and
`--until` without an offset are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logstat.errors import ExitCode, LogstatError

LOCAL = "local"
ENVIRONMENT = "LOGSTAT_TZ"
_LOCALTIME = Path("/etc/localtime")


@dataclass(frozen=True)
class DisplayZone:
    """A zone and the name the views print for it."""

    name: str  # "UTC", "Europe/Paris"
    zone: tzinfo

    @property
    def is_utc(self) -> bool:
        return self.name == "UTC"

    def show(self, moment: datetime) -> str:
        """`2026-11-20 22:00:05 UTC`, or `2026-11-20 23:00:05 +0100` in another zone."""
        if self.is_utc:
            return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %z")


UTC_ZONE = DisplayZone("UTC", UTC)


def resolve(text: str | None) -> DisplayZone:
    """The --tz value (None: local) -> DisplayZone; an unknown name is a usage error."""
    value = (text or LOCAL).strip()
    if value.lower() == LOCAL:
        return local_zone()
    if value.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC_ZONE
    zone = _zone(value)
    if zone is None:
        raise LogstatError(
            f"--tz {value!r}: not a time zone; expected an IANA name such as "
            "Europe/Paris or America/New_York, UTC, or local",
            ExitCode.USAGE,
        )
    return _named(value, zone)


def local_zone() -> DisplayZone:
    """The machine's zone as `date` finds it: $TZ, else /etc/localtime; else UTC."""
    variable = os.environ.get("TZ")
    if variable is not None:
        name = variable.removeprefix(":")
        if not name:
            return UTC_ZONE  # TZ= (empty) is UTC for date and the C library
        key = _key_from_path(name) if name.startswith("/") else name
        zone = _zone(key) if key else None
        return _named(key, zone) if key and zone is not None else UTC_ZONE
    key = _key_from_path(str(_LOCALTIME))
    zone = _zone(key) if key else None
    return _named(key, zone) if key and zone is not None else UTC_ZONE


def _named(name: str, zone: tzinfo) -> DisplayZone:
    # Etc/UTC, UCT, Zulu ...: shown as UTC like the explicit name
    if name.upper() in ("UTC", "ETC/UTC", "UCT", "ETC/UCT", "ZULU", "ETC/ZULU", "UNIVERSAL"):
        return UTC_ZONE
    return DisplayZone(name, zone)


def _zone(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _key_from_path(path: str) -> str | None:
    """/usr/share/zoneinfo/Europe/Paris (or a link to it) -> Europe/Paris."""
    try:
        resolved = os.path.realpath(path)
    except OSError:
        return None
    marker = "/zoneinfo/"
    if marker not in resolved:
        return None
    key = resolved.split(marker, 1)[1]
    return key.removeprefix("posix/").removeprefix("right/") or None
