"""WSGI entry point for the production server."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application
from gunicorn.errors import AppImportError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backroom.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # Gunicorn (27.0) prints the message of an AppImportError without a traceback and
    # stops with "App failed to load". Other WSGI servers show it as a traceback's last line.
    raise AppImportError(f"backroom: {error}") from None
