"""HTML tables for the Snakemake report: the summary and the resolved study config.

Snakemake's HTML report shows HTML results inline but offers CSV and YAML files only as
downloads, so the summary table and the config are rendered to small HTML pages.

Every value that comes from the study config is untrusted text: the pages escape it, and
:func:`script_safe_params` keeps it from breaking out of the ``<script>`` element in which
Snakemake's report embeds each job's params.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from typing import Any

import yaml

_STYLE = """
body { font-family: sans-serif; font-size: 13px; margin: 1em; }
table { border-collapse: collapse; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; }
td:nth-child(-n+4), th:nth-child(-n+4) { text-align: left; }  /* the text columns */
pre { background: #f7f7f7; padding: 1em; }
"""


# Python's own escapes for the characters that could end or open an HTML element.
_SCRIPT_ESCAPES = str.maketrans({"<": r"\x3c", ">": r"\x3e", "&": r"\x26"})


class ScriptSafeDict(dict):
    """A dict whose text (``repr`` and ``str``) holds no ``<``, ``>`` or ``&``.

    Snakemake's report shows each result's job params as the text of their values,
    placed unescaped in a JSON string inside an inline ``<script>`` element: a config
    value such as ``</script><img src=x onerror=...>`` would end the element there and
    run as part of the page. This dict's text is Python's ``repr`` with those three
    characters written as the escapes ``\\x3c``, ``\\x3e`` and ``\\x26``, so it reads the
    same and cannot form a tag. It is the same text as a plain dict's whenever the
    values hold none of them, and different values still give different text, so
    Snakemake's check for changed params is unaffected. Everything else is a plain dict:
    rule scripts receive the values unchanged.
    """

    def __repr__(self) -> str:
        return dict.__repr__(self).translate(_SCRIPT_ESCAPES)

    __str__ = __repr__


def script_safe_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return rule params that Snakemake can embed in its HTML report as they are.

    Parameters
    ----------
    params
        Param name -> value, as a rule's ``params`` would take them.

    Returns
    -------
    dict
        The same params, with every dict value wrapped in :class:`ScriptSafeDict`.

    Raises
    ------
    ValueError
        If a value that is not a dict has ``<``, ``>`` or ``&`` in its text. Snakemake
        rebuilds lists and formats strings given as params, so only dicts can keep a
        safe text; put such values in a dict.
    """
    safe = {}
    for name, value in params.items():
        if isinstance(value, dict):
            safe[name] = ScriptSafeDict(value)
        elif str(value) != str(value).translate(_SCRIPT_ESCAPES):
            raise ValueError(
                f"param {name}: {value!r} would be markup in the report; pass it in a dict"
            )
        else:
            safe[name] = value
    return safe


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n"
    )


def summary_html(summary: str | os.PathLike[str]) -> str:
    """Render ``summary.csv`` as an HTML table (4 significant digits).

    Parameters
    ----------
    summary
        The summary table, as :func:`simstudy.summary.write_summary` writes it.

    Returns
    -------
    str
        A complete HTML page: a note on the statistics, then the table, with text cells
        escaped and empty cells for missing values.
    """
    import pandas as pd  # here: the workflow imports this module while it plans

    table = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    # pandas escapes every cell and header as HTML (escape=True, its default).
    rendered = table.to_html(
        index=False, escape=True, na_rep="", float_format="{:.4g}".format, border=0
    )
    note = (
        "<p>Per scenario, value (column metric: a metric's column or a name a method "
        "function returns) and method: means with Monte Carlo standard errors (mcse) and "
        "95% Student-t confidence intervals; for the difference rows, wins / ties / "
        "losses, the Wilcoxon signed-rank p-value and its Holm adjustment across "
        "scenarios (per value). Exact values are in results/summary.csv.</p>"
    )
    return _page("Summary", f"{note}\n{rendered}")


def config_html(config: Mapping[str, Any]) -> str:
    """Render the resolved study config (defaults filled in) as YAML in an HTML page.

    The page's note says that figure settings and labels are not listed: the caller
    passes the config without them, as the report rule does; this function lists
    whatever it is given.

    Parameters
    ----------
    config
        The config to show.

    Returns
    -------
    str
        A complete HTML page with the config as escaped YAML.
    """
    text = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)
    note = (
        "<p>The config that produced the tables, with every default filled in. Figure "
        "settings and labels change only the drawing and are not listed.</p>"
    )
    return _page("Study configuration (resolved)", f"{note}<pre>{html.escape(text)}</pre>")
