"""The `cluster` fixture (module scope): a whole kubelite cluster on this machine (see cluster.py), stopped
and cleaned up at the end of the module whether the tests passed or not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cluster.cluster import LocalCluster, skip_unless_a_cluster_can_run
from tests.harness import forbidden_lines


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    skip_unless_a_cluster_can_run()
    c = LocalCluster(grace=5, toleration=5)
    try:
        c.start()
        yield c
        # Each component ran as its own identity: none of them was refused anything (a silently forbidden
        # controller, a kubelet the Node authorizer stops).
        refused = {
            name: forbidden_lines(c.log(name, tail=10**7))
            for name in ["scheduler", "controller-manager", *(k.name for k in c.kubelets)]
        }
        assert not any(refused.values()), {n: lines[:3] for n, lines in refused.items() if lines}
    finally:
        c.stop()
