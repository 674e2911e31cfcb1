"""HTTP handlers: pages (jinja2) and the JSON API. Each declares its access."""
