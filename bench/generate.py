"""Seeded, repeatable access logs for every format logstat reads, with ground truth.

Requests are drawn in batches as polars columns (a skewed pool of clients and
paths, real user agents, IPv6 clients, quotes that need escaping, a status mix
with the odd codes each source logs) and each format renders them into lines
with one small function.  The same seed and line count give the same bytes.
Beside every log, `<log>.truth.json` holds the status counts it contains.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import numpy
import polars as pl

VERSION = 2  # bump when the output for a seed changes, so cached logs are remade
BATCH_LINES = 200_000  # fixed, so a file's bytes do not depend on memory settings
START = datetime(2026, 3, 1, tzinfo=UTC)
SECONDS_PER_LINE = 0.02  # 50 requests/s: 5M lines span about three days
COMPRESSIONS = ("", ".gz", ".zst")

# Shared by every source; each format adds the codes only its server writes.
BASE_STATUSES = {
    200: 0.780,
    201: 0.004,
    204: 0.010,
    206: 0.004,
    301: 0.020,
    302: 0.022,
    304: 0.060,
    400: 0.005,
    401: 0.006,
    403: 0.008,
    404: 0.040,
    405: 0.001,
    408: 0.001,
    413: 0.0003,
    429: 0.004,
    500: 0.003,
    502: 0.003,
    503: 0.002,
    504: 0.002,
}

# Real user agents, weighted; two carry quotes that the servers must escape.
USER_AGENTS = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36": 30,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15": 12,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1": 14,
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36": 10,
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0": 6,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0": 5,
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": 4,
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)": 2,
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)": 1,
    "curl/8.5.0": 3,
    "python-requests/2.32.3": 2,
    "Go-http-client/2.0": 2,
    "okhttp/4.12.0": 2,
    "Prometheus/2.53.0": 1,
    "kube-probe/1.30": 2,
    "ELB-HealthChecker/2.0": 1,
    'Mozilla/5.0 (compatible; "Scanner" 1.0)': 0.5,
    'masscan/1.3 (https://github.com/robertdavidgraham/masscan) "quoted"': 0.2,
    "-": 1,
}

REFERERS = [
    "https://www.google.com/",
    "https://www.bing.com/search?q=order+status",
    "https://duckduckgo.com/",
    "https://shop.example.com/",
    "https://shop.example.com/cart",
    "https://shop.example.com/products/blue-widget?ref=home",
    "https://t.co/abc123",
    "android-app://com.google.android.gm/",
]
HOSTS = ["shop.example.com", "api.example.com", "static.example.com", "www.example.com"]
METHODS = {"GET": 0.82, "POST": 0.10, "HEAD": 0.03, "PUT": 0.02, "OPTIONS": 0.015, "DELETE": 0.01}
PROTOCOLS = {"HTTP/1.1": 0.70, "HTTP/2.0": 0.25, "HTTP/1.0": 0.05}
CLIENTS = 50_000
PATHS = 20_000
ZIPF_EXPONENT = 1.1  # a few clients and paths take most requests, as on real sites


def _zipf_weights(count: int) -> numpy.ndarray:
    weights = 1.0 / numpy.arange(1, count + 1, dtype=numpy.float64) ** ZIPF_EXPONENT
    return weights / weights.sum()


def _normalised(weights: dict[int, float] | dict[str, float]) -> tuple[list, numpy.ndarray]:  # type: ignore[type-arg]
    keys = list(weights)
    values = numpy.array([weights[key] for key in keys], dtype=numpy.float64)  # type: ignore[index]
    return keys, values / values.sum()


@dataclass(frozen=True)
class Pools:
    """The fixed population requests are drawn from (the same for every seed)."""

    clients: pl.Series
    paths: pl.Series

    @staticmethod
    def build() -> Pools:
        rng = numpy.random.default_rng(20260301)
        v4 = [
            f"{a}.{b}.{c}.{d}"
            for a, b, c, d in rng.integers([1, 0, 0, 1], [224, 256, 256, 255], (CLIENTS, 4))
        ]
        # about one client in six speaks IPv6
        v6 = [
            "2001:db8::" + ":".join(f"{part:x}" for part in parts)
            for parts in rng.integers(0, 65536, (CLIENTS // 6, 3))
        ]
        clients = v4[: CLIENTS - len(v6)] + v6
        order = rng.permutation(len(clients))
        words = ["blue", "red", "widget", "gadget", "sale", "summer", "kids", "garden", "pro"]
        paths = [
            "/",
            "/favicon.ico",
            "/robots.txt",
            "/healthz",
            "/api/v1/session",
            "/wp-login.php",
        ]
        while len(paths) < PATHS:
            kind = len(paths) % 7
            number = int(rng.integers(1, 100_000))
            word = words[number % len(words)]
            paths.append(
                [
                    f"/api/v1/orders/{number}",
                    f"/static/js/app.{number:08x}.js",
                    f"/images/products/{word}-{number}.webp",
                    f"/products/{word}-{number}?page={number % 9 + 1}&sort=price",
                    f"/search?q={word}+{number}&lang=en",
                    # a search for a quoted phrase: the quotes reach the log escaped
                    f'/search?q="{word}"&page={number % 5}',
                    f"/api/v2/users/{number}/cart?session=%7B{number}%7D",
                ][kind]
            )
        return Pools(
            clients=pl.Series("clients", clients).gather(order),
            paths=pl.Series("paths", paths),
        )


_POOLS: Pools | None = None


def pools() -> Pools:
    global _POOLS
    if _POOLS is None:
        _POOLS = Pools.build()
    return _POOLS


def draw(seed: int, batch: int, count: int, statuses: dict[int, float]) -> pl.DataFrame:
    """`count` requests: one row each, with everything any format writes."""
    rng = numpy.random.default_rng([seed, batch])
    population = pools()
    first = batch * BATCH_LINES

    def pick(keys: list, probabilities: numpy.ndarray) -> pl.Series:  # type: ignore[type-arg]
        return pl.Series(keys).gather(rng.choice(len(keys), count, p=probabilities))

    status_keys, status_weights = _normalised(statuses)
    agents, agent_weights = _normalised(USER_AGENTS)
    methods, method_weights = _normalised(METHODS)
    protocols, protocol_weights = _normalised(PROTOCOLS)
    start = int(START.timestamp() * 1_000_000)
    offsets = (numpy.arange(first, first + count) * SECONDS_PER_LINE * 1e6).astype(numpy.int64)
    jitter = rng.integers(0, 5_000, count)  # log order is finish order: a little out of order
    status = pick(status_keys, status_weights).cast(pl.Int16)
    size = rng.lognormal(8.5, 1.6, count).astype(numpy.int64)
    duration = rng.gamma(1.5, 0.05, count)
    no_referer = rng.random(count) < 0.45
    return pl.DataFrame(
        {
            # naive UTC: each format writes its own offset
            "time": pl.Series(start + offsets + jitter).cast(pl.Datetime("us")),
            "client_ip": population.clients.gather(
                rng.choice(CLIENTS, count, p=_zipf_weights(CLIENTS))
            ),
            "client_port": rng.integers(1024, 65536, count),
            "host": pick(HOSTS, numpy.array([0.5, 0.3, 0.15, 0.05])),
            "method": pick(methods, method_weights),
            "path": population.paths.gather(rng.choice(PATHS, count, p=_zipf_weights(PATHS))),
            "protocol": pick(protocols, protocol_weights),
            "status": status,
            "bytes": size,
            "duration": duration,
            "referer": pl.Series(REFERERS)
            .gather(rng.integers(0, len(REFERERS), count))
            .scatter(numpy.flatnonzero(no_referer), "-"),
            "user_agent": pick(agents, agent_weights),
        }
    ).with_columns(
        # bodiless answers send no bytes, and a client that left got nothing
        pl.when(pl.col("status").is_in([204, 304, 444, 499]) | (pl.col("method") == "HEAD"))
        .then(0)
        .otherwise(pl.col("bytes"))
        .alias("bytes"),
    )


# ---------------------------------------------------------------------------
# Formats: each turns drawn requests into lines.


def _escape_nginx(text: pl.Expr) -> pl.Expr:
    """nginx's default log escaping: `"` and `\\` as \\xHH."""
    return text.str.replace_all("\\", "\\x5C", literal=True).str.replace_all(
        '"', "\\x22", literal=True
    )


