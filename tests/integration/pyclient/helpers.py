"""What the client-library suites share besides fixtures (those are in conftest.py)."""

from __future__ import annotations

# Per resource type; big enough for every resume the tests do, small enough to overflow on purpose.
WATCH_CACHE_SIZE = 20
