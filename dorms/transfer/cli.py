from pathlib import Path

import click
from flask.cli import with_appcontext

from ..core.database import analyze_bulk_writes
from ..extensions import db
from . import exporting, importing


@click.command("import")
@click.argument("kind", type=click.Choice(exporting.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report (with every move); write nothing.")
@click.option("--move-residents", is_flag=True,
              help="Write a students file that moves residents to other beds (listed first with --dry-run).")
@with_appcontext
def import_cli(kind, file, dry_run, move_residents):
    """Import rooms or students from a CSV or XLSX file (all rows or none).

    A large file (more rows than the import page takes) is imported here, with
    its progress on standard error. A students file that moves residents is
    refused, with the list of moves, unless --move-residents is given.
    """
    def progress(stage: str, done: int, total: int) -> None:
        click.echo(f"{file.name}: {done} of {total} rows {stage}", err=True)

    data = file.read_bytes()
    try:
        report = importing.import_file(kind, file.name, data, dry_run=dry_run, progress=progress,
                                       moves_confirmed=move_residents or None)
    except importing.ImportRejected as rejected:
        db.session.rollback()
        for error in rejected.errors:
            click.echo(f"row {error.row}, {error.column}: {error.message}", err=True)
        raise click.ClickException(f"{file.name}: {len(rejected.errors)} problems; nothing was imported.")
    except importing.MovesNeedConfirmation as unconfirmed:
        db.session.rollback()
        _echo_moves(unconfirmed.report, err=True)
        raise click.ClickException(f"{file.name} moves {len(unconfirmed.report.resident_moves)} residents to "
                                   f"other beds; nothing was imported. Check the moves and import again with "
                                   f"--move-residents.")
    db.session.commit()
    analyze_bulk_writes()
    _echo_moves(report)
    verb = "would be" if dry_run else "were"
    click.echo(f"{file.name} ({report.encoding}): {report.rows} rows; {report.created} {verb} created, "
               f"{report.updated} updated, {report.unchanged} unchanged, {report.placed} placed in beds.")
    if report.inactive_residents:
        click.echo(f"Not active but still in a bed: {', '.join(report.inactive_residents)}")
    if report.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(report.ignored_columns)}")


def _echo_moves(report: importing.ImportReport, *, err: bool = False) -> None:
    """Every student the import moves or assigns, one a line: what a re-imported older export would undo."""
    for placement in report.resident_moves:
        click.echo(f"move\t{placement.student}\t{placement.from_bed}\t{placement.to_bed}", err=err)
    for placement in report.assigned:
        click.echo(f"assign\t{placement.student}\t\t{placement.to_bed}", err=err)


@click.command("export")
@click.argument("kind", type=click.Choice(exporting.KINDS))
@click.option("--format", "file_format", type=click.Choice(exporting.FORMATS), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write; standard output when omitted.")
@click.option("--language", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="en: the documented machine-readable columns and words; zh: Chinese ones (import reads both).")
@with_appcontext
def export_command(kind, file_format, output, language):
    """Export rooms or students, with a header row, in the columns import reads."""
    data = exporting.export(kind, file_format, language=language)
    if output:
        output.write_bytes(data)
        click.echo(f"Wrote {output}.", err=True)
    else:
        click.echo(data, nl=False)  # bytes go to the binary stdout as they are
