"""`kctl up` on this machine from a clean state: a state dir, kubeconfig and ports of the test's own.

`UpCluster` runs kctl as a user would (`python -m cli.main ...` with KUBECONFIG pointing at a temp file, so the
user's own config is never touched) with every component on a free port and a node name of its own. Teardown runs
`kctl down --purge` and, should that fail, kills whatever the supervisor left by its process group.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.up.helpers import UpCluster, skip_unless_up_can_run, tear_down


@pytest.fixture(scope="module")
def up_cluster() -> Iterator[UpCluster]:
    skip_unless_up_can_run()
    cluster = UpCluster(Path(tempfile.mkdtemp(prefix="kubelite-up-")))
    try:
        yield cluster
    finally:
        tear_down(cluster)
