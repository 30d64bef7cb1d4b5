"""`logstat dashboard`: one self-contained HTML page of charts and tables."""

from logstat.dashboard.data import DashboardBuilder
from logstat.dashboard.page import json_for_html, render_page

__all__ = ["DashboardBuilder", "json_for_html", "render_page"]
