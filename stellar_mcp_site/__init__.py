"""The Django project: settings, root URLs, gunicorn configuration, and what every app shares at the
bottom (the SQLite backend, the audit database router, request facts, signing keys)."""

__version__ = "0.1.0"
