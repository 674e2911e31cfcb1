"""Backups: a consistent copy of the database and the file stores while the server runs,
checked without restoring, restored onto an empty data directory or database.

- ``manifest.py``: what a copy holds (every file's SHA-256, the audit chain's head);
- ``sealing.py``: encryption of a copy under a passphrase (AES-256-GCM, scrypt);
- ``engines.py``: the database's own copy (SQLite's online backup, ``pg_dump``) and its
  restore;
- ``make.py``, ``verify.py``, ``restore.py``: the three commands;
- ``schedule.py``: backups the server takes by itself (``backup.every_hours``).
"""
