"""`dorms access`: door events, cards and permissions from files, and the curfew report."""
from __future__ import annotations

import csv
import sys
from datetime import date

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from flask_babel import force_locale

from ..core.database import analyze_bulk_writes
from ..core.errors import ServiceError
from ..core.tables import readable_headers
from ..extensions import db
from ..i18n import CLI_LANGUAGES
from . import ingest
from .devices import devices, register_device
from .labels import STATUS_LABELS
from .models import ApiToken
from .reports import feed_health, feed_settings, feed_warnings, has_curfew, night_report
from .retention import purge
from .rollup import finished_nights, recent_nights, rollup
from .tokens import create_token, revoke_token
from .zkteco import files


@click.group("access", help="Door access: events, cards, permissions, curfew reports.")
def access_cli():
    pass


def _run_import(action, path, *, hint: str = "", **kwargs) -> ingest.Report:
    with open(path, "rb") as f:
        data = f.read()
    try:
        report = action(data, **kwargs)
    except ingest.Rejected as rejected:
        db.session.rollback()
        for error in rejected.errors:
            click.echo(f"{path}: {error}", err=True)
        if hint and all(error.row for error in rejected.errors):
            click.echo(hint, err=True)
        raise click.ClickException(f"{path}: nothing imported ({len(rejected.errors)} problems)") from None
    db.session.commit()
    analyze_bulk_writes()  # a file of door events may hold a term's worth
    return report


def _columns(value: str | None) -> dict[str, str] | None:
    """--columns card=卡号,time=时间: our names to the file's."""
    if not value:
        return None
    columns = dict(ingest.PRESETS["generic"])
    for pair in value.split(","):
        ours, _, theirs = pair.partition("=")
        if ours.strip() not in ingest.EVENT_COLUMNS or not theirs.strip():
            raise click.BadParameter(f"{pair!r}: expected one of {', '.join(ingest.EVENT_COLUMNS)}=COLUMN")
        columns[ours.strip()] = theirs.strip()
    return columns


@access_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--preset", type=click.Choice(["generic", "zkteco"]), default="generic", show_default=True,
              help="generic: event_id,card,building,door,time,direction,result (docs/curfew.md); zkteco: what ZKTeco "
                   "terminals and software export (attlog.dat, BioTime, ZKTime 5.0; CSV or .xlsx).")
@click.option("--columns", help="Map our columns to the file's, e.g. card=卡号,time=时间 (instead of a preset).")
@click.option("--device", help="zkteco: the registered device the file comes from (its building, door and clock).")
@click.option("--building", help="zkteco: the building, for a file of a device that is not registered.")
@click.option("--timezone", help="zkteco, with --building: the device clock's time zone (default: the campus's).")
@click.option("--date-order", type=click.Choice(["ymd", "dmy", "mdy"]),
              help="zkteco: how the file writes dates, when its dates cannot tell (02/10/2025).")
@click.option("--skip-bad-rows", is_flag=True,
              help="zkteco: store the good rows of a file a terminal partly damaged, and list the others.")
@click.option("--source", default="file", show_default=True,
              help="Which system the file comes from: event ids are unique within a source (use an API "
                   "integration's source, api<token id>, for its exports too).")
@with_appcontext
def import_command(path, preset, columns, device, building, timezone, date_order, skip_bad_rows, source):
    """Door events from a file: all rows or none; the same event twice is stored once."""
    if timezone and not building:
        raise click.BadParameter("--timezone goes with --building (a registered device has its own)")
    if (device or building or date_order or skip_bad_rows) and (preset != "zkteco" or columns):
        raise click.BadParameter("--device, --building, --date-order and --skip-bad-rows go with --preset zkteco")
    if device and building:
        raise click.BadParameter("give --device or --building, not both")
    if preset == "zkteco" and not columns:
        def action(data):
            where = files.place(device=device, building=building, timezone=timezone)
            return files.import_export(data, path, where=where, date_order=date_order, skip_bad_rows=skip_bad_rows,
                                       source=source)
        report = _run_import(action, path, hint="Rows a terminal damaged can be left out: --skip-bad-rows stores "
                                                  "the others and lists what it skipped.")
    else:
        report = _run_import(ingest.import_events, path, columns=_columns(columns), source=source)
    for error in report.extra.get("skipped", [])[:ingest.MAX_ERRORS]:
        click.echo(f"{path}: skipped {error}", err=True)
    skipped = len(report.extra.get("skipped", []))
    click.echo(f"{report.rows} rows: {report.stored} events stored, {report.duplicates} already there, "
               f"{report.unmatched} of unknown cards (kept, matched once the card is known)"
               + (f"; {skipped} bad rows skipped" if skipped else ""))


