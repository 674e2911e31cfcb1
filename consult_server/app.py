"""The composition root: build the aiohttp application from a ``Config``.

Long-lived resources (database, media hub, socket.io, the ticker) are typed AppKeys
started and stopped in ``cleanup_ctx``; nothing lives in module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.web import AppKey

import web as web_assets
from consult_server.accounts.directory import ACCOUNTS, Accounts
from consult_server.accounts.facility_admin import FACILITY_ADMIN, FacilityAdmin
from consult_server.accounts.login_sessions import LOGIN_SESSIONS, LoginSessions
from consult_server.accounts.password_links import PASSWORD_LINKS, PasswordLinks
from consult_server.accounts.people import SignalingPeople
from consult_server.accounts.repository import AccountRepository
from consult_server.admin import user_views
from consult_server.admin import views as admin_views
from consult_server.admin.users import USER_ADMIN, UserAdmin
from consult_server.attachments import views as attachment_views
from consult_server.attachments.models import Attachment
from consult_server.attachments.repository import AttachmentRepository
from consult_server.attachments.service import ATTACHMENTS, Attachments
from consult_server.attachments.storage import BlobStore
from consult_server.audit.chain import AUDIT, AuditLog
from consult_server.audit.window import AccessWindow
from consult_server.backup.schedule import scheduled_backups
from consult_server.bookings import pages as booking_pages
from consult_server.bookings import views as booking_views
from consult_server.bookings.repository import BookingRepository
from consult_server.bookings.service import BOOKINGS, Bookings
from consult_server.cluster.processes import node_id, node_port, this_route
from consult_server.cluster.registry import (
    REGISTRY,
    LocalRegistry,
    RedisRegistry,
    Registry,
)
from consult_server.config import CONFIG, Config
from consult_server.consults import rooms as consult_rooms
from consult_server.consults import views as consult_views
from consult_server.consults.repository import ConsultRepository
from consult_server.consults.rooms import ConsultRooms
from consult_server.consults.service import CONSULTS, Consults
from consult_server.fhir import views as fhir_views
from consult_server.fhir.service import FHIR_EXPORT, FhirExport
from consult_server.http import metrics as metrics_views
from consult_server.http import pages, room_node
from consult_server.http.assets import ASSETS, Assets
from consult_server.http.gc_pauses import GC_PAUSES, GcPauses, watch_gc
from consult_server.http.i18n import TRANSLATIONS, Translations
from consult_server.http.loop_lag import LOOP_LAG, LoopLag, watch_loop
from consult_server.http.metrics import METRICS, Metrics, keep_metrics
from consult_server.http.proxies import TRUSTED_PROXIES, parse_networks, proxy_middleware
from consult_server.http.rate_limits import RATE_LIMITS, RateLimits, RateRules
from consult_server.http.render import NAV_RULES, render_error
from consult_server.http.security import (
    access_middleware,
    error_middleware_factory,
    headers_middleware,
)
from consult_server.notes import views as note_views
from consult_server.notes.repository import NoteRepository
from consult_server.notes.service import NOTES, Notes
from consult_server.review import views as review_views
from consult_server.review.service import REVIEW, Review
from consult_server.review.views import HASH_CHECK, PLAY_LOG
from consult_server.sign_in import password_pages
from consult_server.sign_in import views as sign_in_views
from consult_server.sign_in.flow import SIGN_IN, SignIn
from consult_server.sign_in.throttle import LoginThrottle
from consult_server.stats import views as stats_views
from consult_server.stats.repository import StatsRepository
from consult_server.stats.service import STATS, Stats
from consult_server.store import migrate
from consult_server.store.db import DB, Database
from consult_server.store.quiet import quiet_drivers
from consult_server.teaching import rooms as teaching_rooms
from consult_server.teaching import views as teaching_views
from consult_server.teaching.repository import TeachingRepository
from consult_server.teaching.rooms import TeachingRooms
from consult_server.teaching.service import TEACHING, Teaching
from media.aiortc_hook import install_fast_clock
from media.candidates import CandidatePolicy
from media.hub import MediaHub, MediaSettings
from media.ice_host import (
    configure_host_addresses,
    configure_port_range,
    install_consent_freshness,
    install_rtp_fast_path,
    media_addresses,
)
from recordings.catalog import RecordingCatalog
from recordings.integrity import HashCheck
from recordings.recovery import recover_recordings
from recordings.retention import delete_expired
from recordings.sessions import RecordedSessions
from signaling.handlers import SIGNALING, SIO, Signaling
from signaling.ports import SignalingSettings
from signaling.room_kinds import RoomPorts, room_key
from signaling.rooms import Rooms
from signaling.turn import TurnSettings

log = logging.getLogger(__name__)
WEB_DIR = Path(web_assets.__file__).parent
TICK_SECONDS = 1.0
#: Expired login sessions are deleted (and their sockets closed) this often.
PURGE_SECONDS = 15.0
#: Recordings past their retention are looked for this often.
RETENTION_SECONDS = 3600.0


async def _database(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    # Synchronous on purpose: nothing else runs before the schema is current.
    migrate.upgrade(config.database_url)
    await app[DB].open()
    app[DB].time_statements(app[METRICS].observe_statement)
    app[ATTACHMENTS].blobs.prepare()
    # Only entries whose writing process is gone (each names its "host:pid"): safe with
    # the other processes of the host writing theirs.
    await recover_recordings(app[CATALOG])
    yield
    await app[DB].close()
    app[ACCOUNTS].passwords.close()


async def _media(app: web.Application) -> AsyncIterator[None]:
    media = app[CONFIG].media
    configure_host_addresses(media.host_addresses)
    configure_port_range(media.udp_port_min, media.udp_port_max)
    install_rtp_fast_path()
    install_consent_freshness()
    install_fast_clock()
    yield
    await app[SIGNALING].finish_recordings()
    await app[MEDIA].close()


def make_registry(
    config: Config, node_index: int | None, media: MediaHub, rooms: Rooms
) -> Registry:
    """Alone: every room is here. With Redis: this process is a node of the cluster."""
    if not config.redis.url:
        return LocalRegistry()
    server = config.server
    port = server.port if node_index is None else node_port(server.port, node_index)
    name = node_id(server.node_name, node_index, port)

    def load() -> int:
        stats = media.stats()
        return stats["rooms"] + stats["peers"]

    return RedisRegistry(
        aioredis.from_url(config.redis.url),
        name,
        this_route(name, port, server.node_routes),
        load,
        held=rooms.keys,
    )


def _cluster_messages(
    registry: RedisRegistry, signaling: Signaling, drain_seconds: float
) -> Callable[[str, str], Awaitable[None]]:
    """What other nodes and ``consult-server drain`` tell this one."""

    draining: set[asyncio.Task[None]] = set()

    async def drain() -> None:
        await registry.drain()
        moved = await signaling.drain(drain_seconds)
        log.warning("drained: %d room(s) moved to other nodes; none new come here", moved)

    async def heard(room: str, what: str) -> None:
        if what == "drain":
            if not registry.draining:
                task = asyncio.create_task(drain())  # over drain_seconds: not inline
                draining.add(task)
                task.add_done_callback(draining.discard)
        else:
            await signaling.on_forwarded(room, what)

    return heard


async def _cluster(app: web.Application) -> AsyncIterator[None]:
    """With Redis: join the cluster once the media can take rooms; leave it first on a
    stop, so new rooms go to the others at once."""
    registry = app[REGISTRY]
    if not isinstance(registry, RedisRegistry):
        yield
        return
    await registry.start()
    yield
    await registry.stop()
    await registry.client.aclose()


async def _stop_signaling(app: web.Application) -> None:
    """First thing on a stop: out of the cluster (the pages that reconnect find their
    rooms placed on the other nodes), then recordings finished and sockets closed (see
    Signaling.shutdown)."""
    registry = app[REGISTRY]
    if isinstance(registry, RedisRegistry):
        await registry.stop()
    await app[SIGNALING].shutdown()


async def end_expired_logins(app: web.Application) -> None:
    """Forget idle and too-old logins and those of deactivated accounts; their
    sockets close with them."""
    for login, why in await app[LOGIN_SESSIONS].purge_expired():
        await app[SIGNALING].close_sockets(login, why)


async def _ticker(app: web.Application) -> AsyncIterator[None]:
    """Drive the timed rules (expiry, escalation, room grace) once a second, end
    expired logins and mark missed bookings every 15 s, and delete recordings past
    retention hourly."""

    async def run() -> None:
        last_purge = last_retention = 0.0
        retention_days = app[CONFIG].recordings.retention_days
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                now = time.time()
                await app[CONSULTS].tick(now)
                await app[SIGNALING].tick(now)
                if now - last_purge >= PURGE_SECONDS:
                    await end_expired_logins(app)
                    await app[BOOKINGS].tick(now)  # bookings nobody opened: missed
                    last_purge = now
                if now - last_retention >= RETENTION_SECONDS:
                    last_retention = now
                    await delete_expired(
                        app[CATALOG], app[AUDIT].for_system("retention"), retention_days, now
                    )
            except Exception:
                log.exception("tick failed")

    task = asyncio.create_task(run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    config: Config, ticker: bool = True, node_index: int | None = None
) -> web.Application:
    """``ticker=False`` leaves the timed rules to the caller (tests that drive the clock).
    ``node_index``: this process is that child of ``serve --processes N``."""
    quiet_drivers()
    app = web.Application(
        middlewares=[
            proxy_middleware,
            headers_middleware,
            error_middleware_factory(render_error),
            access_middleware,
        ],
        client_max_size=1024 * 1024,
    )
    db = Database(config.database_url)
    account_store = AccountRepository(db)
    accounts = Accounts(account_store)
    consults = Consults(ConsultRepository(db), accounts, config.consults)
    catalog = RecordingCatalog(db)
    logins = LoginSessions(
        account_store, config.security.session_hours * 3600, config.security.idle_minutes * 60
    )
    media = MediaHub(
        MediaSettings(
            ice_servers=config.media.ice_servers,
            video_codec=config.media.video_codec,
            bitrate_floor=config.media.bitrate_floor_kbps * 1000,
            bitrate_ceiling=config.media.bitrate_ceiling_kbps * 1000,
        ),
        CandidatePolicy.from_config(
            config.media.facility_networks, config.media.resolve_mdns, media_addresses
        ),
    )
    rooms = Rooms()
    app[CONFIG] = config
    app[TRUSTED_PROXIES] = parse_networks(config.server.trusted_proxies)
    security = config.security
    app[RATE_LIMITS] = RateLimits(
        RateRules.of(
            security.requests_per_minute_user,
            security.requests_per_minute_address,
            security.consults_per_hour,
        ),
        config.redis.url,
    )
    app[DB] = db
    app[CATALOG] = catalog
    app[ACCOUNTS] = accounts
    app[CONSULTS] = consults
    app[LOGIN_SESSIONS] = logins
    app[TRANSLATIONS] = Translations()
    app[ASSETS] = Assets(WEB_DIR / "static", app[TRANSLATIONS])
    app[LOOP_LAG] = LoopLag()
    app[GC_PAUSES] = GcPauses()
    app[MEDIA] = media
    app[ROOMS] = rooms
    teaching = Teaching(TeachingRepository(db), accounts)
    app[TEACHING] = teaching
    app[AUDIT] = AuditLog(db)
    app[SIGN_IN] = SignIn(accounts, app[AUDIT], LoginThrottle())
    attachment_store = AttachmentRepository(db)
    attachments = Attachments(
        attachment_store,
        BlobStore(config.data_dir / "files"),
        consults,
        app[AUDIT],
        config.attachments,
    )
    app[ATTACHMENTS] = attachments
    note_store = NoteRepository(db)
    notes = Notes(note_store, consults, app[AUDIT])
    app[NOTES] = notes
    app[FHIR_EXPORT] = FhirExport(
        consults,
        accounts,
        attachments.store,
        notes,
        catalog,
        app[AUDIT],
        BookingRepository(db),
        config.server.public_url,
    )
    app[REVIEW] = Review(RecordedSessions(db), catalog, accounts, consults, config.recordings)
    app[FACILITY_ADMIN] = FacilityAdmin(accounts, app[AUDIT])
    app[BOOKINGS] = Bookings(
        BookingRepository(db),
        accounts,
        consults,
        grace_seconds=config.consults.booking_grace_minutes * 60,
        remind_seconds=config.consults.booking_reminder_minutes * 60,
    )
    app[STATS] = Stats(
        StatsRepository(db),
        RecordedSessions(db),
        accounts,
        BookingRepository(db),
        TeachingRepository(db),
    )
    app[PASSWORD_LINKS] = PasswordLinks(accounts)
    app[USER_ADMIN] = UserAdmin(accounts, app[PASSWORD_LINKS], app[SIGN_IN], app[AUDIT])
    app[NAV_RULES] = {
        "can_review": app[REVIEW].reviews_any,
        "can_admin": app[FACILITY_ADMIN].manages_any,
        "can_stats": Stats.sees_any,
        "can_book": Bookings.books_any,
    }
    app[HASH_CHECK] = HashCheck()
    app[PLAY_LOG] = AccessWindow()
    app[consult_views.READINGS] = AccessWindow()
    recordings = config.recordings
    if recordings.enabled and config.media.video_codec != "VP8":
        # The writer stream-copies VP8 only; never produce files that will not play.
        log.warning('recordings are off: they need media.video_codec = "VP8"')
        recordings = dataclasses.replace(recordings, enabled=False)
    consult_kind = ConsultRooms(
        consults, catalog, recordings, config.data_dir, attachment_store.ids_of
    )
    teaching_kind = TeachingRooms(teaching)
    room_kinds = {
        # Consults are recorded, have a chat and show their files; teaching rooms take
        # viewers' questions and presenters' screens.
        consult_rooms.KIND: RoomPorts(
            consult_kind, recording=consult_kind, chat=consult_kind, files=consult_kind
        ),
        teaching_rooms.KIND: RoomPorts(
            teaching_kind, questions=teaching_kind, screens=True, relayed=True
        ),
    }
    settings = SignalingSettings(
        secret=config.secret_bytes(),
        redis_url=config.redis.url,
        room_grace_seconds=config.consults.room_grace_seconds,
        server_ice_servers=config.media.ice_servers,
        turn=TurnSettings(config.media.turn_urls, config.media.turn_secret),
        ice_transport_policy=config.media.ice_transport_policy,
        simulcast=config.media.simulcast,
        any_port_of_host=bool(config.redis.url) and config.server.node_routes == "port",
    )
    registry = make_registry(config, node_index, media, rooms)
    app[REGISTRY] = registry
    app[METRICS] = Metrics(registry.node_id, media)
    app[NODE_INDEX] = node_index
    signaling = Signaling(
        settings, SignalingPeople(accounts, logins), media, rooms, room_kinds, registry
    )
    signaling.observers.append(app[METRICS].observe_event)
    if isinstance(registry, RedisRegistry):
        # Changes reach the room's holder; heartbeats carry who has a page open here.
        registry.on_message = _cluster_messages(registry, signaling, config.server.drain_seconds)
        registry.on_ask = signaling.relays.answer
        registry.set_online(signaling.online_here)
    consults.set_notifier(signaling.notify_users)

    async def tell_bookings(users: set[int], change: dict[str, object]) -> None:
        await signaling.tell_users(users, "booking:update", change)

    app[BOOKINGS].set_notifier(tell_bookings)

    async def announce(consult_id: int, attachment: Attachment) -> None:
        await signaling.tell_room(
            room_key(consult_rooms.KIND, consult_id), "room:file", {"file": attachment.describe()}
        )

    attachments.set_announcer(announce)

    async def announce_note(consult_id: int, change: dict[str, object]) -> None:
        await signaling.tell_room(room_key(consult_rooms.KIND, consult_id), "room:note", change)

    notes.set_announcer(announce_note)
    app[SIGNALING] = signaling
    app[SIO] = signaling.sio
    signaling.sio.attach(app)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    for routes in (
        pages,
        room_node,
        metrics_views,
        sign_in_views,
        consult_views,
        attachment_views,
        note_views,
        fhir_views,
        teaching_views,
        review_views,
        admin_views,
        user_views,
        password_pages,
        stats_views,
        booking_views,
        booking_pages,
    ):
        app.router.add_routes(routes.routes)
    # The versioned paths first: the plain prefix would take them as missing files.
    app.router.add_get(r"/static/{version:[0-9a-f]{16}}/{path:.+}", app[ASSETS].handle)
    app.router.add_static("/static/", WEB_DIR / "static")
    app.on_shutdown.append(_stop_signaling)
    app.cleanup_ctx.extend(
        [
            _database,
            _media,
            _cluster,
            *([scheduled_backups] if node_index in (None, 0) else []),
            watch_loop,
            watch_gc,
            keep_metrics,
            *([_ticker] if ticker else []),
        ]
    )
    return app


MEDIA: AppKey[MediaHub] = AppKey("media")
NODE_INDEX: AppKey[int | None] = AppKey("node_index")
ROOMS: AppKey[Rooms] = AppKey("rooms")
CATALOG: AppKey[RecordingCatalog] = AppKey("recording_catalog")
