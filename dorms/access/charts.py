"""The curfew trend chart (server-side SVG)."""
from __future__ import annotations

from flask_babel import gettext as _
from matplotlib.figure import Figure

from ..core.charts import count_axis, drawn_once, figure_svg, no_categories


@drawn_once
def curfew_trend_chart(series: list, labels: dict, colours: dict) -> str:
    """Stacked bars, one per night: how many students had each curfew status (``series`` from reports.trend)."""
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
    count_axis(axes.yaxis)  # whole students, from 0
    if not series:
        no_categories(axes.xaxis)
    axes.spines[["top", "right"]].set_visible(False)
    if any(bottom):
        figure.legend(loc="outside right upper", frameon=False, fontsize="small")
    return figure_svg(figure)
