"""dorms: dormitory allocation and residence management for universities."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config as config_module
from .extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says."""
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("DORMS_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    instance_path = Path(app.instance_path)
    instance_path.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config_module.from_environment(instance_path))
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config:
            app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
                config["SQLALCHEMY_DATABASE_URI"]
            )
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent / "translations"))

    if proxies := app.config["DORMS_PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    _init_extensions(app)
    _init_features(app)
    _register_tasks()
    _register_blueprints(app)
    _register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from .core import database, kept
    from .i18n import select_locale, select_timezone

    db.init_app(app)
    database.install_sqlite_pragmas(app)
    kept.install()
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    bootstrap.init_app(app)
    limiter.init_app(app)
    _warn_if_limits_are_per_process(app)
    login_manager.init_app(app)


def _warn_if_limits_are_per_process(app: Flask) -> None:
    """memory:// keeps the sign-in limits in each process: under gunicorn (or any server started with
    WEB_CONCURRENCY above 1) every worker would allow the full count, so the limits would not hold."""
    if not app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return
    workers = os.environ.get("WEB_CONCURRENCY", "")
    if "gunicorn" in sys.modules or (workers.isdecimal() and int(workers) > 1):
        logging.getLogger(__name__).warning(
            "Sign-in limits are kept in memory, separately in each worker process: with several workers "
            "set DORMS_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 so that they hold.")


def _init_features(app: Flask) -> None:
    """Wiring a feature owns: its settings, the user loader, template helpers, sign-in backends."""
    from . import auth, checkin, directory, notifications, photos, selection
    from .core import web

    web.init_app(app)
    auth.init_app(app)
    photos.init_app(app)
    notifications.init_app(app)
    directory.init_app(app)
    checkin.init_app(app)
    selection.init_app(app)


def _register_tasks() -> None:
    """Each feature's background tasks (dorms.jobs): the web app, workers and schedulers know the same names."""
    from .access import tasks as access_tasks  # noqa: F401
    from .allocation import tasks as allocation_tasks  # noqa: F401
    from .checkin import tasks as checkin_tasks  # noqa: F401
    from .directory import tasks as directory_tasks  # noqa: F401
    from .jobs import housekeeping as jobs_housekeeping  # noqa: F401
    from .notifications import tasks as notifications_tasks  # noqa: F401
    from .selection import tasks as selection_tasks  # noqa: F401
    from .transfer import tasks as transfer_tasks  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from . import i18n
    from .access import api as access_api
    from .access import views as curfew_views
    from .access.zkteco import push as zkteco
    from .allocation import views as allocation_views
    from .auth import account_views
    from .auth import views as auth_views
    from .checkin import views as checkin_views
    from .directory import views as directory_views
    from .facilities import views as facilities_views
    from .hygiene import views as hygiene_views
    from .notifications import views as notifications_views
    from .jobs import views as jobs_views
    from .pages import audit_log, dashboard, setup
    # The room page and the student pages add their routes to the campus and students blueprints:
    # imported here, before those are registered.
    from .pages import room, students  # noqa: F401
    from .residence import campus_views
    from .residence import views as residence_views
    from .roomchange import views as roomchange_views
    from .selection import api as selection_api
    from .selection import views as selection_views
    from .selection import staff_views as selection_staff_views
    from .students import views as students_views
    from .transfer import views as transfer_views
    from .violations import views as violations_views

    for blueprint in (auth_views.bp, i18n.bp, dashboard.bp, campus_views.bp, students_views.bp,
                      residence_views.bp, audit_log.bp, transfer_views.bp, allocation_views.bp,
                      roomchange_views.bp, directory_views.bp, access_api.bp, curfew_views.bp, zkteco.bp,
                      facilities_views.bp, hygiene_views.bp, violations_views.bp, checkin_views.bp, setup.bp,
                      account_views.bp, notifications_views.bp, jobs_views.bp, selection_api.bp,
                      selection_views.bp,
                      selection_staff_views.bp):
        app.register_blueprint(blueprint)


def _register_cli(app: Flask) -> None:
    from .access.cli import access_cli
    from .allocation.cli import allocation_cli
    from .auth.cli import user_cli
    from .cli import db_command
    from .demo.cli import demo_command
    from .directory.cli import directory_cli
    from .notifications.cli import notifications_cli
    from .jobs.cli import jobs_cli, scheduler_command, worker_command
    from .photos.cli import photos_cli
    from .selection.cli import selection_cli
    from .transfer.cli import export_command, import_cli

    # Replaces Flask-Migrate's `db`: its upgrade also seeds the first-run defaults.
    app.cli.add_command(db_command(), name="db")
    app.cli.add_command(access_cli)
    app.cli.add_command(allocation_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(directory_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(photos_cli)
    app.cli.add_command(selection_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(export_command)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)
