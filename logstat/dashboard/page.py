"""The dashboard as one self-contained HTML file: no network, nothing from the log run.

The page's data goes in as JSON inside `<script type="application/json">`, with
`<`, `>` and `&` (and every non-ASCII character, U+2028/2029 included) written
as `\\uXXXX` escapes, so no log text can close the element; dashboard.js reads
it with JSON.parse and puts text in with textContent only.  A Content Security
Policy lets only the page's own two scripts run (by their SHA-256) and loads
nothing from anywhere: even a mistake in escaping could not run injected code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from typing import Any

ASSETS = "assets"
# Chart.js, tablesort (sortable tables), then the page's own code
SCRIPTS = ("chart.umd.min.js", "tablesort.min.js", "dashboard.js")


def _asset(name: str) -> str:
    return resources.files("logstat.dashboard").joinpath(ASSETS, name).read_text("utf-8")


def json_for_html(data: Any) -> str:
    """JSON that is safe inside a <script> element of an HTML page."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def render_page(data: dict[str, Any]) -> str:
    scripts = [_asset(name) for name in SCRIPTS]
    for name, script in zip(SCRIPTS, scripts, strict=True):
        if "</script" in script.lower():  # would end the element early
            raise RuntimeError(f"{name} cannot be inlined: it contains </script")
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(_hash(script) for script in scripts),
            "style-src 'unsafe-inline'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    values = {
        "policy": policy,
        "style": _asset("dashboard.css"),
        "data": json_for_html(data),
        "chart_js": scripts[0],
        "tablesort_js": scripts[1],
        "dashboard_js": scripts[2],
    }
    # one pass, so that nothing inserted is itself searched for placeholders
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], _asset("page.html"))
