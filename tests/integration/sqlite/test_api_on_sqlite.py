"""The API integration tests of `tests/integration/apiserver/`, re-run on the embedded SQLite backend.

The test functions are imported (pytest collects them here, where `apiserver` is the SQLite-backed fixture of this
folder's conftest). Left out: the etcd outage tests (no etcd here) and the 410 test that starts its own apiserver on
the session etcd; its SQLite counterpart is below.
"""

from __future__ import annotations

import httpx

from tests.integration.apiserver.test_bad_input import *  # noqa: F403
from tests.integration.apiserver.test_crud import *  # noqa: F403
from tests.integration.apiserver.test_namespaces import *  # noqa: F403
from tests.integration.apiserver.test_watch import *  # noqa: F403
from tests.integration.apiserver.test_watch import Watch
from tests.integration.sqlite.conftest import SqliteApiServer

# Imported with the modules' other names; the etcd-only test is replaced by the one below.
del test_too_old_resource_version_is_410_error_frame  # noqa: F821

# Not the imported `pytest.mark.etcd`: nothing here needs etcd.
pytestmark = []  # type: ignore[assignment]


def test_too_old_resource_version_is_410_error_frame_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A revision older than the watch cache's history: an ERROR frame with a 410 Expired Status, then the end."""
    server = SqliteApiServer(tmp_path / "data", ["--watch-cache-size", "5"])
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            first = c.post(
                "/api/v1/namespaces/default/configmaps", json={"metadata": {"generateName": "old-"}}
            ).json()
            for _ in range(10):
                c.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"generateName": "old-"}})
        w = Watch(
            f"{server.url}/api/v1/namespaces/default/configmaps",
            {"resourceVersion": first["metadata"]["resourceVersion"]},
        )
        try:
            frames = w.wait_for(1)
            assert w.status == 200
            assert frames and frames[0]["type"] == "ERROR"
            assert frames[0]["object"]["code"] == 410 and frames[0]["object"]["reason"] == "Expired"
            assert w.done.wait(5)
        finally:
            w.close()
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)
