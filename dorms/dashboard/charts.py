"""Server-side charts as inline SVG (matplotlib's Figure API, no pyplot)."""
from __future__ import annotations

import io
import warnings

from flask_babel import gettext as _
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..campus.services import OccupancyRow

# Keep text as text, so the browser draws Chinese labels with its own fonts.
rcParams["svg.fonttype"] = "none"
rcParams["svg.hashsalt"] = "dorms"  # stable ids: the same data gives the same SVG
# Fonts the browser should draw labels with; matplotlib only measures with them.
rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                               "Microsoft YaHei", "PingFang SC", "DejaVu Sans"]

COLOURS = {"occupied": "#0d6efd", "free": "#20c997", "closed": "#adb5bd"}


def occupancy_chart(rows: list[OccupancyRow]) -> str:
    """A stacked horizontal bar per building and gender: occupied, free, closed."""
    labels = [f"{row.building.code} {row.gender_label}" for row in rows]
    figure = Figure(figsize=(7, 0.45 * max(len(rows), 1) + 1.2), layout="constrained")
    axes = figure.subplots()
    left = [0] * len(rows)
    for key, title in (("occupied", _("Occupied")), ("free", _("Free")), ("closed", _("Closed"))):
        values = [getattr(row, key) for row in rows]
        axes.barh(labels, values, left=left, color=COLOURS[key], label=title)
        left = [a + b for a, b in zip(left, values)]
    axes.invert_yaxis()
    axes.set_xlabel(_("Beds"))
    figure.legend(loc="outside upper center", frameon=False, ncols=3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)


def figure_svg(figure: Figure) -> str:
    """The figure as an inline <svg> element."""
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font on the server, layout is approximate; the browser still draws the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def curfew_trend_chart(series: list, labels: dict, colours: dict) -> str:
    """Stacked bars, one per night: how many students had each curfew status (``series`` from access.reports.trend)."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.subplots()
    nights = [day.strftime("%m-%d") for day, _counts in series]
    bottom = [0] * len(series)
    for status, label in labels.items():
        values = [counts.get(status, 0) for _day, counts in series]
        if any(values):
            axes.bar(nights, values, bottom=bottom, color=colours[status], label=str(label))
            bottom = [a + b for a, b in zip(bottom, values)]
    axes.set_ylabel(_("Students"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole students
    axes.spines[["top", "right"]].set_visible(False)
    figure.legend(loc="outside right upper", frameon=False, fontsize="small")
    return figure_svg(figure)
