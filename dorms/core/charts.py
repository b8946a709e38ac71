"""Server-side charts as inline SVG (matplotlib's Figure API, no pyplot), drawn once per change of their data.

A chart function decorated with ``drawn_once`` keeps its SVG keyed by what it shows: its arguments and the
reader's language (core.kept: in this process, and in Redis when configured). Drawing costs far more than the page around it, and the data changes a few times a day.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import io
import warnings
from datetime import date, datetime, time
from decimal import Decimal

from matplotlib import rcParams
from matplotlib.figure import Figure

from . import kept

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


class _NotData(TypeError):
    """An argument whose value cannot be told from its representation (a database row, say)."""


def _fingerprint(value) -> object:
    """The value as plain, comparable data: what the chart shows, never an object's address."""
    if value is None or isinstance(value, (bool, int, float, Decimal, str, date, datetime, time, enum.Enum)):
        return value
    if hasattr(value, "__html__") or type(value).__name__ == "LazyString":  # translated text: its words now
        return str(value)
    if isinstance(value, dict):
        return tuple((_fingerprint(k), _fingerprint(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(v) for v in value))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(repr(_fingerprint(v)) for v in value))
    if dataclasses.is_dataclass(value):
        return (type(value).__qualname__,
                tuple(_fingerprint(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise _NotData(type(value).__qualname__)


def drawn_once(draw):
    """Keep ``draw``'s SVG for the same data and language (core.kept: in Redis when configured, shared by
    every worker); arguments that are not plain data draw every time."""
    name = f"chart:{draw.__module__}.{draw.__qualname__}"

    @functools.wraps(draw)
    def cached(*args, **kwargs):
        from flask_babel import get_locale

        try:
            data = _fingerprint((args, kwargs))
        except _NotData:
            return draw(*args, **kwargs)
        key = kept.storage_key(name, (str(get_locale()), data))
        if (svg := kept.fetch(key)) is not None:
            return svg.decode()
        drawn = draw(*args, **kwargs)
        kept.store(key, drawn.encode())
        return drawn

    return cached