def _escape_apache(text: pl.Expr) -> pl.Expr:
    """mod_log_config escapes `"` and `\\` with a backslash."""
    return text.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
        '"', '\\"', literal=True
    )


def _request(escape: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    return escape(
        pl.concat_str(pl.col("method"), pl.col("path"), pl.col("protocol"), separator=" ")
    )


def _combined(escape: Callable[[pl.Expr], pl.Expr], offset: str) -> pl.Expr:
    hours = int(offset[:3])
    local = pl.col("time") + pl.duration(hours=hours)
    return pl.concat_str(
        pl.col("client_ip"),
        pl.lit(" - - ["),
        local.dt.strftime("%d/%b/%Y:%H:%M:%S ") + pl.lit(offset),
        pl.lit('] "'),
        _request(escape),
        pl.lit('" '),
        pl.col("status").cast(pl.String),
        pl.lit(" "),
        pl.col("bytes").cast(pl.String),
        pl.lit(' "'),
        escape(pl.col("referer")),
        pl.lit('" "'),
        escape(pl.col("user_agent")),
        pl.lit('"'),
    )


def nginx_combined(requests: pl.DataFrame) -> pl.Series:
    return requests.select(_combined(_escape_nginx, "+0100")).to_series()


def apache_combined(requests: pl.DataFrame) -> pl.Series:
    return requests.select(_combined(_escape_apache, "-0500")).to_series()


def _iso(expression: pl.Expr, digits: int) -> pl.Expr:
    fraction = f"%.{digits}f" if digits else ""
    return expression.dt.strftime(f"%Y-%m-%dT%H:%M:%S{fraction}Z")


def _seconds(expression: pl.Expr) -> pl.Expr:
    """Seconds with six decimals, never in exponent notation (AWS writes 0.000007)."""
    micros = (expression * 1_000_000).round(0).cast(pl.Int64)
    return pl.concat_str(
        (micros // 1_000_000).cast(pl.String),
        pl.lit("."),
        (micros % 1_000_000).cast(pl.String).str.zfill(6),
    )


def _url(scheme: str) -> pl.Expr:
    return pl.concat_str(pl.lit(scheme + "://"), pl.col("host"), pl.lit(":443"), pl.col("path"))


def alb(requests: pl.DataFrame) -> pl.Series:
    """AWS Application Load Balancer: 460/463/561 are the balancer's own."""
    own = pl.col("status").is_in([460, 463, 561]) | (pl.col("status").is_in([502, 503]))
    target_status = pl.when(own).then(pl.lit("-")).otherwise(pl.col("status").cast(pl.String))
    target = pl.when(own).then(pl.lit("-")).otherwise(pl.lit("10.0.3.17:8080"))
    error = pl.when(pl.col("status") == 460).then(pl.lit("ClientClosedConnection"))
    request = pl.concat_str(pl.col("method"), _url("https"), pl.col("protocol"), separator=" ")
    return requests.select(
        pl.concat_str(
            pl.lit("h2 "),
            _iso(pl.col("time"), 6),
            pl.lit(" app/shop-prod/50dc6c495c0c9188 "),
            pl.col("client_ip"),
            pl.lit(":"),
            pl.col("client_port").cast(pl.String),
            pl.lit(" "),
            target,
            pl.lit(" 0.000 "),
            pl.when(own).then(pl.lit("-1")).otherwise(_seconds(pl.col("duration"))),
            pl.lit(" 0.000 "),
            pl.col("status").cast(pl.String),
            pl.lit(" "),
            target_status,
            pl.lit(" 412 "),
            pl.col("bytes").cast(pl.String),
            pl.lit(' "'),
            request,
            pl.lit('" "'),
            pl.col("user_agent").str.replace_all('"', "", literal=True),
            pl.lit('" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '),
            pl.lit(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/shop/73e2d6bc24d8a067"
            ),
            pl.lit(' "Root=1-67c2a1b0-'),
            pl.col("client_port").cast(pl.String).str.zfill(24),
            pl.lit('" "'),
            pl.col("host"),
            pl.lit('" "arn:aws:acm:us-east-1:123456789012:certificate/12345678" 0 '),
            _iso(pl.col("time"), 6),
            pl.lit(' "forward" "-" "'),
            error.otherwise(pl.lit("-")),
            pl.lit('" "'),
            target,
            pl.lit('" "'),
            target_status,
            pl.lit('" "-" "-" TID_'),
            pl.col("client_port").cast(pl.String),
        )
    ).to_series()


def elb(requests: pl.DataFrame) -> pl.Series:
    """AWS classic Elastic Load Balancer (HTTP listener)."""
    own = pl.col("status").is_in([502, 503, 504])
    request = pl.concat_str(pl.col("method"), _url("https"), pl.col("protocol"), separator=" ")
    return requests.select(
        pl.concat_str(
            _iso(pl.col("time"), 6),
            pl.lit(" shop-classic "),
            pl.col("client_ip"),
            pl.lit(":"),
            pl.col("client_port").cast(pl.String),
            pl.when(own)
            .then(pl.lit(" - -1 -1 -1 "))
            .otherwise(
                pl.concat_str(
                    pl.lit(" 10.0.3.17:80 0.000041 "),
                    _seconds(pl.col("duration")),
                    pl.lit(" 0.000027 "),
                )
            ),
            pl.col("status").cast(pl.String),
            pl.lit(" "),
            pl.when(own).then(pl.lit("-")).otherwise(pl.col("status").cast(pl.String)),
            pl.lit(" 0 "),
            pl.col("bytes").cast(pl.String),
            pl.lit(' "'),
            request,
            pl.lit('" "'),
            pl.col("user_agent").str.replace_all('"', "", literal=True),
            pl.lit('" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2'),
        )
    ).to_series()


IIS_FIELDS = (
    "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
    "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken"
)


def iis_header(start: datetime) -> str:
    return (
        "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
        f"#Date: {start:%Y-%m-%d %H:%M:%S}\n#Fields: {IIS_FIELDS}\n"
    )


def iis(requests: pl.DataFrame) -> pl.Series:
    """IIS W3C extended: spaces in fields become `+`; 401.2 then 401.1 is the NTLM dance."""
    target = pl.col("path")
    query = target.str.extract(r"\?(.*)$", 1).fill_null("-")
    substatus = pl.when(pl.col("status") == 401).then(pl.lit("2")).otherwise(pl.lit("0"))
    win32 = (
        pl.when(pl.col("status").is_in([499, 500]))
        .then(pl.lit("64"))
        .when(pl.col("status") == 401)
        .then(pl.lit("5"))
        .otherwise(pl.lit("0"))
    )
    return requests.select(
        pl.concat_str(
            pl.col("time").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.lit(" 10.0.0.4 "),
            pl.col("method"),
            pl.lit(" "),
            target.str.extract(r"^([^?]*)", 1).str.replace_all(" ", "+", literal=True),
            pl.lit(" "),
            query.str.replace_all(" ", "+", literal=True),
            pl.lit(" 443 - "),
            pl.col("client_ip"),
            pl.lit(" "),
            pl.col("user_agent").str.replace_all(" ", "+", literal=True),
            pl.lit(" "),
            pl.col("referer"),
            pl.lit(" "),
            pl.col("status").cast(pl.String),
            pl.lit(" "),
            substatus,
            pl.lit(" "),
            win32,
            pl.lit(" "),
            (pl.col("duration") * 1000).cast(pl.Int64).cast(pl.String),
        )
    ).to_series()


def cloudflare(requests: pl.DataFrame) -> pl.Series:
    """Cloudflare Logpush http_requests, NDJSON: 52x come from the edge with origin status 0."""
    edge = pl.col("status").is_between(520, 527)
    return requests.select(
        pl.struct(
            CacheCacheStatus=pl.when(pl.col("path").str.starts_with("/static"))
            .then(pl.lit("hit"))
            .otherwise(pl.lit("dynamic")),
            ClientIP=pl.col("client_ip"),
            ClientRequestHost=pl.col("host"),
            ClientRequestMethod=pl.col("method"),
            ClientRequestProtocol=pl.col("protocol"),
            ClientRequestReferer=pl.col("referer"),
            ClientRequestURI=pl.col("path"),
            ClientRequestUserAgent=pl.col("user_agent"),
            EdgeResponseBytes=pl.col("bytes"),
            EdgeResponseStatus=pl.col("status"),
            EdgeStartTimestamp=_iso(pl.col("time"), 0),
            OriginResponseStatus=pl.when(edge).then(0).otherwise(pl.col("status")),
            RayID=pl.col("client_port").cast(pl.String).str.zfill(16),
        ).struct.json_encode()
    ).to_series()


def _escape_haproxy(text: pl.Expr) -> pl.Expr:
    """HAProxy writes `#` and `"` in a logged request as #23 and #22."""
    return text.str.replace_all("#", "#23", literal=True).str.replace_all('"', "#22", literal=True)


def haproxy(requests: pl.DataFrame) -> pl.Series:
    """HAProxy `option httplog` behind rsyslog's header, in UTC: its own 503 (`SC--`, a
    server refused the connection), 504 (`sH--`), 408 (`cR--`), 400 (`PR--`) and -1 (the
    client left while HAProxy connected, `CC--`); every other status is the server's."""
    status = pl.col("status")
    state = (
        pl.when(status == 503)
        .then(pl.lit("SC--"))
        .when(status == 504)
        .then(pl.lit("sH--"))
        .when(status == 408)
        .then(pl.lit("cR--"))
        .when(status == 400)
        .then(pl.lit("PR--"))
        .when(status == -1)
        .then(pl.lit("CC--"))
        .otherwise(pl.lit("----"))
    )
    server = pl.when(status.is_in([400, 408])).then(pl.lit("<NOSRV>")).otherwise(pl.lit("app1"))
    milliseconds = (pl.col("duration") * 1000).round(0).cast(pl.Int64).cast(pl.String)
    return requests.select(
        pl.concat_str(
            pl.col("time").dt.strftime("%b %e %H:%M:%S"),
            pl.lit(" lb1 haproxy[2130]: "),
            pl.col("client_ip"),
            pl.lit(":"),
            pl.col("client_port").cast(pl.String),
            pl.lit(" ["),
            pl.col("time").dt.strftime("%d/%b/%Y:%H:%M:%S%.3f"),
            pl.lit("] https~ be_app/"),
            server,
            pl.lit(" 0/0/1/"),
            milliseconds,
            pl.lit("/"),
            milliseconds,
            pl.lit(" "),
            status.cast(pl.String),
            pl.lit(" "),
            pl.col("bytes").cast(pl.String),
            pl.lit(" - - "),
            state,
            pl.lit(' 12/12/3/1/0 0/0 "'),
            _request(_escape_haproxy),
            pl.lit('"'),
        )
    ).to_series()


def istio(requests: pl.DataFrame) -> pl.Series:
    """Istio's sidecar access log (Envoy, accessLogEncoding TEXT): Envoy's own 503 after a
    failed connection (`UF,URX`), 504 on the route timeout (`UT`), 0 when the client left
    first (`DC`); every other status came from the upstream (`via_upstream`)."""
    status = pl.col("status")
    flags = (
        pl.when(status == 503)
        .then(pl.lit("UF,URX"))
        .when(status == 504)
        .then(pl.lit("UT"))
        .when(status == 0)
        .then(pl.lit("DC"))
        .otherwise(pl.lit("-"))
    )
    details = (
        pl.when(status == 503)
        .then(pl.lit("upstream_reset_before_response_started{connection_failure}"))
        .when(status == 504)
        .then(pl.lit("response_timeout"))
        .when(status == 0)
        .then(pl.lit("downstream_remote_disconnect"))
        .otherwise(pl.lit("via_upstream"))
    )
    milliseconds = (pl.col("duration") * 1000).round(0).cast(pl.Int64).cast(pl.String)
    return requests.select(
        pl.concat_str(
            pl.lit("["),
            _iso(pl.col("time"), 3),
            pl.lit('] "'),
            pl.col("method"),
            pl.lit(" "),
            pl.col("path"),
            pl.lit(" "),
            pl.col("protocol"),
            pl.lit('" '),
            status.cast(pl.String),
            pl.lit(" "),
            flags,
            pl.lit(" "),
            details,
            pl.lit(' - "-" 0 '),
            pl.col("bytes").cast(pl.String),
            pl.lit(" "),
            milliseconds,
            pl.lit(" "),
            milliseconds,
            pl.lit(' "-" "'),
            pl.col("user_agent").str.replace_all('"', "'", literal=True),  # Envoy escapes none
            pl.lit('" "'),
            pl.col("client_port").cast(pl.String).str.zfill(8),
            pl.lit('-4c1a-9a0e-3b44e4c2e812" "'),
            pl.col("host"),
            pl.lit('" "10.44.1.27:8080" outbound|8080||shop.default.svc.cluster.local '),
            pl.lit("10.44.1.23:37652 10.0.45.184:8080 "),
            pl.col("client_ip").str.replace(r"^(.*:.*)$", "[${1}]"),
            pl.lit(":"),
            pl.col("client_port").cast(pl.String),
            pl.lit(" - default"),
        )
    ).to_series()


CLOUDFRONT_FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)


def cloudfront_header(start: datetime) -> str:
    return f"#Version: 1.0\n#Fields: {CLOUDFRONT_FIELDS}\n"


def cloudfront(requests: pl.DataFrame) -> pl.Series:
    """CloudFront standard log, tab-separated: static paths are cache hits, the rest misses;
    502 is the edge failing to reach the origin (OriginConnectError), 000 a viewer that
    left before the answer (ClientHungUpRequest); user agents URL-encoded."""
    status = pl.col("status")
    result = (
        pl.when(status.is_in([0, 502]) | (status >= 400))
        .then(pl.lit("Error"))
        .when(pl.col("path").str.starts_with("/static"))
        .then(pl.lit("Hit"))
        .otherwise(pl.lit("Miss"))
    )
    detailed = (
        pl.when(status == 502)
        .then(pl.lit("OriginConnectError"))
        .when(status == 0)
        .then(pl.lit("ClientHungUpRequest"))
        .otherwise(result)
    )
    path, query = (
        pl.col("path").str.splitn("?", 2).struct.field("field_0"),
        pl.col("path").str.splitn("?", 2).struct.field("field_1"),
    )
    seconds = pl.col("duration").round(3).cast(pl.String)
    return requests.select(
        pl.concat_str(
            pl.col("time").dt.strftime("%Y-%m-%d\t%H:%M:%S"),
            pl.lit("FRA56-P2"),
            pl.col("bytes").cast(pl.String),
            pl.col("client_ip"),
            pl.col("method"),
            pl.lit("d111111abcdef8.cloudfront.net"),
            path,
            status.cast(pl.String).str.zfill(3),
            pl.col("referer"),
            pl.col("user_agent").str.replace_all(" ", "%20", literal=True),
            pl.coalesce(query, pl.lit("-")),
            pl.lit("-"),
            result,
            pl.col("client_port").cast(pl.String).str.zfill(12),
            pl.col("host"),
            pl.lit("https"),
            pl.lit("420"),
            seconds,
            pl.lit("-\tTLSv1.3\tTLS_AES_128_GCM_SHA256"),
            result,
            pl.col("protocol"),
            pl.lit("-\t-"),
            pl.col("client_port").cast(pl.String),
            seconds,
            detailed,
            pl.lit("text/html\t-\t-\t-"),
            separator="\t",
        )
    ).to_series()


def traefik(requests: pl.DataFrame) -> pl.Series:
    """Traefik's JSON access log: 502/504 are Traefik's own when forwarding failed (its
    status text as the body), 404 on a path no router matches (OriginStatus 0); every
    other status is the server's."""
    status = pl.col("status")
    own_body = {502: 11, 504: 15}
    origin_size = pl.when(status == 502).then(own_body[502])
    origin_size = origin_size.when(status == 504).then(own_body[504]).otherwise(pl.col("bytes"))
    no_router = (status == 404) & pl.col("path").str.starts_with("/w")
    nanoseconds = (pl.col("duration") * 1e9).cast(pl.Int64)
    return requests.select(
        pl.struct(
            ClientHost=pl.col("client_ip"),
            DownstreamContentSize=pl.col("bytes"),
            DownstreamStatus=status,
            Duration=nanoseconds,
            OriginContentSize=pl.when(no_router).then(0).otherwise(origin_size),
            OriginDuration=nanoseconds - 180_000,
            OriginStatus=pl.when(no_router).then(0).otherwise(status),
            RequestHost=pl.col("host"),
            RequestMethod=pl.col("method"),
            RequestPath=pl.col("path"),
            RequestProtocol=pl.col("protocol"),
            RouterName=pl.lit("shop@docker"),
            ServiceName=pl.lit("shop@docker"),
            ServiceURL=pl.lit("http://172.18.0.3:8080"),
            StartUTC=_iso(pl.col("time"), 6),
            entryPointName=pl.lit("websecure"),
            level=pl.lit("info"),
            msg=pl.lit(""),
            **{"request_User-Agent": pl.col("user_agent")},
        ).struct.json_encode()
    ).to_series()


def caddy(requests: pl.DataFrame) -> pl.Series:
    """Caddy's access log in front of an app (reverse_proxy): its own bare 502/504 when
    the upstream failed (no body, only `Server`); every other answer the upstream's,
    with its `Date`."""
    status = pl.col("status")
    own = status.is_in([502, 504])
    seconds = pl.col("time").dt.epoch("us").cast(pl.Float64) / 1e6
    return requests.select(
        pl.struct(
            level=pl.when(status >= 500).then(pl.lit("error")).otherwise(pl.lit("info")),
            ts=seconds,
            logger=pl.lit("http.log.access.log0"),
            msg=pl.lit("handled request"),
            request=pl.struct(
                remote_ip=pl.col("client_ip"),
                remote_port=pl.col("client_port").cast(pl.String),
                client_ip=pl.col("client_ip"),
                proto=pl.col("protocol"),
                method=pl.col("method"),
                host=pl.col("host"),
                uri=pl.col("path"),
                headers=pl.struct(**{"User-Agent": pl.concat_list(pl.col("user_agent"))}),
            ),
            bytes_read=pl.lit(0),
            user_id=pl.lit(""),
            duration=pl.col("duration"),
            size=pl.when(own).then(0).otherwise(pl.col("bytes")),
            status=status,
            resp_headers=pl.struct(
                Server=pl.concat_list(pl.lit("Caddy")),
                Date=pl.when(own).then(None).otherwise(pl.concat_list(pl.lit("Wed, 04 Mar 2026"))),
            ),
        ).struct.json_encode()
    ).to_series()


def google_lb(requests: pl.DataFrame) -> pl.Series:
    """Google Cloud load balancer entries (Cloud Logging, one per line): its own 502
    (`failed_to_connect_to_backend`), 503 (`failed_to_pick_backend`) and 504
    (`backend_timeout`); every other status the backend's."""
    status = pl.col("status")
    details = (
        pl.when(status == 502)
        .then(pl.lit("failed_to_connect_to_backend"))
        .when(status == 503)
        .then(pl.lit("failed_to_pick_backend"))
        .when(status == 504)
        .then(pl.lit("backend_timeout"))
        .otherwise(pl.lit("response_sent_by_backend"))
    )
    return requests.select(
        pl.struct(
            insertId=pl.col("client_port").cast(pl.String).str.zfill(12),
            jsonPayload=pl.struct(
                **{"@type": pl.lit(GOOGLE_ENTRY)},
                statusDetails=details,
                remoteIp=pl.col("client_ip"),
            ),
            httpRequest=pl.struct(
                requestMethod=pl.col("method"),
                requestUrl=pl.lit("https://") + pl.col("host") + pl.col("path"),
                status=status,
                responseSize=pl.col("bytes").cast(pl.String),
                userAgent=pl.col("user_agent"),
                remoteIp=pl.col("client_ip"),
                latency=pl.col("duration").round(6).cast(pl.String) + pl.lit("s"),
                protocol=pl.col("protocol"),
            ),
            resource=pl.struct(
                type=pl.lit("http_load_balancer"),
                labels=pl.struct(backend_service_name=pl.lit("shop-backend")),
            ),
            timestamp=_iso(pl.col("time"), 6),
            severity=pl.lit("INFO"),
            logName=pl.lit("projects/shop-prod/logs/requests"),
        ).struct.json_encode()
    ).to_series()


def azure_front_door(requests: pl.DataFrame) -> pl.Series:
    """Azure Front Door access records: its own 502 (the origin refused the connection)
    and 504 (the origin timed out: logged as status 0, counted here as 504's 0); static
    paths served from its cache; every other status the origin's."""
    status = pl.col("status")
    error = (
        pl.when(status == 502)
        .then(pl.lit("OriginConnectionRefused"))
        .when(status == 0)
        .then(pl.lit("OriginTimeout"))
        .otherwise(pl.lit("NoError"))
    )
    cached = pl.col("path").str.starts_with("/static")
    return requests.select(
        pl.struct(
            time=_iso(pl.col("time"), 6),
            resourceId=pl.lit(
                "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/SHOP/PROVIDERS/MICROSOFT.CDN/PROFILES/FD"
            ),
            category=pl.lit("FrontDoorAccessLog"),
            operationName=pl.lit("Microsoft.Cdn/Profiles/AccessLog/Write"),
            properties=pl.struct(
                trackingReference=pl.col("client_port").cast(pl.String).str.zfill(20),
                httpMethod=pl.col("method"),
                httpVersion=pl.lit("2.0.0"),
                requestUri=pl.lit("https://") + pl.col("host") + pl.lit(":443") + pl.col("path"),
                hostName=pl.col("host"),
                responseBytes=pl.col("bytes").cast(pl.String),
                userAgent=pl.col("user_agent"),
                clientIp=pl.col("client_ip"),
                timeTaken=pl.col("duration").round(3).cast(pl.String),
                httpStatusCode=status.cast(pl.String),
                pop=pl.lit("SEA"),
                cacheStatus=pl.when(cached).then(pl.lit("HIT")).otherwise(pl.lit("MISS")),
                errorInfo=error,
            ),
        ).struct.json_encode()
    ).to_series()


def azure_app_gateway(requests: pl.DataFrame) -> pl.Series:
    """Application Gateway v2 access records: its own 502 (no live backend) and 504 (the
    backend timed out); every other status the backend's (serverStatus)."""
    status = pl.col("status")
    error = (
        pl.when(status == 502)
        .then(pl.lit("ERRORINFO_UPSTREAM_NO_LIVE"))
        .when(status == 504)
        .then(pl.lit("ERRORINFO_UPSTREAM_TIMED_OUT"))
        .otherwise(pl.lit("ERRORINFO_NO_ERROR"))
    )
    own = status.is_in([502, 504])
    return requests.select(
        pl.struct(
            timeStamp=_iso(pl.col("time"), 0),
            category=pl.lit("ApplicationGatewayAccessLog"),
            operationName=pl.lit("ApplicationGatewayAccess"),
            properties=pl.struct(
                clientIP=pl.col("client_ip"),
                httpMethod=pl.col("method"),
                originalRequestUriWithArgs=pl.col("path"),
                userAgent=pl.col("user_agent"),
                httpStatus=status,
                httpVersion=pl.col("protocol"),
                sentBytes=pl.col("bytes"),
                timeTaken=pl.col("duration").round(3),
                serverStatus=pl.when(own).then(pl.lit("-")).otherwise(status.cast(pl.String)),
                host=pl.col("host"),
                error_info=error,
            ),
        ).struct.json_encode()
    ).to_series()


GOOGLE_ENTRY = "type.googleapis.com/google.cloud.loadbalancing.type.LoadBalancerLogEntry"


@dataclass(frozen=True)
class LogFormat:
    """How one source writes a request, and the codes only that source logs."""

    name: str  # logstat's format name
    render: Callable[[pl.DataFrame], pl.Series]
    own_statuses: dict[int, float] = field(default_factory=dict)
    header: Callable[[datetime], str] | None = None  # written once at the top of each file
    suffix: str = ".log"

    def statuses(self) -> dict[int, float]:
        return {**BASE_STATUSES, **self.own_statuses}


FORMATS = {
    "nginx": LogFormat("nginx", nginx_combined, {499: 0.008, 444: 0.002}),
    "apache": LogFormat("apache", apache_combined),
    "iis": LogFormat("iis", iis, {401: 0.02}, header=iis_header),
    "alb": LogFormat("alb", alb, {460: 0.002, 463: 0.0002, 561: 0.0002}),
    "elb": LogFormat("elb", elb),
    "cloudflare": LogFormat(
        "cloudflare",
        cloudflare,
        {520: 0.001, 521: 0.0005, 522: 0.001, 523: 0.0002, 524: 0.0005},
        suffix=".json",
    ),
    "haproxy": LogFormat("haproxy", haproxy, {-1: 0.001}),
    "envoy": LogFormat("envoy", istio, {0: 0.002}),
    "cloudfront": LogFormat("cloudfront", cloudfront, {0: 0.001}, header=cloudfront_header),
    "traefik": LogFormat("traefik", traefik, {499: 0.004}, suffix=".json"),
    "caddy": LogFormat("caddy", caddy, suffix=".json"),
    "google_lb": LogFormat("google_lb", google_lb, suffix=".json"),
    "azure_front_door": LogFormat("azure_front_door", azure_front_door, {0: 0.001}, suffix=".json"),
    "azure_app_gateway": LogFormat("azure_app_gateway", azure_app_gateway, suffix=".json"),
}


# ---------------------------------------------------------------------------
# Dirty logs: real files hold odd lines, and a reader must not slow down for them.

DIRTY_EVERY = 500  # one line in 500 (0.2%) is odd, in turn each of DIRTY_KINDS
DIRTY_KINDS = ("raw quote", "common format", "cut", "five-digit status", "stray CR")
# a Common Log Format line: nginx's and Apache's `common` layout reads it, others reject it
COMMON_LINE = '198.51.100.23 - - [01/Mar/2026:01:00:00 +0100] "GET /health HTTP/1.1" {status} 2'
DIRTY_FORMATS = ("nginx", "apache", "alb", "iis")


def _status_field(format_name: str, line: str, status: int) -> tuple[int, int]:
    """Where the status is written in a line: (start, end)."""
    if format_name in ("nginx", "apache"):  # after the request's closing quote
        start = line.index(f'" {status} ') + 2
        return start, start + len(str(status))
    field = {"alb": 8, "iis": 11}[format_name]  # the space-separated field
    start = sum(len(part) + 1 for part in line.split(" ", field)[:field])
    return start, start + len(str(status))


def dirty_line(format_name: str, kind: str, line: str, status: int) -> tuple[str, bool]:
    """The line with one kind of damage, and whether it is still a request with `status`.

    A raw quote in the user agent, a CR before the line end and (for nginx and Apache)
    a common-format line are still read; a line cut short, a five-digit status and a
    common-format line among ALB or IIS lines are rejects."""
    if kind == "raw quote":  # `"curl/8.5.0 "beta""`, or `curl/8.5.0+"beta"` in IIS
        if format_name == "iis":
            start, _ = _status_field(format_name, line, status)
            agent_end = line.rindex(" ", 0, line.rindex(" ", 0, start - 1))
            return line[:agent_end] + '+"beta"' + line[agent_end:], True
        if format_name == "alb":
            agent = line.index('" "', line.index(' "') + 2) + 3  # after the request
            agent_end = line.index('"', agent)
            return line[:agent_end] + ' "beta"' + line[agent_end:], True
        return line[:-1] + ' "beta""', True
    if kind == "common format":
        return COMMON_LINE.format(status=status), format_name in ("nginx", "apache")
    if kind == "cut":  # in the middle of the time, or of the line
        end = line.index("[") + 8 if format_name in ("nginx", "apache") else len(line) * 2 // 5
        return line[:end], False
    if kind == "five-digit status":
        start, end = _status_field(format_name, line, status)
        return line[:start] + str(status * 100) + line[end:], False
    return line + "\r", True  # a stray CR: this one line ends in CR LF


def make_dirty(
    format_name: str, lines: pl.Series, statuses: pl.Series, first: int
) -> tuple[pl.Series, Counter[int], int]:
    """Every DIRTY_EVERY-th line (counted from the file's first, `first` lines before
    this batch) damaged: the lines, the statuses no longer counted, the lines rejected."""
    offset = (-first) % DIRTY_EVERY
    positions = range(offset + DIRTY_EVERY // 2, lines.len(), DIRTY_EVERY)
    if not positions:
        return lines, Counter(), 0
    texts, codes = lines.gather(list(positions)).to_list(), statuses.gather(list(positions))
    lost: Counter[int] = Counter()
    rejected = 0
    edited = []
    for position, text, status in zip(positions, texts, codes.to_list(), strict=True):
        kind = DIRTY_KINDS[((first + position) // DIRTY_EVERY) % len(DIRTY_KINDS)]
        new, kept = dirty_line(format_name, kind, text, int(status))
        edited.append(new)
        if not kept:
            lost[int(status)] += 1
            rejected += 1
    return lines.scatter(list(positions), pl.Series(edited, dtype=pl.String)), lost, rejected


# ---------------------------------------------------------------------------
# Writing files.


@dataclass
class Truth:
    """What a generated log contains: written beside it as JSON."""

    format: str
    lines: int = 0  # request lines (header lines not counted)
    statuses: Counter[int] = field(default_factory=Counter)
    files: int = 0
    decompressed_bytes: int = 0
    dirty: bool = False  # with the odd lines of make_dirty
    rejected: int = 0  # lines logstat must reject (dirty logs only)

    def add(self, requests: pl.DataFrame, lost: Counter[int] | None = None) -> None:
        """Count a batch of requests; `lost`: statuses of lines made rejects."""
        self.lines += requests.height
        counts = requests.get_column("status").value_counts()
        for status, count in counts.iter_rows():
            self.statuses[int(status)] += int(count)
        for status, count in (lost or {}).items():
            self.statuses[status] -= count
            self.rejected += count
            if not self.statuses[status]:
                del self.statuses[status]

    def to_json(self) -> dict[str, object]:
        return {
            "generator": VERSION,
            "format": self.format,
            "lines": self.lines,
            "files": self.files,
            "decompressed_bytes": self.decompressed_bytes,
            "dirty": self.dirty,
            "rejected": self.rejected,
            "status_counts": {str(code): self.statuses[code] for code in sorted(self.statuses)},
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")


def truth_path(log: Path) -> Path:
    return log.with_name(log.name + ".truth.json")


def read_truth(log: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(truth_path(log).read_text())
    return loaded


@contextmanager
def _open_output(path: Path) -> Iterator[IO[bytes]]:
    if path.suffix == ".gz":
        # mtime=0: the same input gives the same bytes
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as out,
        ):
            yield out  # type: ignore[misc]
    elif path.suffix == ".zst":
        import zstandard

        with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
            yield out
    else:
        with open(path, "wb") as out:
            yield out


def compress(plain: Path, path: Path) -> None:
    """`path` (.gz or .zst) with the bytes of `plain`; the truth is the same."""
    with open(plain, "rb") as source, _open_output(path) as out:
        while block := source.read(16 << 20):
            out.write(block)
    truth_path(path).write_bytes(truth_path(plain).read_bytes())


def _batches(
    log_format: LogFormat, seed: int, lines: int
) -> Iterator[tuple[pl.DataFrame, pl.Series]]:
    for batch in range(math.ceil(lines / BATCH_LINES)):
        count = min(BATCH_LINES, lines - batch * BATCH_LINES)
        requests = draw(seed, batch, count, log_format.statuses())
        yield requests, log_format.render(requests)


def _encode(lines: pl.Series) -> bytes:
    return (lines.str.join("\n").item() + "\n").encode()


def generate(path: Path, format_name: str, lines: int, seed: int = 1, dirty: bool = False) -> Truth:
    """Write `lines` requests to `path` (.gz/.zst compress) and the truth beside it;
    `dirty`: with one odd line in DIRTY_EVERY (make_dirty)."""
    log_format = FORMATS[format_name]
    truth = Truth(format_name, files=1, dirty=dirty)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_output(path) as out:
        if log_format.header:
            header = log_format.header(START).encode()
            out.write(header)
            truth.decompressed_bytes += len(header)
        for requests, rendered in _batches(log_format, seed, lines):
            lost: Counter[int] = Counter()
            if dirty:
                statuses = requests.get_column("status")
                rendered, lost, _ = make_dirty(format_name, rendered, statuses, truth.lines)
            data = _encode(rendered)
            out.write(data)
            truth.add(requests, lost)
            truth.decompressed_bytes += len(data)
    truth.write(truth_path(path))
    return truth


def generate_many(
    directory: Path,
    format_name: str,
    files: int,
    lines_per_file: int,
    compression: str = ".gz",
    seed: int = 1,
) -> Truth:
    """`files` small logs in `directory`, named as the source names them; truth beside it."""
    log_format = FORMATS[format_name]
    truth = Truth(format_name, files=files)
    directory.mkdir(parents=True, exist_ok=True)
    header = log_format.header(START).encode() if log_format.header else b""
    pending = pl.Series(dtype=pl.String)
    written = 0
    for requests, rendered in _batches(log_format, seed, files * lines_per_file):
        truth.add(requests)
        pending = pl.concat([pending, rendered])
        while pending.len() >= lines_per_file:
            body = header + _encode(pending.head(lines_per_file))
            pending = pending.slice(lines_per_file)
            name = _small_file_name(format_name, written) + log_format.suffix + compression
            with _open_output(directory / name) as out:
                out.write(body)
            truth.decompressed_bytes += len(body)
            written += 1
    truth.write(truth_path(directory))  # beside the folder: logstat reads everything in it
    return truth


def _small_file_name(format_name: str, index: int) -> str:
    stamp = (START + timedelta(minutes=5 * index)).strftime("%Y%m%dT%H%MZ")
    if format_name in ("alb", "elb"):
        # AWS names each 5-minute file: account_service_region_lb_time_ip_random
        return (
            f"123456789012_elasticloadbalancing_us-east-1_app.shop-prod.50dc6c495c0c9188_"
            f"{stamp}_10.0.3.{index % 250 + 1}_{index:08x}"
        )
    return f"access-{stamp}-{index:05d}"
