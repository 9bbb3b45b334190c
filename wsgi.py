"""WSGI entry point: flask --app wsgi ..."""

from lobby import create_app

app = create_app()
