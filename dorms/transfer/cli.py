from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import exporting, importing


@click.command("import")
@click.argument("kind", type=click.Choice(exporting.KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and report; write nothing.")
@with_appcontext
def import_cli(kind, file, dry_run):
    """Import rooms or students from a CSV or XLSX file (all rows or none).

    A large file (more rows than the import page takes) is imported here, with
    its progress on standard error.
    """
    def progress(stage: str, done: int, total: int) -> None:
        click.echo(f"{file.name}: {done} of {total} rows {stage}", err=True)

    try:
        report = importing.import_file(kind, file.name, file.read_bytes(), dry_run=dry_run, progress=progress)
    except importing.ImportRejected as rejected:
        db.session.rollback()
        for error in rejected.errors:
            click.echo(f"row {error.row}, {error.column}: {error.message}", err=True)
        raise click.ClickException(f"{file.name}: {len(rejected.errors)} problems; nothing was imported.")
    db.session.commit()
    verb = "would be" if dry_run else "were"
    click.echo(f"{file.name} ({report.encoding}): {report.rows} rows; {report.created} {verb} created, "
               f"{report.updated} updated, {report.unchanged} unchanged, {report.placed} placed in beds.")
    if report.inactive_residents:
        click.echo(f"Not active but still in a bed: {', '.join(report.inactive_residents)}")
    if report.ignored_columns:
        click.echo(f"Ignored columns: {', '.join(report.ignored_columns)}")


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
