"""Signing in and out: the pages, the flow (password off the loop, throttle, audit)."""
