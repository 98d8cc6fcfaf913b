"""What the integration sqlite tests share besides their fixtures (those are in conftest.py)."""

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
