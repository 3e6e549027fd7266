"""Where a ``next`` parameter may send the browser: this site only.

Every view that redirects to a ``next`` given by the request goes through ``safe_next``. Django's
``url_has_allowed_host_and_scheme`` refuses other hosts, ``//evil.example``, ``/\\evil.example``
(which browsers read as ``//``), ``javascript:`` and the like, and plain ``http`` when the
request came over ``https``; what it refuses gives way to the view's own fallback.
"""

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_next(request, url: str | None) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def safe_next(request, url: str | None, fallback: str) -> str:
    """``url`` if it stays on this site, else ``fallback`` (a URL, a path or a URL name)."""
    return url if is_safe_next(request, url) else resolve_url(fallback)
