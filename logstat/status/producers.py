"""What each log source calls the two layers that can produce a status.

`produced_by` says proxy / upstream / unknown whatever the source; a reader wants the
source's own words: an ALB passes on its *target's* status, Cloudflare its *origin's*,
nginx its *upstream's*.  Sources not listed here (and unknown producers) are named by
the plain value.
"""

from __future__ import annotations

from logstat.status.registry import PROXY, UPSTREAM

# source -> (who "proxy" is, who "upstream" is)
LAYER_NAMES: dict[str, tuple[str, str]] = {
    "alb": ("ALB", "target"),
    "elb": ("ELB", "backend"),
    "cloudflare": ("edge", "origin"),
    "nginx": ("nginx", "upstream"),
    "iis": ("IIS/ARR", "backend"),
    "apache": ("Apache", "backend"),
    "haproxy": ("HAProxy", "server"),
    "envoy": ("Envoy", "upstream"),
    "cloudfront": ("CloudFront", "origin"),
    "traefik": ("Traefik", "server"),
    "caddy": ("Caddy", "upstream"),
    "google_lb": ("load balancer", "backend"),
    "azure_front_door": ("Front Door", "origin"),
    "azure_app_gateway": ("gateway", "backend"),
    "cloudfront_realtime": ("CloudFront", "origin"),
}


def producer_label(source: str | None, produced_by: str | None) -> str:
    """`target`, `ALB`, `origin`, `nginx`, ... or the plain value; "-" for no producer."""
    if produced_by is None:
        return "-"
    names = LAYER_NAMES.get(source or "")
    if names is None:
        return produced_by
    if produced_by == PROXY:
        return names[0]
    if produced_by == UPSTREAM:
        return names[1]
    return produced_by


# Sources whose log tells a status of the server behind them (ALB target, ELB backend,
# Cloudflare origin, nginx $upstream_status, HAProxy's termination state, Envoy's flags,
# CloudFront's result types, Traefik's OriginStatus, Caddy's error entries,
# Google's statusDetails, Azure's error info)
# from their own: there a status is either the source's own or one it passed on, and the
# two read differently.
PASSES_ON = frozenset(
    {
        "alb",
        "elb",
        "cloudflare",
        "nginx",
        "haproxy",
        "envoy",
        "cloudfront",
        "traefik",
        "caddy",
        "google_lb",
    }
)
