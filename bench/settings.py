"""The production settings, plus the benchmark's bare view; only `make bench` uses this."""

from spa_booking.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Every booking still renders its confirmation email and calendar file after commit;
# the benchmark only leaves out the delivery (there is no mail server to talk to).
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
