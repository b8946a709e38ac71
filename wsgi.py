"""WSGI entry point: ``gunicorn wsgi:app``."""
from dorms import create_app

app = create_app()
