"""The API integration tests on the embedded SQLite backend: the `apiserver` fixture, overridden for this folder.

`tests/integration/apiserver/` is written against the `apiserver` fixture (an apiserver on the session etcd). Here
the same name gives an apiserver on `--storage-backend sqlite --data-dir <tmp>`, and `api` / `ns`
(tests/integration/conftest.py) build on this `apiserver`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.sqlite.helpers import SqliteApiServer


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServer]:
    """A real apiserver on loopback on an SQLite store of its own (one per module, like the etcd-backed one)."""
    data_dir = Path(tempfile.mkdtemp(prefix="kubelite-sqlite-"))
    server = SqliteApiServer(data_dir)
    server.start()
    yield server
    server.stop()
    server.log_path.unlink(missing_ok=True)
    shutil.rmtree(data_dir, ignore_errors=True)
