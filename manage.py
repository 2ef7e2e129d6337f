#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spa_booking.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - load the settings now
    except ImproperlyConfigured as error:
        # Django would swallow this and fail later with "Models aren't loaded yet".
        sys.exit(f"Spa Booking cannot start: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
