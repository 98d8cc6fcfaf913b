"""Hollow nodes serve a kubelet API of their own: `kubectl logs` (and the Python client) of a hollow pod answer
that the pod is simulated, through the apiserver's usual path (HTTPS, the apiserver's client certificate, the
node's serving certificate checked for its name); nothing reaches a real kubelet."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from kubernetes import client
from kubernetes import config as kube_config

from tests import harness
from tests.binaries import KUBECTL
from tests.harness import ApiServer
from tests.integration.kubectl.kube import MARKS, Kubectl
from tests.integration.scheduler.helpers import Api, make_pod
from tests.kube import write_kubeconfig
from tests.polling import wait_until

pytestmark = MARKS  # etcd, and kubectl installed


def _running(api: Api, ns: str, name: str) -> bool:
    return ((api.pod(ns, name) or {}).get("status") or {}).get("phase") == "Running"


def _serving_cert(tmp_path: Path, names: list[str]) -> tuple[Path, Path]:
    """A serving certificate from the cluster's CA naming every hollow node (the apiserver checks the name)."""
    return harness.test_pki().ca.issue_files(
        tmp_path, "hollow", "kubelite-hollow-nodes", server=True, client=False, dns_names=names,
        ip_addresses=["127.0.0.1"],
    )  # fmt: skip


def test_logs_of_a_hollow_pod_say_it_is_simulated(
    api: Api, cluster: ApiServer, hollow, ns: str, tmp_path: Path
) -> None:
    names = [f"hk-{i}" for i in range(2)]
    cert, key = _serving_cert(tmp_path, names)
    hollow(2, "hk-", "--tls-cert-file", str(cert), "--tls-private-key-file", str(key),
           "--client-ca-file", harness.test_pki().ca_file)  # fmt: skip
    node = api.get("/api/v1/nodes/hk-1")
    assert node is not None
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    assert port != 10250, "its own port, not a real kubelet's"
    api.create_pod(ns, make_pod("sim", nodeName="hk-1"))
    wait_until(lambda: _running(api, ns, "sim"), 10, what="hollow pod Running")
    expected = (
        f"pod {ns}/sim is simulated by hollow node hk-1 (kubelite-hollow-nodes): container app never ran"
    )

    assert KUBECTL is not None
    kubectl = Kubectl(write_kubeconfig(tmp_path / "kubeconfig", cluster), tmp_path / "cache", ns)
    out = kubectl("logs", "sim")
    assert out.startswith(expected), out

    config = client.Configuration()
    kube_config.load_kube_config(config_file=str(cluster.admin_kubeconfig), client_configuration=config)
    with client.ApiClient(config) as api_client:
        text = client.CoreV1Api(api_client).read_namespaced_pod_log("sim", ns)
    assert text.startswith(expected)

    # The API itself: TLS, and only for a client with a certificate of the cluster's CA.
    url = f"https://127.0.0.1:{port}/containerLogs/{ns}/sim/app"
    anonymous = ssl.create_default_context(cafile=harness.test_pki().ca_file)
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, verify=anonymous, timeout=5)
    with httpx.Client(verify=harness.test_pki().ssl_context(), timeout=5) as authed:
        assert authed.get(url).text.startswith(expected)
        assert authed.get(f"https://127.0.0.1:{port}/containerLogs/{ns}/elsewhere/app").status_code == 404
        assert authed.get(f"https://127.0.0.1:{port}/exec/{ns}/sim/app").status_code == 404


def test_without_a_cluster_certificate_nothing_real_is_reached(
    api: Api, cluster: ApiServer, hollow, ns: str, tmp_path: Path
) -> None:
    """A hollow process started without certificates serves a self-signed one: an apiserver that checks kubelet
    certificates refuses it, and the answer names that, not a real kubelet's."""
    hollow(1, "hs-")
    node = api.get("/api/v1/nodes/hs-0")
    assert node is not None and node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] != 10250
    api.create_pod(ns, make_pod("sim", nodeName="hs-0"))
    wait_until(lambda: _running(api, ns, "sim"), 10, what="hollow pod Running")
    kubectl = Kubectl(write_kubeconfig(tmp_path / "kubeconfig", cluster), tmp_path / "cache", ns)
    err = kubectl.fails("logs", "sim")
    assert "certificate verify failed" in err, err
    port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
    assert f"127.0.0.1:{port}/containerLogs/{ns}/sim/app" in err
