"""The API integration tests of `tests/integration/apiserver/`, re-run on the embedded SQLite backend.

The test functions are imported (pytest collects them here, where `apiserver` is the SQLite-backed fixture of this
folder's conftest). Left out: the etcd outage tests (no etcd here) and the 410 test that starts its own apiserver on
the session etcd; its SQLite counterpart is below.
"""

from __future__ import annotations

from tests.integration.apiserver.test_bad_input import *  # noqa: F403
from tests.integration.apiserver.test_crud import *  # noqa: F403
from tests.integration.apiserver.test_namespaces import *  # noqa: F403
from tests.integration.apiserver.test_watch import *  # noqa: F403
from tests.integration.apiserver.test_watch import check_too_old_is_410
from tests.integration.sqlite.helpers import SqliteApiServer

# Imported with the modules' other names; the etcd-only test is replaced by the one below.
del test_too_old_resource_version_is_410_error_frame  # noqa: F821

# Not the imported `pytest.mark.etcd`: nothing here needs etcd.
pytestmark = []  # type: ignore[assignment]


def test_too_old_resource_version_is_410_error_frame_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = SqliteApiServer(tmp_path / "data", ["--watch-cache-size", "5"])
    server.start()
    try:
        check_too_old_is_410(server.url)
    finally:
        server.stop()
        server.log_path.unlink(missing_ok=True)
