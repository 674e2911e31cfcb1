"""``consult-server``: serve, demo, create-user, facility add/import, user
list/update/reset, db (migrations), audit verify, export-fhir, backup [verify], restore."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role
from consult_server.accounts.repository import AccountRepository
from consult_server.at_rest import loose_paths, make_private
from consult_server.cli_admin import ADMIN_COMMANDS, add_admin_parsers, run_admin, with_accounts
from consult_server.cli_backup import BACKUP_COMMANDS, add_backup_parsers, run_backup
from consult_server.config import Config, ensure_data_dir, load_config
from consult_server.errors import ConfigError
from consult_server.store import migrate
from consult_server.store.db import Database
from consult_server.store.quiet import quiet_drivers
from media.errors import ConsultServerError

log = logging.getLogger("consult_server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consult-server", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML settings file (default: $CONSULT_CONFIG, else ./config.toml if present)",
    )
    parser.add_argument("--data-dir", help="data directory (overrides data.dir)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="listen address (overrides server.host)")
    serve.add_argument("--port", type=int, help="listen port (overrides server.port)")
    serve.add_argument(
        "--media-host", action="append", help="media (ICE) address; repeat for several"
    )
    serve.add_argument(
        "--processes", help="server processes, each a node: N or auto (overrides server.processes)"
    )
    # Given by `serve --processes N` to its children, not by people.
    serve.add_argument("--node-index", type=int, help=argparse.SUPPRESS)
    demo = sub.add_parser("demo", help="create the demo facilities and users (idempotent)")
    demo.add_argument("--password", required=True, help="password for every demo user")
    user = sub.add_parser("create-user", help="create an account")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--facility", required=True, help="facility code")
    user.add_argument("--name", default="", help="display name")
    user.add_argument("--specialty", action="append", default=[], help="specialty code (repeat)")
    user.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    db = sub.add_parser("db", help="schema migrations")
    db.add_argument("action", choices=["upgrade", "status"])
    audit = sub.add_parser("audit", help="the audit log")
    audit.add_argument(
        "action",
        choices=["verify", "head"],
        help="verify: check the hash chain; head: print its last entry as ID:HASH to keep"
        " elsewhere (a later verify --since ID:HASH then finds entries cut off the end)",
    )
    audit.add_argument("--since", help="a head printed earlier by `audit head`")
    deactivate = sub.add_parser(
        "deactivate-user",
        help="stop an account signing in; a running server ends its logins within 15 s",
    )
    deactivate.add_argument("username")
    add_admin_parsers(sub)
    add_backup_parsers(sub)
    drain = sub.add_parser(
        "drain",
        help="move a node's calls to the other nodes and take no new rooms there "
        "(server.drain_seconds); by default every node of this host",
    )
    drain.add_argument("--node", action="append", default=[], help="a node's id (repeat)")
    proxy = sub.add_parser(
        "proxy-config",
        help="print an nginx configuration for this host's nodes (docs/deploy.md)",
    )
    proxy.add_argument("--server-name", default="_", help="the site's name (nginx server_name)")
    proxy.add_argument("--listen", type=int, default=443, help="nginx's port (443)")
    proxy.add_argument("--certificate", default="", help="TLS certificate file (PEM)")
    proxy.add_argument("--certificate-key", default="", help="its key file")
    proxy.add_argument(
        "--no-http-redirect",
        action="store_true",
        help="no port-80 server sending plain http:// to https://",
    )
    proxy.add_argument(
        "--node-host",
        action="append",
        default=[],
        metavar="NAME=ADDRESS",
        help="another host's nodes: its server.node_name and address (repeat)",
    )
    fhir = sub.add_parser(
        "export-fhir", help="write a consult as a FHIR R4 Bundle (JSON) to standard output"
    )
    fhir.add_argument("consult_id", type=int)
    return parser


def _config(args: argparse.Namespace) -> Config:
    path = args.config
    if path is None and os.environ.get("CONSULT_CONFIG"):
        path = Path(os.environ["CONSULT_CONFIG"])
    if path is None and Path("config.toml").exists():
        path = Path("config.toml")
    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data.dir"] = args.data_dir
    if getattr(args, "host", None):
        overrides["server.host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["server.port"] = args.port
    if getattr(args, "media_host", None):
        overrides["media.host_addresses"] = args.media_host
    if getattr(args, "processes", None):
        overrides["server.processes"] = args.processes
    return ensure_data_dir(load_config(path, overrides=overrides))


LOG_FORMAT = "%(name)s: %(message)s"


def argv_of_serve(argv: Sequence[str] | None) -> list[str]:
    """The command line this ``serve`` was given, for its children."""
    return list(sys.argv[1:] if argv is None else argv)


def _serve(config: Config, argv: list[str], node_index: int | None) -> int:
    from aiohttp import web

    from consult_server.app import create_app
    from consult_server.cluster import processes
    from consult_server.http.access_log import PathOnlyAccessLogger
    from consult_server.http.gc_pauses import freeze_on_startup

    loose, named = loose_paths(config.data_dir)
    if loose:
        if config.security.loose_files == "refuse":
            raise ConfigError(
                "security.loose_files",
                "refuse",
                f"no file others can read under {config.data_dir}: {loose} are"
                f" ({', '.join(named)}); chmod -R go-rwx it",
            )
        log.warning(
            "%d paths under the data directory can be read by other users of this host"
            " (%s); run chmod -R go-rwx %s",
            loose,
            ", ".join(named),
            config.data_dir,
        )
    count = config.server.process_count(processes.cores())
    if count > 1 and node_index is None:
        log.info(
            "consult-server on http://%s:%s: %d processes (data in %s)",
            config.server.host,
            config.server.port,
            count,
            config.data_dir,
        )
        migrate.upgrade(config.database_url)  # once, before the nodes start
        nodes = [
            processes.node_id(config.server.node_name, index, config.server.port)
            for index in range(count)
        ]
        rolling = processes.RollingRestart(config.redis.url, nodes, config.server.drain_seconds)
        return processes.Supervisor(argv, count, config.data_dir / "metrics", rolling).run()
    log.info(
        "consult-server on http://%s:%s%s (data in %s, %s event loop)",
        config.server.host,
        config.server.port,
        ""
        if node_index is None
        else f", node {node_index} on port {processes.node_port(config.server.port, node_index)}",
        config.data_dir,
        config.server.event_loop,
    )
    loop = None
    if config.server.event_loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    if node_index is not None:
        # The nodes share one log: each line says whose it is.
        name = processes.node_id(config.server.node_name, node_index, config.server.port)
        for handler in logging.getLogger().handlers:
            handler.setFormatter(
                logging.Formatter(f"%(asctime)s %(levelname)s [{name}] {LOG_FORMAT}")
            )
        low, high = processes.udp_slice(
            config.media.udp_port_min, config.media.udp_port_max, node_index, count
        )
        config = dataclasses.replace(
            config,
            media=dataclasses.replace(config.media, udp_port_min=low, udp_port_max=high),
        )
    app = create_app(config, node_index=node_index)
    app.on_startup.append(freeze_on_startup)
    if node_index is None:
        where: dict[str, Any] = {"host": config.server.host, "port": config.server.port}
    else:
        where = {
            "sock": processes.listening_sockets(
                config.server.host,
                config.server.port,
                processes.node_port(config.server.port, node_index),
            )
        }
    web.run_app(
        app,
        **where,
        print=None,
        loop=loop,
        access_log_class=PathOnlyAccessLogger,
    )
    return 0


def _drain(config: Config, nodes: list[str]) -> int:
    import redis

    from consult_server.cluster import processes
    from consult_server.cluster.registry import node_channel, node_message

    if not config.redis.url:
        raise ConfigError(
            "redis.url",
            "",
            "the Redis the nodes share (one process alone has no other node to move to)",
        )
    server = config.server
    count = server.process_count(processes.cores())
    if not nodes:
        nodes = [
            processes.node_id(server.node_name, index if count > 1 else None, server.port)
            for index in range(count)
        ]
    client = redis.Redis.from_url(config.redis.url)
    missing = 0
    for node in nodes:
        heard = int(client.publish(node_channel(node), node_message("drain")))
        print(f"{node}: {'draining' if heard else 'not running'}")
        missing += 0 if heard else 1
    return 1 if missing else 0


def _proxy_config(config: Config, args: argparse.Namespace) -> int:
    from consult_server.cluster import processes
    from consult_server.cluster.proxy_config import ProxyNode, ProxySite, render

    if bool(args.certificate) != bool(args.certificate_key):
        raise ConfigError("--certificate", args.certificate, "both a certificate and its key")
    server = config.server
    count = server.process_count(processes.cores())
    here = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host  # noqa: S104
    hosts = [(server.node_name, here)]
    for given in args.node_host:
        name, _, address = given.partition("=")
        if not name or not address:
            raise ConfigError("--node-host", given, "NAME=ADDRESS")
        hosts.append((name, address))
    nodes = tuple(
        ProxyNode(
            processes.node_id(name, index if count > 1 else None, server.port),
            address,
            processes.node_port(server.port, index) if count > 1 else server.port,
        )
        for name, address in hosts
        for index in range(count)
    )
    site = ProxySite(
        nodes,
        server_name=args.server_name,
        listen=args.listen,
        certificate=args.certificate,
        certificate_key=args.certificate_key,
        max_body_mib=config.attachments.max_file_mib + 10,
        redirect_http=not args.no_http_redirect,
    )
    print(render(site), end="")
    return 0


def _demo(config: Config, password: str) -> None:
    async def work(accounts: Accounts) -> None:
        from consult_server.accounts.demo import load_demo
        from consult_server.audit.chain import AuditLog
        from consult_server.bookings.repository import BookingRepository
        from consult_server.bookings.slots import Availability
        from consult_server.stats.demo import DAYS as HISTORY_DAYS
        from consult_server.stats.demo import load_history

        await load_demo(accounts, password)
        # Enough for the bookings page to show free times at once: the district's
        # internist takes booked consults on weekday mornings (07:30-11:00, 30 minutes,
        # two patients a slot).
        specialist = await accounts.store.active_specialist("specialist.demo")
        if specialist is not None:
            hours = [
                Availability(specialist, "internal-medicine", day, 450, 660, 30, 2)
                for day in range(5)
            ]
            await BookingRepository(accounts.store.db).publish(specialist, hours)
        # Two months of consults, notes and bookings for the figures (once).
        db = accounts.store.db
        filed = await load_history(db, accounts, AuditLog(db))
        if filed:
            print(f"demo history: {filed} consults over the last {HISTORY_DAYS} days")

    asyncio.run(with_accounts(config, work))
    print("demo facilities and users are ready")


def _create_user(config: Config, args: argparse.Namespace) -> None:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")

    async def work(accounts: Accounts) -> None:
        facility = next((f for f in await accounts.facilities() if f.code == args.facility), None)
        if facility is None:
            raise ConsultServerError(f"no facility with code {args.facility}", "facility_not_found")
        await accounts.create_user(
            args.username,
            password,
            Role(args.role),
            facility.id,
            args.name,
            frozenset(args.specialty),
        )

    asyncio.run(with_accounts(config, work))
    print(f"user {args.username} created")


def _db(config: Config, action: str) -> None:
    if action == "upgrade":
        applied = migrate.upgrade(config.database_url)
        print("applied: " + (", ".join(f"{v:04d}" for v in applied) or "nothing (up to date)"))
    else:
        version, pending = migrate.status(config.database_url)
        print(
            f"schema version {version:04d}; pending: "
            + (", ".join(m.path.name for m in pending) or "none")
        )


def _audit_verify(config: Config, action: str = "verify", since: str | None = None) -> int:
    """Exit 0 when the chain holds, 1 naming the first broken entry."""
    from consult_server.audit.chain import head, parse_head, verify

    if not config.database.url and not config.database_path.exists():
        print(f"no database at {config.database_path}", file=sys.stderr)
        return 2
    if action == "head":
        print(head(config.database_url))
        return 0
    try:
        exported = parse_head(since) if since else None
    except ValueError as exc:
        print(f"consult-server: --since: {exc}", file=sys.stderr)
        return 2
    verdict = verify(config.database_url, exported)
    if verdict.ok:
        print(f"audit log intact: {verdict.entries} entries")
        return 0
    print(
        f"audit log BROKEN at entry {verdict.broken_at}: {verdict.reason}"
        f" ({verdict.entries} entries read)"
    )
    return 1


def _deactivate(config: Config, username: str) -> int:
    done: list[bool] = []

    async def work(accounts: Accounts) -> None:
        done.append(await accounts.store.deactivate(username))

    asyncio.run(with_accounts(config, work))
    if not done[0]:
        print(f"no active account {username}", file=sys.stderr)
        return 1
    print(f"{username} can no longer sign in; open pages are signed out within 15 s")
    return 0


def _export_fhir(config: Config, consult_id: int) -> int:
    """Print the bundle; audited as the system's export."""

    from consult_server.attachments.repository import AttachmentRepository
    from consult_server.audit.chain import AuditLog
    from consult_server.bookings.repository import BookingRepository
    from consult_server.consults.repository import ConsultRepository
    from consult_server.consults.service import Consults
    from consult_server.fhir.service import FhirExport
    from consult_server.notes.repository import NoteRepository
    from consult_server.notes.service import Notes
    from recordings.catalog import RecordingCatalog

    async def work() -> int:
        migrate.upgrade(config.database_url)
        db = Database(config.database_url)
        await db.open()
        try:
            accounts = Accounts(AccountRepository(db))
            consults = Consults(ConsultRepository(db), accounts, config.consults)
            audit = AuditLog(db)
            export = FhirExport(
                consults,
                accounts,
                AttachmentRepository(db),
                Notes(NoteRepository(db), consults, audit),
                RecordingCatalog(db),
                audit,
                BookingRepository(db),
                config.server.public_url,
            )
            try:
                bundle = await export.for_system(consult_id)
            except LookupError:
                print(f"no consult {consult_id}", file=sys.stderr)
                return 1
            print(json.dumps(bundle, ensure_ascii=False, indent=1))
            return 0
        finally:
            await db.close()

    return asyncio.run(work())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    make_private()
    try:
        config = _config(args)
        logging.basicConfig(
            level=config.logging.level, format=f"%(asctime)s %(levelname)s {LOG_FORMAT}"
        )
        quiet_drivers()
        if args.command == "serve":
            return _serve(config, argv_of_serve(argv), args.node_index)
        elif args.command == "demo":
            _demo(config, args.password)
        elif args.command == "create-user":
            _create_user(config, args)
        elif args.command == "audit":
            return _audit_verify(config, args.action, args.since)
        elif args.command == "deactivate-user":
            return _deactivate(config, args.username)
        elif args.command in ADMIN_COMMANDS:
            return run_admin(config, args)
        elif args.command in BACKUP_COMMANDS:
            return run_backup(config, args)
        elif args.command == "drain":
            return _drain(config, args.node)
        elif args.command == "proxy-config":
            return _proxy_config(config, args)
        elif args.command == "export-fhir":
            return _export_fhir(config, args.consult_id)
        else:
            _db(config, args.action)
    except ConsultServerError as exc:
        print(f"consult-server: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
