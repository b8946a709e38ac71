"""The summary page's chart: violations per month, stacked by type (server-side SVG)."""
from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _
from matplotlib.figure import Figure

from ..core.charts import count_axis, drawn_once, figure_svg

# Tableau's ten, then greys: enough for a catalogue of a dozen types.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#6c757d", "#343a40"]


@drawn_once
def per_month_by_type(by_month_and_type: dict[str, Counter]) -> str:
    """One stacked bar per month, a segment per violation type (most frequent type at the bottom)."""
    months = list(by_month_and_type)
    totals = Counter()
    for counter in by_month_and_type.values():
        totals.update(counter)
    figure = Figure(figsize=(7, 3.4), layout="constrained")
    axes = figure.subplots()
    bottom = [0] * len(months)
    for index, (type_name, _total) in enumerate(totals.most_common()):
        values = [by_month_and_type[m].get(type_name, 0) for m in months]
        axes.bar(months, values, bottom=bottom, color=PALETTE[index % len(PALETTE)], label=type_name)
        bottom = [a + b for a, b in zip(bottom, values)]
    if not totals:
        axes.bar(months, [0] * len(months))
    axes.set_ylabel(_("Violations"))
    count_axis(axes.yaxis)  # whole records, from 0
    axes.spines[["top", "right"]].set_visible(False)
    if len(months) > 8:
        axes.tick_params(axis="x", labelrotation=45)
    if totals:
        figure.legend(loc="outside right upper", frameon=False, fontsize="small")
    return figure_svg(figure)
