"""Keep what a long-running component never runs out of its memory: imported first by each component's
`__main__` (and the supervisor), before httpx.

httpx's package `__init__` imports its own command-line tool (`httpx._main`: click, rich, pygments) whenever those
are installed, and they are, for `kctl`; httpcore imports trio, when installed (a test dependency), to pick its
locks. A component runs neither the httpx CLI nor trio, and the pair cost ~6 MiB of every process's resident set
(bench/idle_memory.py). Both libraries import them in `try: ... except ImportError` and work without them, exactly as
on a machine where they are not installed; a `None` in `sys.modules` is Python's way to make such an import fail.

Nothing is blocked once imported (a test process that already has trio keeps it), and only in the processes that
import this module.
"""

from __future__ import annotations

import sys

UNUSED = ("httpx._main", "trio")

for _name in UNUSED:
    if _name not in sys.modules and "httpx" not in sys.modules:
        sys.modules[_name] = None  # type: ignore[assignment]
