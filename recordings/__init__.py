"""Recordings: stream-copied files, the catalog and review (see issue on recordings)."""
