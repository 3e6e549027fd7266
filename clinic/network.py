"""The client's real address, the one thing the lockout, the audit trail, log lines and rate
limits key on.

Behind a reverse proxy every connection comes from the proxy, and the client's address is in
`X-Forwarded-For`. That header is whatever the sender wrote, so it is believed only when the
connection comes from one of `TRUSTED_PROXIES` (IP addresses or CIDR networks; empty by
default: the header is then ignored and the connection's own address is the client's). Behind
several proxies the chain is read from the right, each proxy having appended the address it
saw, and the first address that is not a trusted proxy is the client; anything further left was
written by the client itself and is never believed. The header is parsed by django-ipware.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from ipware import get_client_ip

# More proxies in a row than any deployment has: a bound on the walk, not a setting.
_MAX_HOPS = 8


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            message = f"TRUSTED_PROXIES: {entry!r} is not an IP address or network."
            raise ImproperlyConfigured(message) from exc
    return tuple(networks)


def trusted_networks() -> tuple:
    """TRUSTED_PROXIES as networks (a misspelt entry fails loudly, never trusts everyone)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _parse(value) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    return _parse_text(str(value).strip())


@lru_cache(maxsize=1024)
def _parse_text(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Every request parses its peer's address (often the same few proxies or clients) once or
    # twice; the parsed addresses are immutable, so a small cache answers most of them.
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


@lru_cache(maxsize=1024)
def _canonical(text: str) -> str | None:
    address = _parse_text(text)
    return None if address is None else str(address)


def is_trusted_proxy(address) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(
        parsed.version == network.version and parsed in network for network in trusted_networks()
    )


def client_ip(request) -> str | None:
    """The address of the client that sent ``request`` (a Django or DRF request)."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    remote_addr = request.META.get("REMOTE_ADDR")
    if not trusted_networks():
        # No proxy is trusted (the default): the connection's address, whatever the headers say.
        return _canonical(str(remote_addr).strip()) if remote_addr else None
    remote = _parse(remote_addr)
    if remote is None:
        return None
    if not is_trusted_proxy(remote):
        # A direct client (or nothing is configured): its X-Forwarded-For is its own invention.
        return str(remote)
    client = remote
    # hops = how many trusted proxies stand between the client and the right end of the
    # header; django-ipware picks the entry that many places from the right.
    for hops in range(_MAX_HOPS):
        candidate, _ = get_client_ip(
            request,
            proxy_order="left-most",
            proxy_count=hops,
            request_header_order=["HTTP_X_FORWARDED_FOR"],
            strict=False,
        )
        if candidate is None:
            break  # the chain ends (or is garbage) here: the last proxy's peer is all we know
        client = _parse(candidate) or client
        if not is_trusted_proxy(client):
            break
    return str(client)
