"""What every figure of the study shares: style, plain text, panels, and writing PNGs.

The figures themselves are drawn, with matplotlib and seaborn's current API, by one
module per family: :mod:`simstudy.plots_examples` (one trial's labelled points),
:mod:`simstudy.plots_pairs` (the paired comparison of two methods) and
:mod:`simstudy.plots_summaries` (means, compute time, stopping). Each function there
returns a matplotlib ``Figure`` and touches no global style: themes are applied in a
local context (:func:`styled`), so importing them changes nothing for the caller.

Every name passed in (method and scenario labels, titles) is drawn as plain text: labels
come from the study config, and matplotlib would otherwise read ``$...$`` in them as
mathtext, which draws ``a $x$ b`` in italics and fails on ``$\\foo$``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.figure import Figure

from simstudy.integrity import atomic_write

STYLE = {"style": "white", "context": "notebook"}
DIFFERENCE_COLOR = "#4C72B0"
# Side labels sit on a white box, so that the zero line never runs through their text.
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.5}
# Text is drawn the same whatever a matplotlibrc says: never through TeX, and with mathtext
# parsing on, so that the escaped dollars of plain_text are drawn as dollars.
TEXT_RC = {"text.usetex": False, "text.parse_math": True}


#: What a panel says about a compared method without a single successful trial.
NO_SUCCESS = "{}: no successful trial"


def plain_text(text: object) -> str:
    """Return ``text`` so that matplotlib draws it exactly as written.

    Matplotlib reads a string holding an even number of unescaped ``$`` as mathtext;
    escaping every ``$`` turns that off, and matplotlib draws ``\\$`` as ``$``. Nothing else
    in a string drawn without usetex has a special meaning.

    Parameters
    ----------
    text
        Any text, typically a label from the study config; non-strings are converted
        with ``str``.

    Returns
    -------
    str
        The text with every ``$`` escaped.
    """
    return str(text).replace("$", r"\$")


def no_success_note(names: Sequence[str]) -> str:
    """What a panel says about compared methods without a single successful trial.

    Parameters
    ----------
    names
        Display names of the methods.

    Returns
    -------
    str
        One line per method (:data:`NO_SUCCESS`), as plain text.
    """
    return "\n".join(NO_SUCCESS.format(plain_text(name)) for name in names)


def warnings_line(counts: Mapping[str, tuple[int, int]]) -> str:
    """The line that difference figures add about warnings.

    Parameters
    ----------
    counts
        Method display name -> (trials in which it warned, trials it ran on).

    Returns
    -------
    str
        For instance ``"Trials with warnings: GMM 3 of 40, KMeans 0 of 40"``, not yet
        made plain text (the figures do that).
    """
    listed = ", ".join(f"{name} {warned} of {total}" for name, (warned, total) in counts.items())
    return f"Trials with warnings: {listed}"


def second_line(note: str) -> str:
    """A note as the next line of a title: empty for no note.

    Parameters
    ----------
    note
        The note (such as :func:`warnings_line`), not yet plain text.

    Returns
    -------
    str
        A newline and the note as plain text, or ``""``.
    """
    return f"\n{plain_text(note)}" if note else ""


def side_labels(first: str, second: str, direction: int) -> tuple[str, str]:
    """What the two sides of a difference ``first - second`` mean, left and right.

    Parameters
    ----------
    first, second
        Display names of the compared methods, already plain text.
    direction
        1 if a higher value is better (a score such as ARI or accuracy), -1 if a lower
        one is (an error), 0 if the value has no better side (any named value).

    Returns
    -------
    tuple of str
        The labels of the negative and the positive side, such as
        ``("← KMeans better", "GMM better →")``, or ``"higher"`` for direction 0.
    """
    if direction < 0:
        return f"← {first} better", f"{second} better →"
    word = "better" if direction > 0 else "higher"
    return f"← {second} {word}", f"{first} {word} →"


@contextmanager
def styled() -> Iterator[None]:
    """The local theme and text settings every figure is drawn in.

    Yields
    ------
    None
        Control, inside the theme.
    """
    with (
        sns.axes_style(STYLE["style"]),
        sns.plotting_context(STYLE["context"]),
        matplotlib.rc_context(TEXT_RC),
    ):
        yield


def palette(n: int) -> list:
    """``n`` colours of the colourblind-safe palette every figure uses.

    Parameters
    ----------
    n
        How many colours.

    Returns
    -------
    list
        RGB tuples.
    """
    return sns.color_palette("colorblind", n)


def facets(count: int, width: float, height: float, dpi: int, *, sharex=True, sharey=False):
    """A figure with ``count`` panels, wrapped into rows of at most five.

    Parameters
    ----------
    count
        The number of panels; unused places of the last row are hidden.
    width, height
        Inches per panel (the height gains 0.8 inch for the titles).
    dpi
        Resolution of the figure.
    sharex, sharey
        Whether the panels share their x and y axes.

    Returns
    -------
    tuple
        The figure and its ``count`` axes, row by row.
    """
    columns = 1 if count <= 3 else min(5, count)
    rows = -(-count // columns)
    figsize = (width * columns, height * rows + 0.8)
    figure, grid = panel_grid(count, rows, columns, figsize, dpi, sharex=sharex, sharey=sharey)
    return figure, list(grid.flat)[:count]


def panel_grid(
    count: int,
    rows: int,
    columns: int,
    figsize: tuple[float, float],
    dpi: int,
    *,
    sharex: bool = False,
    sharey: bool = True,
):
    """A figure of ``rows`` by ``columns`` panels, the places after the first ``count`` hidden.

    Parameters
    ----------
    count
        The number of panels drawn; the unused places of the last row are hidden.
    rows, columns
        The shape of the grid.
    figsize
        Width and height of the figure, in inches.
    dpi
        Resolution of the figure.
    sharex, sharey
        Whether the panels share their x and y axes.

    Returns
    -------
    tuple
        The figure and its grid of axes (a 2-D array, row by row).
    """
    figure, grid = plt.subplots(
        rows,
        columns,
        figsize=figsize,
        dpi=dpi,
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
        layout="constrained",
    )
    for ax in list(grid.flat)[count:]:
        ax.set_visible(False)
    return figure, grid


def rows_of_three(count: int) -> tuple[int, int]:
    """The rows and columns for ``count`` panels: at most three a row, as even as can be.

    Parameters
    ----------
    count
        The number of panels.

    Returns
    -------
    tuple of int
        ``(rows, columns)``.
    """
    rows = -(-count // 3)
    return rows, -(-count // rows)


def scenario_rows(ax, positions, scenarios: Sequence[str]) -> None:
    """Label the y axis of a panel with a row per scenario, top to bottom.

    Parameters
    ----------
    ax
        The panel (the first of those sharing the y axis).
    positions
        The y position of each scenario's row.
    scenarios
        The scenarios' labels, drawn as plain text.
    """
    ax.set_yticks(positions, [plain_text(s) for s in scenarios])
    ax.set_ylim(-0.6, len(scenarios) - 0.4)


def method_legend(figure: Figure, colours: Mapping[str, object]) -> None:
    """A legend below the panels: a point in each method's colour.

    Parameters
    ----------
    figure
        The figure (with the constrained layout).
    colours
        Method label -> its colour, in the legend's order.
    """
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=c, label=plain_text(m))
        for m, c in colours.items()
    ]
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(colours), 4),
        frameon=False,
        fontsize="small",
    )


def save(figure: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``figure`` to ``path`` as PNG (atomically) and release it.

    The figure is closed once it is written (not if writing fails).

    Parameters
    ----------
    figure
        The figure to write.
    path
        The PNG file to write.
    """
    with atomic_write(path, binary=True) as handle, matplotlib.rc_context(TEXT_RC):
        figure.savefig(handle, format="png")
    plt.close(figure)
