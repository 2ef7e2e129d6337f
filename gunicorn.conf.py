"""gunicorn's settings for Spa Booking (read from the project folder, or with --config).

gunicorn names itself in a Server header on every response ("gunicorn", and in some
versions its version), telling a scanner which server's weaknesses to try. It has no
setting to drop the header, so the response class gunicorn's workers use leaves it
out; tests/test_hardening.py starts gunicorn and checks that no Server header comes.
"""

import gunicorn.http.wsgi

_default_headers = gunicorn.http.wsgi.Response.default_headers


def _default_headers_without_server(response) -> list[str]:
    return [line for line in _default_headers(response) if not line.startswith("Server:")]


gunicorn.http.wsgi.Response.default_headers = _default_headers_without_server
# What the app sees in its environment (a debug page would show it).
gunicorn.http.wsgi.SERVER_SOFTWARE = "WSGI server"
