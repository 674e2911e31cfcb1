"""Media: one aiortc peer per participant, the other participants' media forwarded.

This first version forwards through aiortc's MediaRelay (decode + re-encode); the
media-core issue replaces it with encoded-frame forwarding. ``ice_host`` is the one
place that reaches into aioice, pinned to the version it was written for.
"""
