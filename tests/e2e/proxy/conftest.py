"""A whole small cluster on this machine for the service tests, and everything to clean up after it.

`cluster` (module scope): a private etcd and apiserver (so the scheduler sees only our nodes), the real
controller-manager (endpoints, deployment, replicaset controllers), the real scheduler, two real kubelets on
Docker with CNI bridges, and ONE kube-proxy for both (they share this machine's network namespace). The
kube-proxy's guard routes are in place before any test sends a packet to a service address. Teardown removes
kube-proxy's rules, device and routes, the kubelets' containers, bridges and rules, and restores route_localnet,
whether the tests passed or not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.proxy.helpers import (
    Cluster,
    small_cluster,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with small_cluster() as c:
        yield c
