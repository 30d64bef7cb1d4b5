"""Apache httpd under test: its config, its access logs, and the requests it gets."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.servers import client, process, site
from tests.servers.client import Probe, request
from tests.servers.network import LOOPBACK

MODULES = Path("/usr/lib/apache2/modules")
# mod_log_config is built into Debian's apache2 (`apache2 -l`), so it is not loaded here
NEEDED_MODULES = {
    "mpm_event_module": "mod_mpm_event.so",
    "authz_core_module": "mod_authz_core.so",
    "reqtimeout_module": "mod_reqtimeout.so",  # RequestReadTimeout: 408 after 1 s
    "rewrite_module": "mod_rewrite.so",
    "proxy_module": "mod_proxy.so",
    "proxy_http_module": "mod_proxy_http.so",
}

CUSTOM_FORMAT = '%h %l %u %t "%r" %>s %s %D'

LOGS = (
    # named after the server: the path hint tells Apache's combined lines from nginx's.
    # combined with %O as Debian's apache2.conf has it; common with %b as httpd.conf has it
    # (%b writes "-" for an empty body, %O counts headers too)
    site.AccessLog(
        "apache-combined.log",
        "combined",
        '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
        "apache combined",
    ),
    site.AccessLog("apache-common.log", "common", '%h %l %u %t "%r" %>s %b', "apache common"),
    site.AccessLog(
        "apache-vhost.log",
        "vhost_combined",
        '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
        "apache vhost_combined",
    ),
    site.AccessLog(
        "apache-custom.log",
        "custom",
        CUSTOM_FORMAT,
        "apache custom",
        ("--log-format", CUSTOM_FORMAT),
    ),
)

CONFIG = """\
ServerRoot "{directory}"
ServerName localhost
Listen {loopback}:{port}
PidFile "{directory}/apache.pid"
DefaultRuntimeDir "{directory}/run"
ErrorLog "{directory}/error.log"
LogLevel info
{modules}
{user}
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
KeepAlive Off
# Linux's default (data: TCP_DEFER_ACCEPT) hides a connection from httpd until bytes
# arrive, so a silent client would never be seen; with none httpd logs it as "-" 408
AcceptFilter http none

# small limits and timeouts, so 408/413/414/504 come quickly
Timeout 2
RequestReadTimeout handshake=0 header=1 body=1
LimitRequestLine 1024
LimitRequestBody 1024

DocumentRoot "{docroot}"
<Directory />
    Require all denied
</Directory>
<Directory "{docroot}">
    Require all granted
</Directory>

{log_formats}
{access_logs}

RewriteEngine On
RewriteRule ^/old$ /index.html [R=301,L]
RewriteRule ^/moved$ /index.html [R=302,L]
RewriteRule ^/broken$ - [R=500,L]

ProxyTimeout 1
ProxyPass /app/ http://{loopback}:{upstream_port}/app/
ProxyPass /dead/ http://{loopback}:{dead_port}/ retry=0
"""


def config(directory: Path, docroot: Path, port: int, upstream_port: int, dead_port: int) -> str:
    modules = "\n".join(
        f"LoadModule {name} {MODULES / file}" for name, file in NEEDED_MODULES.items()
    )
    formats = "\n".join(
        f'LogFormat "{escaped(log.template)}" {log.nickname}' for log in LOGS if log.template
    )
    logs = "\n".join(f'CustomLog "{directory / log.file_name}" {log.nickname}' for log in LOGS)
    # run as root, httpd must switch its children to another user (it refuses root)
    user = "User #65534\nGroup #65534" if os.geteuid() == 0 else ""
    return CONFIG.format(
        directory=directory,
        docroot=docroot,
        modules=modules,
        user=user,
        log_formats=formats,
        access_logs=logs,
        loopback=LOOPBACK,
        port=port,
        upstream_port=upstream_port,
        dead_port=dead_port,
    )


def escaped(template: str) -> str:
    """A format string inside the config's double quotes."""
    return template.replace("\\", "\\\\").replace('"', '\\"')


def start(
    directory: Path, docroot: Path, port: int, upstream_port: int, dead_port: int
) -> process.Server:
    binary = process.require_binary("apache2")
    (directory / "run").mkdir(exist_ok=True)
    conf = directory / "apache2.conf"
    conf.write_text(config(directory, docroot, port, upstream_port, dead_port))
    command = [binary, "-d", str(directory), "-f", str(conf), "-DFOREGROUND"]
    return process.start(
        "apache2",
        command,
        port=port,
        directory=directory,
        stop_signal=signal.SIGTERM,
        error_log=directory / "error.log",
        pid_file=directory / "apache.pid",
    )


LONG_URI = "/" + "a" * 2000  # beyond LimitRequestLine (1024)
PARTIAL_HEADER = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n"


def probes() -> list[Probe]:
    """The requests httpd gets, each with what the client sees and what httpd logs."""
    index = f"/{site.INDEX}"
    return [
        *[Probe("static page", request("GET", index), 200, 200)] * 3,
        Probe("rewrite 301", request("GET", "/old"), 301, 301),
        Probe("rewrite 302", request("GET", "/moved"), 302, 302),
        Probe("rewrite 500", request("GET", "/broken"), 500, 500),
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
        Probe("partial header", PARTIAL_HEADER, 408, 408, waits_for_timeout=True),
        # logged as "-" 408, with a %D of microseconds: httpd's clock starts at the timeout
        Probe("silent connection", b"", 408, None),
        # no 499 in httpd: it notices nothing until its own ProxyTimeout, then logs 502
        Probe(
            "client hangs up on slow upstream",
            request("GET", "/app/slow-hangup"),
            502,
            None,
            hang_up_after=0.3,
            waits_for_timeout=True,
        ),
        # a refused connection is 503 (the backend worker is put in error), not 502
        Probe("dead upstream", request("GET", "/dead/x"), 503, 503),
        # a ProxyTimeout while waiting for the status line is 502 "Error reading", not 504
        Probe("upstream too slow", request("GET", "/app/slow"), 502, 502, waits_for_timeout=True),
        Probe("proxied", request("GET", "/app/ok"), 200, 200, produced_by="upstream"),
    ]
