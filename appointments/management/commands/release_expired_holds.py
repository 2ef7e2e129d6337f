"""Release back-walking bookings held for a health review that nobody decided in time.

Safe to run as often as you like (every few minutes from cron): each hold is
released once, under a row lock, and the client is emailed.
"""

from django.core.management.base import BaseCommand

from appointments.services.holds import release_expired_holds


class Command(BaseCommand):
    help = "Cancel held (pending_review) appointments whose review deadline has passed."

    def handle(self, *args, **options) -> None:
        released = release_expired_holds()
        self.stdout.write(f"Released {released} held appointment{'s' if released != 1 else ''}.")
