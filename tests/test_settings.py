"""Settings fail closed and production settings pass Django's deployment check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_django(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    # Every start with debug off needs an encryption key: the test one from
    # pyproject.toml stays, unless a test overrides it.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SPA_", "EMAIL_")) or key == "SPA_ENCRYPTION_KEYS"
    }
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "spa_booking.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_django("import django; django.setup()")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_refuses_to_start_without_an_encryption_key_when_debug_is_off():
    result = run_django(
        "import django; django.setup()", DJANGO_SECRET_KEY="x" * 60, SPA_ENCRYPTION_KEYS=""
    )

    assert result.returncode != 0
    assert "SPA_ENCRYPTION_KEYS is not set" in result.stderr


def test_refuses_a_malformed_encryption_key_without_repeating_it():
    result = run_django(
        "import django; django.setup()",
        DJANGO_SECRET_KEY="x" * 60,
        SPA_ENCRYPTION_KEYS="not-a-fernet-key-but-a-secret-all-the-same",
    )

    assert result.returncode != 0
    assert "not a Fernet key" in result.stderr
    assert "not-a-fernet-key" not in result.stderr


def test_debug_is_off_unless_asked_for():
    result = run_django(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_SECRET_KEY="x" * 60,
    )

    assert result.stdout.strip() == "False"


def test_development_starts_without_a_secret_key_or_encryption_key_when_debug_is_on():
    result = run_django(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_DEBUG="on",
        SPA_ENCRYPTION_KEYS="",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_settings_pass_the_deployment_check():
    result = run_django(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        DJANGO_SECRET_KEY="kq3v8Zr2-x9TnP0bLw7Hy4Jd6Fs1Mc5Ge8Ua3Oi2Rt7Yp4Xn0Vb6Qz9Kl1Wm5Sj",
        DJANGO_ALLOWED_HOSTS="spa.example",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_email_goes_to_smtp_from_the_environment():
    result = run_django(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)",
        DJANGO_SECRET_KEY="x" * 60,
        EMAIL_URL="smtp+tls://mailer:secret@smtp.spa.example:587",
    )

    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.spa.example",
        "587",
    ]


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client):
    response = client.get("/", secure=True)

    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/")

    assert response.status_code == 301
    assert response.url.startswith("https://")


def read_settings(*names: str, **env: str) -> list[str]:
    result = run_django(
        "import django; django.setup(); from django.conf import settings; "
        f"print(*[getattr(settings, name) for name in {list(names)!r}])",
        DJANGO_SECRET_KEY="x" * 60,
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_behind_the_documented_proxy_the_visitor_is_one_hop_back():
    assert read_settings("TRUSTED_PROXY_COUNT") == ["0"]
    assert read_settings("TRUSTED_PROXY_COUNT", DJANGO_BEHIND_PROXY="on") == ["1"]
    assert read_settings(
        "TRUSTED_PROXY_COUNT", DJANGO_BEHIND_PROXY="on", DJANGO_TRUSTED_PROXY_COUNT="2"
    ) == ["2"]


def test_links_in_emails_point_at_the_site_not_at_whatever_host_a_request_named():
    assert read_settings("SPA_SITE_URL", DJANGO_ALLOWED_HOSTS="spa.example,www.spa.example") == [
        "https://spa.example"
    ]
    assert read_settings("SPA_SITE_URL", SPA_SITE_URL="https://book.spa.example/") == [
        "https://book.spa.example"
    ]


@pytest.mark.django_db
def test_every_connection_plans_with_an_ssds_random_page_cost():
    """PostgreSQL's default (4, a spinning disk's) made a search of several words read all
    100,000 accounts of a chain instead of looking up the 900 its first word had found."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"


def test_random_page_cost_can_be_set_and_keeps_other_connection_options():
    result = run_django(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])",
        DJANGO_DEBUG="on",
        DJANGO_DB_RANDOM_PAGE_COST="2",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x?options=-c%20work_mem%3D8MB",
    )

    assert result.stdout.strip() == "-c random_page_cost=2.0 -c work_mem=8MB", result.stderr


@pytest.mark.parametrize(("value", "expected"), [(None, "True"), ("off", "False")])
def test_prepared_statements_are_on_unless_turned_off_for_a_transaction_pooler(value, expected):
    environment = {"DJANGO_DB_PREPARED_STATEMENTS": value} if value else {}
    result = run_django(
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SPA_PREPARED_STATEMENTS)",
        DJANGO_DEBUG="on",
        **environment,
    )

    assert result.stdout.strip() == expected, result.stderr
