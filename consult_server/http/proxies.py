"""Behind a reverse proxy: the client's address and scheme, from proxies we trust.

In production a TLS proxy (nginx, Caddy) sits in front of the server, so every request
comes from the proxy's address over plain HTTP. For the requests that come from an
address in ``server.trusted_proxies``, the ``X-Forwarded-For`` and ``X-Forwarded-Proto``
headers the proxy sets are believed: the client is the right-most address in the chain
that is not itself a trusted proxy, and the scheme is the proxy's. The audit log's
"from where" and the cookies' Secure flag depend on it. From anyone else the headers are
ignored: a browser cannot claim another address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web
from aiohttp.web import AppKey

from consult_server.http.security import Handler

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.0.0.5", "10.0.0.0/24"); ValueError names a bad one."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _trusted(address: str | None, networks: tuple[Network, ...]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_of(remote: str | None, forwarded_for: str, networks: tuple[Network, ...]) -> str | None:
    """The client address: walk the X-Forwarded-For chain from the right past our proxies."""
    if not _trusted(remote, networks):
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage in the header: keep the proxy's own address
    return hops[0] if hops else remote


@web.middleware
async def proxy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    networks = request.app[TRUSTED_PROXIES]
    if networks and _trusted(request.remote, networks):
        client = client_of(request.remote, request.headers.get("X-Forwarded-For", ""), networks)
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else request.scheme
        if client != request.remote or scheme != request.scheme:
            request = request.clone(remote=client or request.remote or "", scheme=scheme)
    return await handler(request)


TRUSTED_PROXIES: AppKey[tuple[Network, ...]] = AppKey("trusted_proxies")
