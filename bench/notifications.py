#!/usr/bin/env python3
"""Notifications sent a minute through group robots within their limit, beside the same sends unthrottled.

Makes ``--robots`` counselors, each with a WeCom group robot of their own, and ``--messages`` notifications
for each, then runs the sender (``notifications.sending.send_due``) as the scheduler does, once a minute, until
every message is out. The minutes are simulated: each run is handed the time a minute after the last (the
sender's clock moves on from there by the real time it spends), so the bench takes seconds. A local HTTP
receiver answers as WeCom does; nothing leaves the machine. Baseline, in the same run: the same messages
with the throttle off, which one run sends at whatever rate the machine allows. Prints, for each, messages
sent per (simulated) minute, the wall-clock time spent sending, and the most messages one robot received in
any 60 seconds (WeCom and DingTalk take about 20).

    .venv/bin/python bench/notifications.py                          # 50 robots, 60 messages each
    .venv/bin/python bench/notifications.py --robots 10 --messages 25
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dorms import create_app
from dorms.auth.services import create_user
from dorms.core.clock import utcnow
from dorms.core.enums import Role
from dorms.extensions import db
from dorms.notifications import notify
from dorms.notifications.models import Contact, Delivery, DeliveryAttempt, Preference
from dorms.notifications.sending import send_due


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.counts[parse_qs(urlsplit(self.path).query)["key"][0]] += 1
        answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def seed(robots: int, messages: int, base: str) -> int:
    for number in range(robots):
        user = create_user(f"counselor{number}", role=Role.COUNSELOR, password="bench-password",
                           classes=[f"班级{number}"])
        db.session.add(Contact(user_id=user.id, robot_service="wecom", robot_url=f"{base}/wecom?key=robot{number}"))
        db.session.add(Preference(user_id=user.id, kind="curfew_alert", email=False, robot=True))
        for night in range(messages):
            notify([user], "curfew_alert", night=f"2026-09-{night % 28 + 1:02d}", absent="S1 学生1 (2)", late="-")
    db.session.commit()
    return robots * messages


def most_in_a_minute() -> int:
    """The most attempts one robot received within any 60 seconds (by the sender's clock)."""
    times = defaultdict(list)
    for robot, at in db.session.execute(sa.select(DeliveryAttempt.robot, DeliveryAttempt.at).order_by(
            DeliveryAttempt.at)):
        times[robot].append(at)
    most = 0
    for stamps in times.values():
        first = 0
        for last, at in enumerate(stamps):
            while at - stamps[first] >= timedelta(minutes=1):
                first += 1
            most = max(most, last - first + 1)
    return most


def run(app, per_minute: int, total: int) -> dict:
    db.session.execute(sa.delete(DeliveryAttempt))
    start = utcnow()
    db.session.execute(sa.update(Delivery).values(status="pending", attempts=0, next_attempt_at=start, sent_at=None))
    db.session.commit()
    app.config["ROBOT_PER_MINUTE"] = per_minute
    minutes, wall, sent = 0, 0.0, 0
    while sent < total:
        began = time.perf_counter()
        sent += send_due(start + timedelta(minutes=minutes)).sent
        wall += time.perf_counter() - began
        minutes += 1
    return {"sent": sent, "minutes": minutes, "wall": wall, "most": most_in_a_minute()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, default=50, help="group robots (one counselor each)")
    parser.add_argument("--messages", type=int, default=60, help="notifications for each robot")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.counts = defaultdict(int)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    folder = tempfile.mkdtemp(prefix="dorms-bench-notifications-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                      "BABEL_DEFAULT_LOCALE": "zh_CN"}, instance_path=folder)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        total = seed(args.robots, args.messages, base)
        print(f"{total:,} notifications for {args.robots} robots ({args.messages} each); "
              f"the sender runs once a (simulated) minute.")
        print(f"{'':26} {'runs':>5} {'sent a minute':>14} {'wall s':>7} {'sent a wall minute':>19} "
              f"{'most one robot got in 60 s':>27}")
        for label, limit in (("throttled (20 a minute)", 20), ("baseline: no throttle", 10**9)):
            result = run(app, limit, total)
            print(f"{label:26} {result['minutes']:>5} {result['sent'] / result['minutes']:>14,.0f} "
                  f"{result['wall']:>7.1f} {60 * result['sent'] / result['wall']:>19,.0f} {result['most']:>27}")
        received = sum(server.counts.values())
        print(f"The receiver got {received:,} messages ({total:,} in each run); none dropped: {received == 2 * total}.")
    server.shutdown()


if __name__ == "__main__":
    main()
