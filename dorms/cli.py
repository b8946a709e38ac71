"""The ``dorms`` console script: Flask's CLI with the app built by create_app()."""
from flask.cli import FlaskGroup

from . import create_app


def main() -> None:
    FlaskGroup(create_app=lambda: create_app(), help="dorms: dormitory management.")()
