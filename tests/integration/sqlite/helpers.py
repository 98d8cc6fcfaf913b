"""Helpers for the tests in this folder, importable by its tests (the fixtures stay in conftest.py).

The API integration tests on the embedded SQLite backend: the `apiserver` fixture, overridden for this folder.

`tests/integration/apiserver/` is written against the `apiserver` fixture (an apiserver on the session etcd). Here
the same name gives an apiserver on `--storage-backend sqlite --data-dir <tmp>`, and `api` / `ns` are the
apiserver folder's own fixtures (re-exported: fixtures of another folder's conftest are not visible here), so
they build on this `apiserver`.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import ApiServer


class SqliteApiServer(ApiServer):
    """`python -m apiserver --storage-backend sqlite --data-dir DIR` on a free port; restartable on the same
    data dir (which the owner removes)."""

    def __init__(self, data_dir: Path, extra_args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        super().__init__(
            None, ["--storage-backend", "sqlite", "--data-dir", str(data_dir), *(extra_args or [])]
        )
