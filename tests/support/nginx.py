"""A real nginx (Debian's) in front of server processes, with the configuration
``consult-server proxy-config`` writes, TLS on a self-signed certificate."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.engines import require_binary
from tests.support.proc import stop
from tests.support.server import free_port, server_env

NGINX = "/usr/sbin/nginx"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "proxy.crt", directory / "proxy.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def site_config(tmp: Path, server_env_extra: dict[str, str], args: Sequence[str]) -> str:
    """``consult-server proxy-config ARGS`` under the servers' own settings."""
    env = server_env(tmp / "data", server_env_extra)
    done = subprocess.run(
        [sys.executable, "-m", "consult_server", "proxy-config", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp,
        check=True,
    )
    return done.stdout


@contextmanager
def nginx(tmp: Path, site: str, port: int) -> Iterator[str]:
    """Run nginx with ``site`` (an http-context configuration) until the block ends;
    yield its https:// address."""
    binary = require_binary(NGINX, "nginx")
    prefix = tmp / "nginx"
    (prefix / "temp").mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = prefix / "temp"
    (prefix / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/default-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {prefix}/site.conf;
}}
"""
    )
    checked = subprocess.run(
        [binary, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr
    with (prefix / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 15
        while not (prefix / "nginx.pid").exists():
            assert process.poll() is None, (prefix / "stderr.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield f"https://127.0.0.1:{port}"
    finally:
        stop(process)


def error_log(tmp: Path) -> str:
    path = tmp / "nginx" / "error.log"
    return path.read_text(errors="replace") if path.exists() else ""


__all__ = ["error_log", "free_port", "nginx", "self_signed", "site_config"]
