"""Two real kubelets on this machine's Docker against the real apiserver, and everything to clean up after them.

`node_pair` (session scope, on an apiserver of its own backed by the session etcd) starts kubelets "a" and "b" with different podCIDRs (inside 10.244.0.0/16, chosen at
random among those no route of this machine uses, so that other clusters and other fixtures do not collide), short back-offs and their own root and CNI dirs. At teardown it
stops them and removes every container labelled with their node names, their CNI state, bridges and host rules,
and the guard route if this fixture created it, whether the tests passed or not.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import guard_route_restored, running_nodes, token_controllers
from tests.e2e.kubelet.helpers import (
    NodePair,
    kubelet_pair,
)
from tests.harness import (
    ApiServer,
    docker_ok,
    own_apiserver,
)
from tests.images import ensure_images


@pytest.fixture(scope="session")
def kubelet_apiserver() -> Iterator[ApiServer]:
    """A real apiserver for all kubelet e2e tests (session-wide, so the kubelets start once), on an etcd of its
    own: the controllers that run with it (start_token_controllers) act on every namespace of their etcd, and
    must not act on the other suites' objects in the session etcd."""
    with own_apiserver() as server:
        yield server


@pytest.fixture(scope="session")
def node_pair(kubelet_apiserver: ApiServer) -> Iterator[NodePair]:
    apiserver = kubelet_apiserver
    if not docker_ok():
        pytest.skip("Docker engine not available")
    ensure_images()
    suffix = uuid.uuid4().hex[:5]
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-kubelet-"))
    kubelets = kubelet_pair(f"kl{suffix}", tmp, apiserver)
    api = apiserver.client(timeout=10)
    try:
        # What every pod needs to reach the API: the namespaces' default ServiceAccount and kube-root-ca.crt.
        with guard_route_restored(), token_controllers(apiserver), running_nodes(kubelets):
            yield NodePair(api, kubelets[0], kubelets[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        api.close()
