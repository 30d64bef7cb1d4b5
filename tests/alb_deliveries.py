"""ALB deliveries as ALB names and writes them to S3, for the object-storage tests.

AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/<account>_elasticloadbalancing_
<region>_app.<name>.<id>_<end time>_<ip>_<random>.log.gz, one 5-minute file an hour.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = f"AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
START = datetime(2026, 12, 1, tzinfo=UTC)
HOURS = 72  # three days, one object an hour


def alb_line(when: datetime, status: int, target: str) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (
        f"https {stamp} app/my-alb/50dc6c495c0c9188 192.0.2.10:40001 "
        f"{'10.0.0.1:80' if target != '-' else '-'} 0.000 0.010 0.000 {status} {target} 34 366 "
        f'"GET https://www.example.com:443/a HTTP/1.1" "curl/8.5.0" '
        "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web/73e2d6bc24d8a067 "
        '"Root=1-65e50000-0123456789abcdef01234567" "www.example.com" "-" 0 '
        f'{stamp} "forward" "-" "-" "10.0.0.1:80" "{target}" "-" "-" TID_0123456789abcdef'
    )


def deliveries() -> Iterator[tuple[str, bytes]]:
    """(key, gzipped content): one 5-minute file an hour, as ALB names them."""
    for hour in range(HOURS):
        end = START + timedelta(hours=hour, minutes=5)
        lines = [
            alb_line(end - timedelta(minutes=4, seconds=second), status, target)
            for second, (status, target) in enumerate(
                [(200, "200"), (200, "200"), (404, "404"), (502, "-"), (502, "502")][: 2 + hour % 4]
            )
        ]
        name = (
            f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.my-alb.50dc6c495c0c9188_"
            f"{end:%Y%m%dT%H%MZ}_192.0.2.200_{hour:08x}.log.gz"
        )
        key = f"{PREFIX}/{end:%Y/%m/%d}/{name}"
        yield key, gzip.compress(("\n".join(lines) + "\n").encode())
