"""Which local addresses aioice gathers host candidates on.

aioice (0.13.0, pinned) offers no per-connection option for this: it asks the
module-level ``aioice.ice.get_host_addresses`` and leaves out 127.0.0.1. We replace that
function once per process with one that returns the configured media addresses, and
falls back to 127.0.0.1 when the host has no other address. tests/media/test_ice_host.py
fails if an aioice upgrade moves or renames what this relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aioice.ice

_original: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def configure_host_addresses(addresses: Sequence[str]) -> None:
    """Advertise exactly ``addresses`` (or aioice's own choice when empty)."""
    chosen = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if chosen:
            return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]
        found = _original(use_ipv4, use_ipv6)
        return found or (["127.0.0.1"] if use_ipv4 else [])

    aioice.ice.get_host_addresses = host_addresses


def reset_host_addresses() -> None:
    aioice.ice.get_host_addresses = _original  # type: ignore[assignment]
