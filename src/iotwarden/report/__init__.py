"""Reports: the versioned report document (``iotwarden.report/1``) built from the store, rendered as
JSON, as Rich terminal tables, or as one self-contained HTML page with charts and a network map."""

from iotwarden.report.document import SCHEMA, Edge, build
from iotwarden.report.html import render as render_html
from iotwarden.report.source import report_from_store

__all__ = ["SCHEMA", "Edge", "build", "render_html", "report_from_store"]
