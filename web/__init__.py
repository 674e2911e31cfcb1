"""Web assets: templates, static files and translations (package data)."""
