"""nginx under test: its config, its access logs, and the requests it gets with what it logs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.servers import client, process, site
from tests.servers.client import Probe, request
from tests.servers.network import LOOPBACK

COMBINED_FIELDS = (
    '$remote_addr - $remote_user [$time_local] "$request" '
    '$status $body_bytes_sent "$http_referer" "$http_user_agent"'
)
# with the variables that tell whether the last upstream attempt got an answer
UPSTREAM_FORMAT = (
    '$remote_addr [$time_local] "$request" $status '
    "$upstream_status $upstream_response_time $request_time $host "
    "[$upstream_header_time] [$upstream_bytes_received] [$upstream_connect_time]"
)
JSON_FORMAT = (
    '{"time":"$time_iso8601","client":"$remote_addr","request":"$request",'
    '"status":$status,"bytes":$body_bytes_sent,"request_time":$request_time,'
    '"upstream_status":"$upstream_status","agent":"$http_user_agent"}'
)

LOGS = (
    site.AccessLog("nginx-combined.log", "combined", None, "nginx combined"),
    site.AccessLog(
        "nginx-main.log", "main", COMBINED_FIELDS + ' "$http_x_forwarded_for"', "nginx main"
    ),
    site.AccessLog(
        "nginx-upstream.log",
        "upstream",
        UPSTREAM_FORMAT,
        "nginx custom",
        ("--log-format", UPSTREAM_FORMAT),
    ),
    site.AccessLog(
        "nginx-json.log", "json", JSON_FORMAT, "nginx custom", ("--log-format", JSON_FORMAT)
    ),
)

# log_format options by format name: the JSON log escapes values as JSON strings
ESCAPES = {"json": "escape=json "}

CONFIG = """\
{user}
worker_processes 1;
pid {directory}/nginx.pid;
lock_file {directory}/nginx.lock;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    default_type text/plain;
    client_body_temp_path {directory}/temp/body;
    proxy_temp_path {directory}/temp/proxy;
    fastcgi_temp_path {directory}/temp/fastcgi;
    uwsgi_temp_path {directory}/temp/uwsgi;
    scgi_temp_path {directory}/temp/scgi;
{log_formats}
{access_logs}
    # small limits and timeouts, so 408/413/414/504 come quickly
    client_header_timeout 1s;
    client_body_timeout 1s;
    client_max_body_size 1k;
    large_client_header_buffers 2 1k;
    keepalive_timeout 0;
    # a dead server first, a live one behind it: every request tries the dead one
    # (max_fails=0: never marked down) and nginx moves on (proxy_next_upstream)
    upstream failover {{
        server {loopback}:{dead_port} max_fails=0;
        server {loopback}:{upstream_port} backup;
    }}
    upstream dead_only {{
        server {loopback}:{dead_port} max_fails=0;
    }}
    server {{
        listen {loopback}:{port};
        server_name localhost;
        root {docroot};
        location = /old {{ return 301 /index.html; }}
        location = /drop {{ return 444; }}
        location /app/ {{
            proxy_pass http://{loopback}:{upstream_port};
            proxy_read_timeout 1s;
        }}
        location /dead/ {{
            proxy_pass http://{loopback}:{dead_port};
            proxy_connect_timeout 1s;
        }}
        location /failover/ {{
            proxy_pass http://failover;
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 1s;
            proxy_read_timeout 1s;
        }}
        location /dead-group/ {{
            proxy_pass http://dead_only;
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 1s;
        }}
    }}
}}
"""


def config(directory: Path, docroot: Path, port: int, upstream_port: int, dead_port: int) -> str:
    formats = "\n".join(
        f"    log_format {log.nickname} {ESCAPES.get(log.nickname, '')}'{log.template}';"
        for log in LOGS
        if log.template is not None
    )
    logs = "\n".join(f"    access_log {directory / log.file_name} {log.nickname};" for log in LOGS)
    return CONFIG.format(
        # workers write temp files in pytest's tmp dir, private (0700) to root
        user="user root;" if os.geteuid() == 0 else "",
        directory=directory,
        docroot=docroot,
        log_formats=formats,
        access_logs=logs,
        loopback=LOOPBACK,
        port=port,
        upstream_port=upstream_port,
        dead_port=dead_port,
    )


def start(
    directory: Path, docroot: Path, port: int, upstream_port: int, dead_port: int
) -> process.Server:
    binary = process.require_binary("nginx")
    (directory / "temp").mkdir(exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(config(directory, docroot, port, upstream_port, dead_port))
    command = [
        binary,
        "-p",
        str(directory),
        "-c",
        str(conf),
        "-e",
        str(directory / "error.log"),
        "-g",
        "daemon off;",
    ]
    # SIGQUIT: graceful shutdown, requests in flight finish and are logged
    return process.start(
        "nginx",
        command,
        port=port,
        directory=directory,
        stop_signal=signal.SIGQUIT,
        error_log=directory / "error.log",
        pid_file=directory / "nginx.pid",
    )


LONG_URI = "/" + "a" * 2000  # beyond large_client_header_buffers (1k)
PARTIAL_HEADER = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n"  # no blank line: never ends


def probes() -> list[Probe]:
    """The requests nginx gets, each with what the client sees and what nginx logs."""
    index = f"/{site.INDEX}"
    return [
        *[Probe("static page", request("GET", index), 200, 200)] * 3,
        Probe("redirect", request("GET", "/old"), 301, 301),
        Probe(
            "not modified",
            request("GET", index, {"If-Modified-Since": site.last_modified()}),
            304,
            304,
        ),
        Probe("range", request("GET", index, {"Range": "bytes=0-9"}), 206, 206),
        *[Probe("missing", request("GET", "/missing.html"), 404, 404)] * 2,
        Probe("body too large", request("POST", index, body=b"x" * 2048), 413, 413),
        Probe("uri too long", request("GET", LONG_URI), 414, 414),
        Probe("garbage request line", b"HELLO\r\n\r\n", 400, 400),
        Probe("TLS on the plain port", client.tls_client_hello(), 400, 400),
        Probe("partial header", PARTIAL_HEADER, 408, None, waits_for_timeout=True),
        # nginx closes a connection that sent nothing at client_header_timeout, unlogged
        Probe("silent connection", b"", None, None),
        Probe("return 444", request("GET", "/drop"), 444, None),
        Probe(
            "client hangs up on slow upstream",
            request("GET", "/app/slow-hangup"),
            499,
            None,
            hang_up_after=0.3,
        ),
        Probe("dead upstream", request("GET", "/dead/x"), 502, 502, upstream_status=502),
        # upstream groups: one attempt per server tried, the last one is what the client got
        Probe(
            "dead server, then a live one",
            request("GET", "/failover/ok"),
            200,
            200,
            upstream_status=200,
            upstream_list="502, 200",
            produced_by="upstream",
        ),
        Probe(
            "dead server, then the live one's own 502",
            request("GET", "/failover/status/502"),
            502,
            502,
            upstream_status=502,
            upstream_list="502, 502",
            produced_by="upstream",
        ),
        Probe(
            "group of a dead server only",
            request("GET", "/dead-group/x"),
            502,
            502,
            upstream_status=502,
        ),
        Probe(
            "upstream's own 502",
            request("GET", "/app/status/502"),
            502,
            502,
            upstream_status=502,
            produced_by="upstream",
        ),
        Probe(
            "upstream too slow",
            request("GET", "/app/slow"),
            504,
            504,
            upstream_status=504,
            waits_for_timeout=True,
        ),
        Probe(
            "proxied",
            request("GET", "/app/ok"),
            200,
            200,
            upstream_status=200,
            produced_by="upstream",
        ),
    ]
