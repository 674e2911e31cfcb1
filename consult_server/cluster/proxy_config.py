"""An nginx configuration for this host's nodes (``consult-server proxy-config``).

nginx ends TLS (browsers give a camera only to https:// pages) and leads:

- ``/node/<id>/`` to that node's own port, prefix removed: the room sockets of the rooms
  it holds (``server.node_routes = "proxy"``);
- everything else (pages, the API, files, live updates) to any node, in turn.

WebSockets are upgraded on both. Uploads and recordings stream through unbuffered. The
output goes in the ``http`` context (``/etc/nginx/sites-available/``); docs/deploy.md
walks through it. Nodes of other hosts are added with ``--host`` (their ``server.port``
and ``server.processes`` must be this host's).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProxyNode:
    id: str
    address: str
    port: int


@dataclass(frozen=True)
class ProxySite:
    nodes: tuple[ProxyNode, ...]
    server_name: str = "_"
    listen: int = 443
    #: Certificate and key files; both empty: plain HTTP (tests and a trusted LAN only).
    certificate: str = ""
    certificate_key: str = ""
    #: Largest request body (uploads), in MiB.
    max_body_mib: int = 60
    #: Redirect plain HTTP (port 80) to https.
    redirect_http: bool = True


def render(site: ProxySite) -> str:
    tls = bool(site.certificate)
    upstream = "\n".join(f"    server {n.address}:{n.port};" for n in site.nodes)
    node_routes = "\n".join(
        f"    location /node/{n.id}/ {{\n        proxy_pass http://{n.address}:{n.port}/;\n    }}"
        for n in site.nodes
    )
    listen = f"    listen {site.listen} ssl;" if tls else f"    listen {site.listen};"
    certificate = (
        f"    ssl_certificate {site.certificate};\n"
        f"    ssl_certificate_key {site.certificate_key};\n"
        f"    ssl_protocols TLSv1.2 TLSv1.3;\n"
        f"    ssl_session_cache shared:consult_tls:10m;\n"
        if tls
        else ""
    )
    redirect = (
        "\nserver {\n"
        "    listen 80;\n"
        f"    server_name {site.server_name};\n"
        "    return 301 https://$host$request_uri;\n"
        "}\n"
        if tls and site.redirect_http
        else ""
    )
    return f"""# consult-server behind nginx: written by `consult-server proxy-config`.
# In the http context (e.g. /etc/nginx/sites-available/consult-server); see docs/deploy.md.
# The servers must believe this proxy: server.trusted_proxies = ["127.0.0.1"] (or its
# address), and server.node_routes = "proxy".

map $http_upgrade $consult_connection {{
    default upgrade;
    ''      "";
}}

# Any node serves pages, the API, files and live updates.
upstream consult_server {{
{upstream}
    keepalive 16;
}}

server {{
{listen}
    server_name {site.server_name};
{certificate}
    client_max_body_size {site.max_body_mib}m;
    proxy_http_version 1.1;
    proxy_set_header Host $http_host;  # with its port: socket.io compares it with Origin
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $consult_connection;
    # Sockets ping every 5 s; uploads and recordings stream through.
    proxy_read_timeout 120s;
    proxy_send_timeout 120s;
    proxy_request_buffering off;
    proxy_buffering off;

    # Each node's room sockets (the rooms it holds), the prefix removed.
{node_routes}

    location / {{
        proxy_pass http://consult_server;
    }}
}}
{redirect}"""
