"""kubelite-dashboard: the web UI behind `kctl dashboard` (see __main__.py for the wiring, app.py for the routes)."""