@access_cli.command("import-cards")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_cards_command(path):
    """Cards and PINs from a CSV file (card,pin,student_number; either identifier may be left out): all rows
    or none."""
    report = _run_import(ingest.import_cards, path)
    click.echo(f"{report.rows} rows: {report.created} cards created, {report.updated} handed on, "
               f"{report.unchanged} unchanged; {report.matched} earlier events matched")


@access_cli.command("import-permissions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_permissions_command(path):
    """Late-return and overnight permissions from a CSV file (an older system's): all rows or none."""
    report = _run_import(ingest.import_permissions, path)
    click.echo(f"{report.rows} rows: {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged")


@access_cli.command("report")
@click.option("--night", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--format", "output_format", type=click.Choice(["csv"]), default="csv", show_default=True)
@click.option("--language", type=click.Choice(sorted(CLI_LANGUAGES)),
              help="Column names and statuses in this language (default: the documented machine-readable ones).")
@with_appcontext
def report_command(night, output_format, language):
    """The curfew report of one night: a row per resident (student_number,status,time,...)."""
    day: date = night.date()
    if not has_curfew(day):
        click.echo(f"{day}: no curfew that night (a holiday, or outside every term)", err=True)
    rows = night_report(day)
    # Warnings go to stderr: the columns on stdout stay as documented for whatever reads them.
    for feed in feed_warnings(feed_health(day, rows)) if rows else []:
        heard = (f"last event {feed.last_event:%Y-%m-%d %H:%M}" if feed.last_event
                 else f"no event in the {feed_settings()['history']} nights before")
        heard += "".join(f"; device {d.serial_number} last heard "
                         + (f"{d.last_seen_at:%Y-%m-%d %H:%M} UTC" if d.last_seen_at else "never")
                         for d in feed.devices)
        if feed.state == "no_data":
            click.echo(f"warning: {day} {feed.building}: no door data (no event from noon to the cutoff); its "
                       f"residents are no_data, not absent ({heard})", err=True)
        else:
            click.echo(f"warning: {day} {feed.building}: low door data, {feed.events} events against about "
                       f"{feed.usual} on recent nights; check its doors before acting on absences ({heard})",
                       err=True)
    writer = csv.writer(sys.stdout)
    with force_locale(CLI_LANGUAGES.get(language, "en")):
        headers = ["student_number", "status", "time", "name", "class", "college", "building", "last_seen",
                   "last_door"]
        writer.writerow(readable_headers(headers) if language else headers)
        for row in rows:
            writer.writerow([row.student_number, str(STATUS_LABELS[row.status]) if language else row.status.value,
                             row.time.isoformat(timespec="minutes") if row.time else "", row.name, row.class_name,
                             row.college, row.building,
                             row.last_seen.isoformat(timespec="minutes") if row.last_seen else "", row.last_door])


@access_cli.group("token")
def token_cli():
    """API tokens for access-control systems posting to /api/access/events."""


@token_cli.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["events:post", "residents:read"]), default="events:post",
              show_default=True, help="events:post to send door events; residents:read to read who may enter where.")
@with_appcontext
def token_create(name, scope):
    """A new token for the integration NAME; it is shown once, keep it safe."""
    row, token = create_token(name, scope)
    db.session.commit()
    click.echo(f"token {row.id} for {row.name}: {token}")
    click.echo("It is shown only now; the server keeps only its hash.", err=True)


