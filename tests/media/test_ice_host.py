"""Guard for the one place we reach into aioice: fails loudly if an upgrade moves it."""

from __future__ import annotations

import inspect

import aioice
import aioice.ice

from media.ice_host import configure_host_addresses, reset_host_addresses


def test_aioice_still_gathers_through_get_host_addresses() -> None:
    assert aioice.__version__ == "0.13.0", "media/ice_host.py was checked against aioice 0.13.0"
    source = inspect.getsource(aioice.ice.Connection.gather_candidates)
    assert "get_host_addresses(" in source
    assert list(inspect.signature(aioice.ice.get_host_addresses).parameters) == [
        "use_ipv4",
        "use_ipv6",
    ]


async def test_configured_address_is_the_one_gathered() -> None:
    configure_host_addresses(["127.0.0.1"])
    try:
        connection = aioice.Connection(ice_controlling=True)
        await connection.gather_candidates()
        hosts = {c.host for c in connection.local_candidates}
        assert hosts == {"127.0.0.1"}
        await connection.close()
    finally:
        reset_host_addresses()
    assert aioice.ice.get_host_addresses is not None
