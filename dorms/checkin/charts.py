"""The check-in progress chart: checked in against still expected, per building."""
from __future__ import annotations

from flask_babel import gettext as _
from matplotlib.figure import Figure

from ..core.charts import count_axis, drawn_once, figure_svg, no_categories
from .services import Progress

COLOURS = {"checked_in": "#198754", "expected": "#ffc107"}


def progress_chart(rows: list[Progress]) -> str:
    return _progress([row.building.code for row in rows], [row.checked_in for row in rows],
                     [row.expected for row in rows])


@drawn_once
def _progress(labels: list[str], done: list[int], waiting: list[int]) -> str:
    figure = Figure(figsize=(7, 0.45 * max(len(labels), 1) + 1.2), layout="constrained")
    axes = figure.subplots()
    axes.barh(labels, done, color=COLOURS["checked_in"], label=_("Checked in"))
    axes.barh(labels, waiting, left=done, color=COLOURS["expected"], label=_("Still expected"))
    axes.invert_yaxis()
    axes.set_xlabel(_("Students"))
    count_axis(axes.xaxis)
    if not labels:
        no_categories(axes.yaxis)
    figure.legend(loc="outside upper center", frameon=False, ncols=2)
    axes.spines[["top", "right"]].set_visible(False)
    return figure_svg(figure)
