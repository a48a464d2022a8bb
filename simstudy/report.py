"""HTML tables for the Snakemake report: the summary and the resolved study config.

Snakemake's HTML report shows HTML results inline but offers CSV and YAML files only as
downloads, so the summary table and the config are rendered to small HTML pages.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

_STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
pre { background: #f7f7f7; padding: 1em; }
"""

_TEXT_COLUMNS = {"kind", "scenario", "metric", "method"}


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n"
    )


def _cell(column: str, value: Any) -> str:
    css = " class='text'" if column in _TEXT_COLUMNS else ""
    if isinstance(value, float):
        text = "" if pd.isna(value) else f"{value:.4g}"
    else:
        text = html.escape(str(value))
    return f"<td{css}>{text}</td>"


def summary_html(summary: str | os.PathLike[str]) -> str:
    """Render ``summary.csv`` as an HTML table (4 significant digits)."""
    table = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    header = "".join(
        f"<th{' class=text' if c in _TEXT_COLUMNS else ''}>{html.escape(c)}</th>"
        for c in table.columns
    )
    rows = "\n".join(
        "<tr>" + "".join(_cell(c, v) for c, v in zip(table.columns, row, strict=True)) + "</tr>"
        for row in table.itertuples(index=False)
    )
    note = (
        "<p>Means with Monte Carlo standard errors (mcse) and 95% Student-t confidence "
        "intervals; for the difference rows, wins / ties / losses, the Wilcoxon "
        "signed-rank p-value and its Holm adjustment across scenarios (per metric). "
        "Exact values are in results/summary.csv.</p>"
    )
    return _page("Summary", f"{note}\n<table>\n<tr>{header}</tr>\n{rows}\n</table>")


def config_html(config: Mapping[str, Any]) -> str:
    """Render the resolved study config (defaults filled in) as YAML in an HTML page."""
    text = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)
    note = (
        "<p>The config that produced the tables, with every default filled in. Figure "
        "settings and labels change only the drawing and are not listed.</p>"
    )
    return _page("Study configuration (resolved)", f"{note}<pre>{html.escape(text)}</pre>")
