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


def figure_svg(figure: Figure) -> str:
    """The figure as an inline <svg> element."""
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # Without a CJK font on the server, layout is approximate; the browser still draws the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]
