"""Spa Booking settings: one file, every value from the environment.

`.env.example` lists each variable with its meaning. Debug is off unless asked
for, and with debug off the site refuses to start without a secret key.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=on for local development."
        )
    SECRET_KEY = "insecure-development-only-key-never-used-when-debug-is-off"

# Health answers, free text and signatures are encrypted at rest with these Fernet
# keys (spa_booking/encryption.py), newest first: the first encrypts, any decrypts.
# Rotate: put a new key first, run `manage.py reencrypt`, then drop the old one.
SPA_ENCRYPTION_KEYS = env.list("SPA_ENCRYPTION_KEYS", default=[])
if not SPA_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SPA_ENCRYPTION_KEYS is not set. Set it to a key from python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
            "and keep it safe (without it the health answers cannot be read), "
            "or set DJANGO_DEBUG=on for local development."
        )
    # Public, so development needs no setup; it encrypts nothing when debug is off.
    SPA_ENCRYPTION_KEYS = ["c3BhLWJvb2tpbmctZGV2ZWxvcG1lbnQtb25seS1rZXk="]
for _key in SPA_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "SPA_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe "
            "base64-encoded bytes); generate keys with Fernet.generate_key()."
        ) from None

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=["127.0.0.1", "localhost"] if DEBUG else [],
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin, on a site that lets staff in only after their second factor.
    "spa_booking.admin_site.SpaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "clients",
    "appointments",
    "screening",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # Before the session and the user are loaded: a NUL would reach PostgreSQL there.
    "spa_booking.request_guards.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Staff and therapists: their second factor before any page, and short sessions.
    "clients.staff_sessions.StaffSessionMiddleware",
    "spa_booking.request_guards.AdminInputMiddleware",
    # Last, so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "spa_booking.urls"
WSGI_APPLICATION = "spa_booking.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spa_booking.context_processors.spa",
            ],
            # A typo in a template variable shows up in development instead of
            # rendering as an empty string (crispy failing silently, for one).
            "string_if_invalid": "INVALID: %s" if DEBUG else "",
            # The error summary every form starts with (includes/error_summary.html).
            "libraries": {"form_errors": "spa_booking.form_errors"},
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/spa_booking"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The planner's price of reading a page out of order. PostgreSQL's default (4, four times a
# page read in order) is a spinning disk's; on an SSD, or with the working set in memory as
# here, out of order costs about the same (1.1 is the usual setting). At 4, PostgreSQL
# preferred reading all 100,000 accounts to looking up the 900 a search had found by their
# ids (17 ms against 4). Set per connection, so every database the app uses plans alike.
_RANDOM_PAGE_COST = env.float("DJANGO_DB_RANDOM_PAGE_COST", default=1.1)
_OPTIONS = DATABASES["default"].setdefault("OPTIONS", {})
_OPTIONS["options"] = " ".join(
    filter(None, [f"-c random_page_cost={_RANDOM_PAGE_COST}", _OPTIONS.get("options")])
)
# The free times' big query is PREPAREd once per connection (spa_booking/prepared_statements.py).
# A pooler that hands each transaction a different session (PgBouncer in transaction mode)
# loses prepared statements: turn this off behind one.
SPA_PREPARED_STATEMENTS = env.bool("DJANGO_DB_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Accounts and authentication
AUTH_USER_MODEL = "clients.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username and IP before the password
    # is even checked.
    "axes.backends.AxesStandaloneBackend",
    "clients.backends.ClientAwareBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "clients:login"
LOGIN_REDIRECT_URL = "clients:account"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3  # a reset link works for three hours

# The visitor's address is the Nth from the right of X-Forwarded-For behind N
# trusted proxies (spa_booking/client_address.py); behind the documented
# TLS-terminating proxy that is one, else REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int(
    "DJANGO_TRUSTED_PROXY_COUNT", default=1 if env.bool("DJANGO_BEHIND_PROXY", default=False) else 0
)

# Login throttling (clients/throttling.py): an account is locked out from one
# address after repeated failures, so a stranger cannot lock a client out from
# everywhere; and an address is locked out after failures across accounts
# (password spraying). A lock-out ends after the cool-off, however many more
# attempts it refuses meanwhile, and a password reset ends it at once.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
SPA_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("SPA_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["ip_address"]]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clients.throttling.locked_out"
AXES_USERNAME_CALLABLE = "clients.throttling.axes_username"
AXES_CLIENT_IP_CALLABLE = "spa_booking.client_address.client_address"
AXES_HANDLER = "clients.throttling.LoginThrottle"
AXES_VERBOSE = False

# Staff and therapists see health data or run the spa: they sign in with a second
# factor (an authenticator app, or a one-time backup code; clients.two_factor), and
# are signed out after this long without a request, and after this long in all.
# Clients keep SESSION_COOKIE_AGE.
SPA_STAFF_IDLE_MINUTES = env.int("SPA_STAFF_IDLE_MINUTES", default=30)
SPA_STAFF_SESSION_HOURS = env.float("SPA_STAFF_SESSION_HOURS", default=12)

# Emails about an account that anyone may ask for (a password reset link, "someone
# tried to sign up with your address"): at most this many an hour to one account,
# and from one visitor's address to all accounts together.
SPA_ACCOUNT_EMAILS_PER_HOUR = env.int("SPA_ACCOUNT_EMAILS_PER_HOUR", default=3)
SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR = env.int(
    "SPA_ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR", default=10
)

# Internationalisation and time: stored in UTC, shown in the spa's time zone.
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("SPA_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# Static files: our own copy of Bootstrap, served by WhiteNoise in production.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; development and the
        # tests serve the files as they are.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}

# Forms: widget templates come from templates/ like every other template.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
CRISPY_FAIL_SILENTLY = not DEBUG

# Email: the console in development, SMTP (EMAIL_URL) in production.
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", "")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Spa Booking <bookings@spa.example>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
ADMINS = [("Admin", address) for address in env.list("DJANGO_ADMINS", default=[])]

# HTTPS and security headers. On by default in production; DJANGO_HTTPS=off is
# for plain-HTTP test servers only.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: everything from our own origin, no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Permissions-Policy: the site uses none of the browser's powerful features, so a
# script that got in could not turn on the camera, the microphone or the location.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "browsing-topics",
    )
}

# Logging: requests are logged without bodies; nothing here ever logs form data.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
    },
}

# Booking rules
SPA_SLOT_STEP_MINUTES = env.int("SPA_SLOT_STEP_MINUTES", default=15)
SPA_MINIMUM_NOTICE_HOURS = env.float("SPA_MINIMUM_NOTICE_HOURS", default=2)
SPA_BOOKING_HORIZON_DAYS = env.int("SPA_BOOKING_HORIZON_DAYS", default=60)
SPA_CANCELLATION_WINDOW_HOURS = env.float("SPA_CANCELLATION_WINDOW_HOURS", default=24)
# Whatever the window, a client may cancel or move a booking online for this long after
# making it (a slip put right at once, even for a time that is hours away).
SPA_CANCELLATION_GRACE_MINUTES = env.float("SPA_CANCELLATION_GRACE_MINUTES", default=15)
# How long a booking waits for another booking of the same therapist, room or
# client before it gives up and asks the person to try again.
SPA_BOOKING_LOCK_TIMEOUT_MS = env.int("SPA_BOOKING_LOCK_TIMEOUT_MS", default=5000)
# The front desk's day book shows this many therapists (columns) to a page.
SPA_DAY_BOOK_THERAPISTS = env.int("SPA_DAY_BOOK_THERAPISTS", default=12)
# ...and its work list this many of today's arrivals to a page.
SPA_ARRIVALS_PER_PAGE = env.int("SPA_ARRIVALS_PER_PAGE", default=30)

# The back-walking gate
SPA_SCREENING_VALID_MONTHS = env.int("SPA_SCREENING_VALID_MONTHS", default=12)
# A booking held for a staff review is released if nobody decides within this
# many hours of booking, and in any case this many hours before it starts.
SPA_REVIEW_HOLD_HOURS = env.float("SPA_REVIEW_HOLD_HOURS", default=48)
SPA_REVIEW_DEADLINE_HOURS = env.float("SPA_REVIEW_DEADLINE_HOURS", default=4)

# Privacy: health records are purged this many years after the client's last
# appointment or screening (purge_health_records; the reasoning is docs/PRIVACY.md).
SPA_HEALTH_RECORD_RETENTION_YEARS = env.int("SPA_HEALTH_RECORD_RETENTION_YEARS", default=8)
# The outbox keeps a notice this many days after it was sent (or skipped as old news),
# for staff to see which emails went out; purge_sent_notices deletes it then.
SPA_SENT_NOTICE_RETENTION_DAYS = env.int("SPA_SENT_NOTICE_RETENTION_DAYS", default=90)

# The spa
SPA_NAME = env.str("SPA_NAME", default="Still Waters Spa")
SPA_PHONE = env.str("SPA_PHONE", default="+44 20 7946 0000")
SPA_EMAIL = env.str("SPA_EMAIL", default="hello@spa.example")
# Where the spa is, for the booking emails and pages (one line, commas between parts),
# and a link to directions (default: the address on OpenStreetMap).
SPA_ADDRESS = env.str("SPA_ADDRESS", default="12 Harbour Lane, London SE1 9XX")
SPA_MAP_URL = env.str(
    "SPA_MAP_URL", default=f"https://www.openstreetmap.org/search?query={quote(SPA_ADDRESS)}"
)
# The name an authenticator app shows beside a staff member's codes.
OTP_TOTP_ISSUER = SPA_NAME
# The address of the site, for the links in emails (they leave from send_notices,
# outside any request, so no request's host can be taken for the spa's).
SPA_SITE_URL = env.str(
    "SPA_SITE_URL",
    default="http://127.0.0.1:8000"
    if DEBUG
    else f"https://{next((h.lstrip('.') for h in ALLOWED_HOSTS if h != '*'), 'localhost')}",
).rstrip("/")
# The domain in calendar event UIDs and email Message-IDs: one the spa owns, so no
# other installation's events or emails are ever taken for this spa's.
SPA_CALENDAR_DOMAIN = env.str("SPA_CALENDAR_DOMAIN", default=SPA_EMAIL.rpartition("@")[2])
