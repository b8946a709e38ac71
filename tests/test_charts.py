"""Charts are drawn once per change of what they show, in each reader's language, never per request."""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from dorms.access.curfew import Status
from dorms.access.labels import CHART_COLOURS, STATUS_LABELS
from dorms.core.charts import drawn_once


def test_a_chart_is_drawn_once_per_data_and_language(app, monkeypatch):
    drawn = []

    @drawn_once
    def chart(series: list, labels: dict) -> str:
        drawn.append(series)
        return f"<svg>{len(drawn)}</svg>"

    series = [(date(2026, 9, 7), {Status.IN: 3})]
    with app.test_request_context():
        first = chart(series, STATUS_LABELS)
        assert chart([(date(2026, 9, 7), {Status.IN: 3})], STATUS_LABELS) == first  # equal data: kept
        assert chart([(date(2026, 9, 7), {Status.IN: 4})], STATUS_LABELS) != first  # a change: drawn again
        with force_locale("zh_Hans_CN"):
            assert chart(series, STATUS_LABELS) != first  # another language: its own drawing
    assert len(drawn) == 3


def test_an_argument_that_is_not_plain_data_is_drawn_every_time(app):
    drawn = []

    class Row:  # like a database row: its repr names an address, not its data
        pass

    @drawn_once
    def chart(rows) -> str:
        drawn.append(rows)
        return "<svg/>"

    with app.test_request_context():
        chart([Row()])
        chart([Row()])
    assert len(drawn) == 2


def test_kept_charts_stay_within_their_budget(app, monkeypatch):
    from dorms.core import kept

    monkeypatch.setattr(kept, "LOCAL_BUDGET", 100)

    @drawn_once
    def chart(n: int) -> str:
        return "x" * 40

    with app.test_request_context():
        for n in range(10):
            chart(n)
    assert kept._local.size <= 100 and len(kept._local.values) == 2


def test_the_curfew_chart_is_drawn_once_for_the_same_week(app, monkeypatch):
    from dorms.access import charts as access_charts

    drawn = []
    monkeypatch.setattr(access_charts, "figure_svg", lambda figure: drawn.append(figure) or "<svg/>")
    week = [(date(2026, 9, d), {Status.IN: d, Status.LATE: 1}) for d in range(1, 8)]
    with app.test_request_context():
        access_charts.curfew_trend_chart(week, STATUS_LABELS, CHART_COLOURS)
        access_charts.curfew_trend_chart(list(week), dict(STATUS_LABELS), dict(CHART_COLOURS))
    assert len(drawn) == 1
