"""Signaling: the consult and room rules (sans-I/O) and the socket.io edge.

``consult``, ``routing`` and ``room`` are plain Python state machines: no socket.io,
aiortc, redis or asyncio imports. ``handlers`` translates wire messages into their
events and their decisions into emits.
"""
