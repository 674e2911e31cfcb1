"""The pre-join connection test's far end, with real aiortc peers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from media.errors import MediaError
from media.ice_host import configure_host_addresses, reset_host_addresses
from media.probe import MAX_PROBES, LinkProbes


@pytest.fixture
async def probes() -> AsyncIterator[LinkProbes]:
    configure_host_addresses(["127.0.0.1"])
    found = LinkProbes(lifetime=5)
    yield found
    await found.close_all()
    reset_host_addresses()


async def probe_offer() -> tuple[RTCPeerConnection, str]:
    """A browser's connection test: one data channel, no media."""
    pc = RTCPeerConnection()
    pc.createDataChannel("probe")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


async def connect(probes: LinkProbes, owner: int) -> tuple[RTCPeerConnection, asyncio.Queue[str]]:
    pc = RTCPeerConnection()
    channel = pc.createDataChannel("probe")
    received: asyncio.Queue[str] = asyncio.Queue()
    opened = asyncio.Event()
    channel.on("open", opened.set)
    channel.on("message", received.put_nowait)
    await pc.setLocalDescription(await pc.createOffer())
    answer = await probes.answer(owner, pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    await asyncio.wait_for(opened.wait(), 10)
    channel.send("ping 1")
    channel.send("x" * 500)  # too long: not echoed
    channel.send("ping 2")
    return pc, received


async def test_a_probe_echoes_pings_over_its_data_channel(probes: LinkProbes) -> None:
    pc, received = await connect(probes, owner=7)
    try:
        assert await asyncio.wait_for(received.get(), 5) == "ping 1"
        assert await asyncio.wait_for(received.get(), 5) == "ping 2"
        assert len(probes) == 1
    finally:
        await pc.close()


async def test_a_new_probe_replaces_the_users_old_one_and_each_ends(probes: LinkProbes) -> None:
    first, _ = await connect(probes, owner=7)
    second, received = await connect(probes, owner=7)
    try:
        assert len(probes) == 1
        assert await asyncio.wait_for(received.get(), 5) == "ping 1"
        await probes.close(7)
        assert len(probes) == 0
    finally:
        await first.close()
        await second.close()


async def test_an_offer_with_media_or_garbage_is_refused(probes: LinkProbes) -> None:
    pc = RTCPeerConnection()
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    with pytest.raises(MediaError) as refused:
        await probes.answer(7, pc.localDescription.sdp)
    assert refused.value.code == "bad_sdp"
    with pytest.raises(MediaError):
        await probes.answer(7, "v=0\r\nnot sdp")
    with pytest.raises(MediaError):
        await probes.answer(7, "")
    assert len(probes) == 0
    await pc.close()


async def test_probes_are_bounded(probes: LinkProbes) -> None:
    peers = []
    for owner in range(MAX_PROBES):
        pc, offer = await probe_offer()
        await probes.answer(owner, offer)
        peers.append(pc)
    pc, offer = await probe_offer()
    with pytest.raises(MediaError) as refused:
        await probes.answer(999, offer)
    assert refused.value.code == "busy"
    assert len(probes) == MAX_PROBES
    for peer in [*peers, pc]:
        await peer.close()


async def test_a_probe_is_closed_after_its_lifetime() -> None:
    configure_host_addresses(["127.0.0.1"])
    probes = LinkProbes(lifetime=0.3)
    try:
        pc, offer = await probe_offer()
        await probes.answer(1, offer)
        assert len(probes) == 1
        await asyncio.sleep(0.6)
        assert len(probes) == 0
        await pc.close()
    finally:
        await probes.close_all()
        reset_host_addresses()
