"""Which of a participant's ICE candidates the media server may send checks to.

A candidate is an address the browser says it can be reached at, and the server sends
STUN to it: without a rule, anyone in a room could point the server at addresses of
their choosing (the server's own services, the hospital LAN, multicast). We contact
only addresses a participant's computer could own:

- never loopback, unspecified, link-local, multicast or broadcast addresses, nor the
  media server's own addresses;
- private ranges (RFC 1918, CGNAT, IPv6 unique-local) only inside the configured
  facility networks (``media.facility_networks``);
- ``.local`` names (mDNS) are not resolved unless ``media.resolve_mdns`` is set: the
  server would ask its whole LAN.

Nothing is lost for a real participant: a browser that sends checks from an address the
server does not contact is still answered, and learned as a peer-reflexive candidate
(RFC 8445 7.3.1.3) from where its packets actually come from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: At most this many distinct remote candidates per peer (offer and trickle together):
#: a browser gathers a few per network interface; each one costs checks every 20 ms.
MAX_REMOTE_CANDIDATES = 24

_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fe80::/10",
        "ff00::/8",
    )
)


def _address(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class CandidatePolicy:
    facility_networks: tuple[Network, ...] = ()
    resolve_mdns: bool = False
    #: The media server's own addresses, asked at each check (they are configured at
    #: start-up, after the policy is made).
    own_addresses: Callable[[], Iterable[str]] = field(default=lambda: ())

    @classmethod
    def from_config(
        cls,
        facility_networks: Iterable[str],
        resolve_mdns: bool,
        own_addresses: Callable[[], Iterable[str]],
    ) -> CandidatePolicy:
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in facility_networks)
        return cls(networks, resolve_mdns, own_addresses)

    def refusal(self, host: str, port: int) -> str | None:
        """Why the server will not contact ``host:port``, or None when it may."""
        if not 0 < port < 65536:
            return "no_port"
        if host.lower().endswith(".local"):
            return None if self.resolve_mdns else "mdns"
        address = _address(host)
        if address is None:
            return "not_an_address"
        if any(address in network for network in _NEVER):
            return "reserved"
        if address.version == 4 and address == ipaddress.IPv4Address("255.255.255.255"):
            return "reserved"
        own = {_address(a) for a in self.own_addresses()}
        if address in own:
            return "server_address"
        if any(address in network for network in _PRIVATE) and not any(
            address in network for network in self.facility_networks
        ):
            return "private"
        return None