@token_cli.command("list")
@with_appcontext
def token_list():
    for row in db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id)):
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(f"{row.id}\t{row.prefix}…\t{row.name}\t{row.scope}\t{state}\t{used}")


@token_cli.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def token_revoke(token_id):
    row = db.session.get(ApiToken, token_id)
    if row is None:
        raise click.ClickException(f"no token {token_id}")
    revoke_token(row)
    db.session.commit()
    click.echo(f"token {row.id} ({row.name}) revoked")


@access_cli.group("device")
def device_cli():
    """ZKTeco devices pushing to /iclock (registered by serial number)."""


@device_cli.command("add")
@click.argument("serial_number")
@click.option("--building", required=True, help="The building code where it stands.")
@click.option("--door", default="", help="Which door, as the report should name it.")
@click.option("--timezone", default="Asia/Shanghai", show_default=True, help="The device clock's time zone.")
@click.option("--network", "networks", required=True,
              help="The address or network it pushes from, e.g. 10.20.3.41 or 10.20.0.0/16 (comma-separated).")
@with_appcontext
def device_add(serial_number, building, door, timezone, networks):
    try:
        register_device(serial_number, building, networks, door, timezone)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"device {serial_number}: {building} {door} ({timezone})")


@device_cli.command("list")
@with_appcontext
def device_list():
    for d in devices():
        seen = f"{d.last_seen_at:%Y-%m-%d %H:%M}" if d.last_seen_at else "never"
        protocol = {"attendance": "attendance push", "security": "Security PUSH"}.get(d.protocol, "not in contact yet")
        if d.protocol == "security":
            protocol += f", registered {d.registered_at:%Y-%m-%d %H:%M}" if d.registered_at else ", not registered yet"
        device = " ".join(part for part in (d.model, d.firmware) if part)
        click.echo(f"{d.serial_number}\t{d.building}\t{d.door}\t{d.timezone}\t{d.networks}\t{protocol}"
                   + (f" {d.push_version}" if d.push_version else "") + (f"\t{device}" if device else "")
                   + f"\tlast seen {seen}"
                   + (f"\terror{f' at {d.last_error_at:%Y-%m-%d %H:%M}' if d.last_error_at else ''}: {d.last_error}"
                      if d.last_error else ""))


@access_cli.command("purge")
@click.option("--days", type=int, help="Keep this many days of raw events (default: ACCESS_RETENTION_DAYS, 180).")
@click.option("--dry-run", is_flag=True, help="Say what would go; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (from cron).")
@with_appcontext
def purge_command(days, dry_run, yes):
    """Delete raw door events past retention, after keeping every affected night's statuses."""
    try:
        if not dry_run and not yes:  # say how many first: deleted events do not come back
            would = purge(days, dry_run=True)
            db.session.rollback()
            click.confirm(f"Delete {would.events_deleted} door events before {would.before:%Y-%m-%d %H:%M} UTC "
                          f"(keeping {would.nights_rolled_up} nights as nightly statuses)?", abort=True)
        report = purge(days, dry_run=dry_run)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(f"events before {report.before:%Y-%m-%d %H:%M} UTC: {report.events_deleted} "
               f"{'would be ' if dry_run else ''}deleted; {report.nights_rolled_up} nights "
               f"({report.statuses_kept} statuses) {'would be ' if dry_run else ''}kept as nightly statuses")


@access_cli.command("rollup")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Recompute from this night (default: fill in the nights of the last 60 that have no statuses).")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last night (default: last night).")
@with_appcontext
def rollup_command(since, until):
    """Keep finished nights' statuses for fast reports (run it each morning after the cutoff, e.g. 06:30)."""
    last = until.date() if until else None
    nights = finished_nights(since.date(), last) if since else recent_nights(last)
    written = rollup(nights, only_missing=since is None)
    db.session.commit()
    click.echo(f"{len(nights)} nights looked at, {written} statuses kept")
