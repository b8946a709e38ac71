"""The dashboard's occupancy chart (server-side SVG)."""
from __future__ import annotations

from flask_babel import gettext as _
from matplotlib.figure import Figure

from ..residence.occupancy import OccupancyRow
from ..core.charts import count_axis, drawn_once, figure_svg, no_categories

COLOURS = {"occupied": "#0d6efd", "free": "#20c997", "closed": "#adb5bd"}
# More rows than this (a building and gender each) and a bar per row makes a chart a screen long or more:
# a campus of 80 buildings drew 100 KB of SVG. The dashboard then shows them added up per gender.
MOST_BARS = 24


def many_buildings(rows: list[OccupancyRow]) -> bool:
    return len(rows) > MOST_BARS


def occupancy_chart(rows: list[OccupancyRow]) -> str:
    """A stacked horizontal bar per row (building and gender, or gender alone): occupied, free, closed."""
    labels = [f"{row.building.code} {row.gender_label}" if row.building else row.gender_label for row in rows]
    return _occupancy(labels, {key: [getattr(row, key) for row in rows] for key in ("occupied", "free", "closed")})


@drawn_once
def _occupancy(labels: list[str], counts: dict[str, list[int]]) -> str:
    figure = Figure(figsize=(7, 0.45 * max(len(labels), 1) + 1.2), layout="constrained")
    axes = figure.subplots()
    left = [0] * len(labels)
    for key, title in (("occupied", _("Occupied")), ("free", _("Free")), ("closed", _("Closed"))):
        values = counts[key]
        axes.barh(labels, values, left=left, color=COLOURS[key], label=title)
        left = [a + b for a, b in zip(left, values)]
    axes.invert_yaxis()
    axes.set_xlabel(_("Beds"))
    count_axis(axes.xaxis)  # whole beds, from 0
    if not labels:
        no_categories(axes.yaxis)
    figure.legend(loc="outside upper center", frameon=False, ncols=3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)
