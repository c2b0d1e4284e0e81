"""WSGI entry point (gunicorn facturier.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facturier.settings")
application = get_wsgi_application()
