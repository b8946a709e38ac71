from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.models import User
from ..core.clock import utcnow
from ..core.forms import page_number, submit
from ..core.roles import staff_required
from ..extensions import db
from . import preferences as prefs
from .kinds import KINDS, kinds_for
from .models import CHOSEN_CHANNELS, ROBOT_SERVICES, Delivery, Notification
from .outbox import render
from .sending import retry

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 50


@bp.get("/")
@login_required
def index():
    page = page_number(request.args)
    rows = list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    items = [(n, *render(n), KINDS[n.kind].endpoint if n.kind in KINDS else None) for n in rows[:PER_PAGE]]
    return render_template("notifications/index.html", items=items, page=page, has_next=len(rows) > PER_PAGE)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    notification.read_at = notification.read_at or utcnow()
    db.session.commit()
    endpoint = KINDS[notification.kind].endpoint if notification.kind in KINDS else None
    if request.form.get("open") and endpoint:
        return redirect(url_for(endpoint))
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def mark_all_read():
    db.session.execute(sa.update(Notification).where(
        Notification.user_id == current_user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    if request.method == "POST":
        form = request.form
        chosen = {(kind, channel) for kind, channel in (key.split(":", 1) for key in form if ":" in key)
                  if kind in KINDS and channel in CHOSEN_CHANNELS}
        submit(None, lambda: prefs.save(current_user, email=form.get("email", ""),
                                        robot_service=form.get("robot_service", ""),
                                        robot_url=form.get("robot_url", ""), robot_secret=form.get("robot_secret", ""),
                                        chosen=chosen), _("Your notification settings are saved."))
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", kinds=kinds_for(current_user.role),
                           choices=prefs.choices_of(current_user), contact=prefs.contact_of(current_user),
                           services=ROBOT_SERVICES, channels=CHOSEN_CHANNELS)


@bp.get("/failing")
@staff_required
def failing():
    """Deliveries given up, newest first, and each channel's count of them with its last error."""
    rows = db.session.execute(
        sa.select(Delivery, Notification, User).join(Notification, Delivery.notification_id == Notification.id)
        .join(User, Notification.user_id == User.id).where(Delivery.status == "failed")
        .order_by(Delivery.id.desc()).limit(200)).all()
    channels = db.session.execute(
        sa.select(Delivery.channel, sa.func.count(), sa.func.max(Delivery.id))
        .where(Delivery.status == "failed").group_by(Delivery.channel).order_by(Delivery.channel)).all()
    last_errors = {d.id: d.last_error for d, _n, _u in rows}
    return render_template("notifications/failing.html", rows=[(d, n, u, render(n)[0]) for d, n, u in rows],
                           channels=[(channel, count, last_errors.get(last, "")) for channel, count, last in channels])


@bp.post("/failing/<int:delivery_id>/retry")
@staff_required
def retry_delivery(delivery_id: int):
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "failed":
        abort(404)
    submit(None, lambda: retry(delivery), _("The notification will be sent again within a minute."))
    return redirect(url_for("notifications.failing"))
