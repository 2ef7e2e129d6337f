"""WSGI entry point for gunicorn: `gunicorn spa_booking.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spa_booking.settings")

application = get_wsgi_application()
