"""The address of the person behind a request, also behind the spa's own proxies.

Behind a TLS-terminating proxy or load balancer, REMOTE_ADDR is the proxy's
address, the same for every visitor. Each trusted proxy appends the address it
received the request from to X-Forwarded-For, so with N trusted proxies in front
(DJANGO_TRUSTED_PROXY_COUNT) the visitor is the Nth address from the right.
Anything further left was written by the visitor and proves nothing, so it is
never read.

Login throttling (django-axes, AXES_CLIENT_IP_CALLABLE), the password reset's
rate limits and the access records all name the visitor with this one function.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The visitor's IP address as a string, or None when there is none to trust."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            hop.strip()
            for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if hop.strip()
        ]
        # Fewer hops than proxies: the request did not come through all of them, so
        # REMOTE_ADDR (the nearest machine that really sent it) is the best we know.
        if len(forwarded) >= proxies:
            return _valid(forwarded[-proxies])
    return _valid(request.META.get("REMOTE_ADDR", ""))


def _valid(address: str) -> str | None:
    # A malformed value would fail PostgreSQL's inet columns (axes, access records).
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
