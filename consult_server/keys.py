"""Typed keys for the long-lived resources hung off the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from consult_server.accounts import Accounts
    from consult_server.audit import AuditLog
    from consult_server.config import Config
    from consult_server.consults import Consults
    from consult_server.db import Database
    from consult_server.file_check import HashCheck
    from consult_server.i18n import Catalog
    from consult_server.login_sessions import LoginSession, LoginSessions
    from consult_server.models import User
    from consult_server.proxies import Network
    from consult_server.review import Review
    from consult_server.teaching import Teaching
    from consult_server.views.review import PlayLog
    from media.hub import MediaHub
    from signaling.handlers import Signaling
    from signaling.rooms import Rooms

CONFIG: web.AppKey[Config] = web.AppKey("config")
DB: web.AppKey[Database] = web.AppKey("db")
ACCOUNTS: web.AppKey[Accounts] = web.AppKey("accounts")
CONSULTS: web.AppKey[Consults] = web.AppKey("consults")
SESSIONS: web.AppKey[LoginSessions] = web.AppKey("sessions")
CATALOG: web.AppKey[Catalog] = web.AppKey("catalog")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
MEDIA: web.AppKey[MediaHub] = web.AppKey("media")
ROOMS: web.AppKey[Rooms] = web.AppKey("rooms")
TEACHING: web.AppKey[Teaching] = web.AppKey("teaching")
SIGNALING: web.AppKey[Signaling] = web.AppKey("signaling")
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
REVIEW: web.AppKey[Review] = web.AppKey("review")
HASH_CHECK: web.AppKey[HashCheck] = web.AppKey("hash_check")
PLAY_LOG: web.AppKey[PlayLog] = web.AppKey("play_log")
TRUSTED_PROXIES: web.AppKey[tuple[Network, ...]] = web.AppKey("trusted_proxies")

#: The signed-in user of a request (None when anonymous) and their login session.
USER: web.RequestKey[User | None] = web.RequestKey("user")
LOGIN: web.RequestKey[LoginSession | None] = web.RequestKey("login")
