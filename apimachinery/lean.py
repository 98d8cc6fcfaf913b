"""Keep what a long-running component never runs out of its memory: imported first by each component's
`__main__`, before httpx.

httpx's package `__init__` imports its own command-line tool (`httpx._main`: click, rich, pygments) whenever those
are installed, and they are, for `kctl`; httpcore imports trio when it is installed (a test dependency) to pick its
locks, and h2 for HTTP/2, which no client of ours asks for (`http2=True`). A component runs none of them, and they
cost ~7 MiB of every process's resident set (bench/idle_memory.py). Both libraries import them in
`try: ... except ImportError` and work without them, exactly as on a machine where they are not installed; a `None`
in `sys.modules` is Python's way to make such an import fail.

Nothing is blocked once httpx (or the module itself) is imported, e.g. in a test process, and only in the processes
that import this module.
"""

from __future__ import annotations

import sys

UNUSED = ("httpx._main", "trio", "h2")

for _name in UNUSED:
    if _name not in sys.modules and "httpx" not in sys.modules:
        sys.modules[_name] = None  # type: ignore[assignment]
