"""Database drivers that log statements with their parameters are held above DEBUG.

At DEBUG, aiosqlite logs every call with its arguments (an INSERT's values: a patient's
name, a summary), and SQLAlchemy's engine logger can log parameters too. Medical data
never goes into a log line, whatever ``logging.level`` an operator chooses.
"""

from __future__ import annotations

import logging

#: Loggers that can carry statement parameters.
CHATTY = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "psycopg")


def quiet_drivers() -> None:
    for name in CHATTY:
        logger = logging.getLogger(name)
        # Its own level, not the inherited one: a later DEBUG on the root must not
        # reach it.
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
