"""The API integration tests on the embedded SQLite backend: the `apiserver` fixture, overridden for this folder.

`tests/integration/apiserver/` is written against the `apiserver` fixture (an apiserver on the session etcd). Here
the same name gives an apiserver on `--storage-backend sqlite --data-dir <tmp>`, and `api` / `ns` are the
apiserver folder's own fixtures (re-exported: fixtures of another folder's conftest are not visible here), so
they build on this `apiserver`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.apiserver.conftest import api, ns

__all__ = ["SqliteApiServer", "api", "apiserver", "ns"]


class SqliteApiServer(ApiServer):
    """`python -m apiserver --storage-backend sqlite --data-dir DIR` on a free port; restartable on the same
    data dir (which the owner removes)."""

    def __init__(self, data_dir: Path, extra_args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        super().__init__(
            None, ["--storage-backend", "sqlite", "--data-dir", str(data_dir), *(extra_args or [])]
        )


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
