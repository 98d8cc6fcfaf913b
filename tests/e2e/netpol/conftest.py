"""Network policies end to end: the service tests' cluster (a private etcd and apiserver, the real controller-manager
and scheduler, two real kubelets on Docker with CNI bridges, one kube-proxy) plus ONE kube-netpol for both nodes
(they share this machine's network namespace, as they share kube-proxy), and the real kubectl.

Teardown stops the agent and runs `kube-netpol --cleanup`, then the cluster's own teardown, whether the tests
passed or not. Traffic goes only between the pods these tests create, on the bridges the kubelets create.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.netpol.helpers import Net
from tests.e2e.proxy.helpers import Cluster, small_cluster
from tests.integration.kubectl.kube import KUBECTL, Kubectl
from tests.integration.netpol.helpers import NetpolProc, agent_args, need_tools
from tests.kube import write_kubeconfig


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """The service tests' cluster (tests/e2e/proxy/helpers.py), one per module."""
    with small_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def net(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    need_tools()
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    home: Path = tmp_path_factory.mktemp("netpol-kubectl")
    apiserver = cluster.proxy.apiserver
    kubectl = Kubectl(write_kubeconfig(home / "kubeconfig", apiserver), home / "cache")
    # One agent for both nodes (one network namespace), as the agent of the first one.
    agent = NetpolProc(agent_args(apiserver, cluster.a.name), [cluster.a.name, cluster.b.name])
    try:
        agent.start()
        yield Net(cluster, agent, kubectl)
    finally:
        agent.cleanup()
