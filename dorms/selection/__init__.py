"""Selection day (网上选宿): students choose their own beds online, in time windows (README "Selection day")."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """While a student takes part in an open or paused event, a new sign-in ends their other sessions; a student
    still waiting in the waiting room is answered before the app dispatches their request (api.AnsweredInLine)."""
    from ..auth import services as accounts
    from . import api, services

    accounts.install_single_session_rule(services.in_an_event_under_way)
    app.wsgi_app = api.AnsweredInLine(app, app.wsgi_app)
