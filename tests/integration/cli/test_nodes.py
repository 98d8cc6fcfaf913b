"""cordon, uncordon, drain (with the DaemonSet / unmanaged / mirror pod rules) and logs."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def owned(name: str, node: str, kind: str | None) -> dict:
    pod = factories.pod(name, image="busybox", container="main")
    pod["spec"]["nodeName"] = node
    if kind:
        pod["metadata"]["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": f"{kind.lower()}-x",
                "uid": f"uid-{name}",
                "controller": True,
            }
        ]
    return pod


@pytest.fixture(scope="module")
def node(api, ns):
    name = f"{ns}-n1"
    api.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    yield name
    api.http.delete(f"/api/v1/nodes/{name}")


def test_cordon_uncordon(kctl, api, node):
    assert kctl("cordon", node).out == f"node/{node} cordoned\n"
    assert api.get(f"/api/v1/nodes/{node}")["spec"]["unschedulable"] is True
    assert kctl("cordon", node).out == f"node/{node} already cordoned\n"
    assert kctl("uncordon", node).out == f"node/{node} uncordoned\n"
    assert not api.get(f"/api/v1/nodes/{node}")["spec"].get("unschedulable")
    r = kctl("cordon", "no-such-node")
    assert r.code == 1 and r.err.strip() == 'Error from server (NotFound): nodes "no-such-node" not found'


def test_drain(kctl, api, ns, node):
    pods = f"/api/v1/namespaces/{ns}/pods"
    api.post(pods, owned("rs-pod", node, "ReplicaSet"))
    api.post(pods, owned("ds-pod", node, "DaemonSet"))
    api.post(pods, owned("bare-pod", node, None))
    mirror = owned("static-pod", node, None)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    api.post(pods, mirror)
    api.post(pods, owned("elsewhere", "other-node", None))

    r = kctl("drain", node)
    assert r.code == 1
    assert r.out == f"node/{node} cordoned\n"
    assert f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {ns}/ds-pod" in r.err
    assert f"cannot delete Pods that declare no controller (use --force to override): {ns}/bare-pod" in r.err
    assert api.status(f"{pods}/rs-pod") == 200  # nothing was evicted

    # No kubelet runs here, so pods are evicted with a zero grace period (otherwise they would stay
    # Terminating until a kubelet confirms).
    r = kctl("drain", node, "--ignore-daemonsets", "--force", "--grace-period=0", "--timeout=30s")
    assert r.code == 0, r
    out = r.out.splitlines()
    assert out[0] == f"node/{node} already cordoned"
    assert out[-1] == f"node/{node} drained"
    assert sorted(out[1:-1]) == sorted(
        [
            f"evicting pod {ns}/bare-pod",
            f"evicting pod {ns}/rs-pod",
            "pod/bare-pod evicted",
            "pod/rs-pod evicted",
        ]
    )
    assert f"Warning: ignoring DaemonSet-managed Pods: {ns}/ds-pod" in r.err
    assert f"Warning: deleting Pods that declare no controller: {ns}/bare-pod" in r.err
    names = {p["metadata"]["name"] for p in api.get(pods)["items"]}
    assert {"ds-pod", "static-pod", "elsewhere"} <= names
    assert not names & {"rs-pod", "bare-pod"}
    assert api.get(f"/api/v1/nodes/{node}")["spec"]["unschedulable"] is True


def test_logs_prints_the_servers_error(kctl, api, ns):
    """The apiserver proxies logs to the pod's kubelet; with none running, kctl shows the server's answer."""
    api.post(f"/api/v1/namespaces/{ns}/pods", owned("logged", "ghost-node", None))
    r = kctl("logs", "logged")
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error from server ("), r
    r = kctl("logs", "logged", "-c", "nope")
    assert r.code == 1 and r.err.strip() == "error: container nope is not valid for pod logged"
    r = kctl("logs", "missing-pod")
    assert r.code == 1 and r.err.strip() == 'Error from server (NotFound): pods "missing-pod" not found'
    r = kctl("logs", "deployment/none")
    assert r.code == 1 and r.err.strip() == 'Error from server (NotFound): deployments.apps "none" not found'
