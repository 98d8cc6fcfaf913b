"""A one-node cluster with the whole metrics path, for the e2e tests of `kubectl top` and of the HPA: an apiserver
of its own with the aggregation layer (front-proxy certificate), a real kubelet on Docker collecting every second,
the real metrics-server behind the apiserver scraping every 2 s (its APIService Available before the body runs),
the controllers pods need for their API credentials, and a namespace of its own."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.binaries import KUBECTL
from tests.cluster import running_nodes, token_controllers
from tests.e2e.kubelet.helpers import KubeletProc
from tests.harness import ApiServer, docker_ok, free_pod_cidrs, free_port, own_apiserver
from tests.harness import test_pki as cluster_pki
from tests.images import ensure_images
from tests.integration.aggregator.frontproxy import apiserver_args, local_address, make_front_proxy
from tests.integration.aggregator.metricsserver import MetricsServer
from tests.polling import wait_until

METRICS_APISERVICE = "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io"


@dataclass
class MetricsNode:
    apiserver: ApiServer
    kubelet: KubeletProc
    metrics: MetricsServer
    api: httpx.Client  # the admin's
    ns: str


def skip_unless_metrics_node_can_run() -> None:
    """Skip the test (module) where the metrics node cannot start (no Docker) or kubectl is missing."""
    if not docker_ok():
        pytest.skip("Docker engine not available")
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (scripts/install)")


@contextmanager
def metrics_node(name: str) -> Iterator[MetricsNode]:
    """The cluster, its namespace `<name>-<random>`; everything stopped and removed afterwards."""
    ensure_images()
    tmp = Path(tempfile.mkdtemp(prefix=f"kubelite-{name}-"))
    try:
        front_proxy = make_front_proxy(tmp)
        # The metrics APIService's caBundle is the cluster CA (metrics-server's certificate is issued by it).
        with (
            own_apiserver(apiserver_args(front_proxy, cluster_pki().ca_file)) as apiserver,
            apiserver.client(timeout=10) as api,
            token_controllers(apiserver),
        ):
            [cidr] = free_pod_cidrs(1, range(100, 250))
            kubelet = KubeletProc(f"{name[:2]}{uuid.uuid4().hex[:6]}", cidr, free_port(), tmp / "root", tmp / "cni",
                                  apiserver, extra=["--housekeeping-interval", "1"])  # fmt: skip
            ns = f"{name}-{uuid.uuid4().hex[:6]}"
            assert api.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).status_code == 201
            with running_nodes([kubelet]):
                metrics = MetricsServer(apiserver, front_proxy.ca_file, tmp, local_address(), resolution=2.0)
                try:
                    wait_until(
                        lambda: (
                            '"Available", "status": "True"' in json.dumps(api.get(METRICS_APISERVICE).json())
                        ),
                        30,
                        what="v1beta1.metrics.k8s.io Available",
                    )
                    yield MetricsNode(apiserver, kubelet, metrics, api, ns)
                finally:
                    metrics.stop()
                    metrics.log.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
