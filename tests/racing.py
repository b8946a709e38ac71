"""Writers racing each other: each attempt in a thread with an app context, a session and a transaction of its own."""
from __future__ import annotations

import threading
from collections.abc import Callable

from dorms.extensions import db


def run_at_once(app, attempts: dict, refused: type[Exception]) -> dict:
    """Start every attempt (a name and a function of no argument, run in its thread's app context) and wait for all.

    Returns, by name, "won" for an attempt that committed, or the message of the ``refused`` error it raised
    (its transaction rolled back). Any other error leaves its name out, for the caller's assertion to show.
    """
    outcomes: dict = {}

    def attempt(name, action: Callable[[], object]):
        with app.app_context():
            try:
                action()
                db.session.commit()
                outcomes[name] = "won"
            except refused as error:
                db.session.rollback()
                outcomes[name] = str(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=item) for item in attempts.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
