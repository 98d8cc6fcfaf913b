"""Helpers for the tests in this folder, importable by its tests (the fixtures stay in conftest.py).

Fixtures for the client-library suites: one apiserver per module with a small watch cache (so that a watch
from an old resourceVersion gets 410 Gone after a few writes), and a namespace of its own for every test."""

from __future__ import annotations

# Per resource type; big enough for every resume the tests do, small enough to overflow on purpose.
WATCH_CACHE_SIZE = 20
