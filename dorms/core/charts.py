"""Server-side charts as inline SVG (matplotlib's Figure API, no pyplot)."""
from __future__ import annotations

import io
import warnings

from matplotlib import rcParams
from matplotlib.figure import Figure

# Keep text as text, so the browser draws Chinese labels with its own fonts.
rcParams["svg.fonttype"] = "none"
rcParams["svg.hashsalt"] = "dorms"  # stable ids: the same data gives the same SVG
# Labels are names people typed (violation types, buildings): "$…$" in one is text, not math to typeset
# (an unbalanced one made matplotlib fail the whole page). Read when each chart creates its texts.
rcParams["text.parse_math"] = False
# Fonts the browser should draw labels with; matplotlib only measures with them.
rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                               "Microsoft YaHei", "PingFang SC", "DejaVu Sans"]


def count_axis(axis) -> None:
    """An axis of counts (students, records): whole numbers from 0, and 0 to 1 when there is nothing to
    count; matplotlib would centre an empty axis on 0 and draw negative counts."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axes = axis.axes
    low, high = axes.get_ylim() if axis is axes.yaxis else axes.get_xlim()
    limits = (0, max(high, 1))
    if axis is axes.yaxis:
        axes.set_ylim(*limits)
    else:
        axes.set_xlim(*limits)


def no_categories(axis) -> None:
    """A category axis (nights, buildings) with nothing on it: no made-up ticks such as -0.05."""
    axis.set_ticks([])


def figure_svg(figure: Figure) -> str:
    """The figure as an inline <svg> element."""
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font on the server, layout is approximate; the browser still draws the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]
