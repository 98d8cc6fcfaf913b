"""A kubelet's credential (system:node:<name> in system:nodes) against the Node authorizer and NodeRestriction:
it may change its own Node, Lease and its pods' status, read what its pods refer to, and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from apimachinery import storage
from tests import factories
from tests.harness import ApiServer, node_identity

pytestmark = pytest.mark.etcd


def _node(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
    }


def _pod(name: str, node: str, secret: str | None = None) -> dict:
    volumes = {"volumes": [{"name": "s", "secret": {"secretName": secret}}]} if secret else {}
    return factories.pod(name, image="busybox", container="c", node=node, **volumes)


def _message(r: httpx.Response) -> str:
    assert r.status_code == 403, f"{r.status_code} {r.text}"
    body = r.json()
    assert body["reason"] == "Forbidden" and body["code"] == 403
    return str(body["message"])


@pytest.fixture
def nodes(apiserver: ApiServer, api: httpx.Client) -> Iterator[tuple[str, str, httpx.Client]]:
    """Two registered nodes, and a client holding the first one's kubelet credential."""
    a, b = (f"n{uuid.uuid4().hex[:6]}" for _ in range(2))
    kubelet = apiserver.client(user=node_identity(a)[0], groups=node_identity(a)[1])
    try:
        assert kubelet.post("/api/v1/nodes", json=_node(a)).status_code == 201  # a kubelet registers itself
        assert api.post("/api/v1/nodes", json=_node(b)).status_code == 201
        yield a, b, kubelet
    finally:
        kubelet.close()
        for name in (a, b):
            api.delete(f"/api/v1/nodes/{name}")


def test_a_kubelet_changes_only_its_own_node(nodes: tuple[str, str, httpx.Client]) -> None:
    a, b, kubelet = nodes
    status = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    merge = {"Content-Type": "application/merge-patch+json"}
    assert kubelet.patch(f"/api/v1/nodes/{a}/status", json=status, headers=merge).status_code == 200
    assert (
        kubelet.patch(
            f"/api/v1/nodes/{a}", json={"metadata": {"labels": {"x": "y"}}}, headers=merge
        ).status_code
        == 200
    )
    r = kubelet.patch(f"/api/v1/nodes/{b}/status", json=status, headers=merge)
    assert _message(r) == f'nodes "{b}" is forbidden: node "{a}" is not allowed to modify node "{b}"'
    r = kubelet.patch(f"/api/v1/nodes/{b}", json={"spec": {"unschedulable": True}}, headers=merge)
    assert _message(r) == f'nodes "{b}" is forbidden: node "{a}" is not allowed to modify node "{b}"'
    r = kubelet.delete(f"/api/v1/nodes/{b}")
    assert _message(r) == (
        f'nodes "{b}" is forbidden: User "system:node:{a}" cannot delete resource "nodes" in API group "" '
        "at the cluster scope"
    )
    # Nor may it untaint itself or claim a restricted label to draw privileged workloads.
    taints = {"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    r = kubelet.patch(f"/api/v1/nodes/{a}", json=taints, headers=merge)
    assert _message(r) == f'nodes "{a}" is forbidden: node "{a}" is not allowed to modify taints'
    label = {"metadata": {"labels": {"node-restriction.kubernetes.io/secure": "true"}}}
    r = kubelet.patch(f"/api/v1/nodes/{a}", json=label, headers=merge)
    assert "is not allowed to modify labels: node-restriction.kubernetes.io/secure" in _message(r)


def test_a_kubelet_reads_only_the_secrets_its_pods_use(
    nodes: tuple[str, str, httpx.Client], api: httpx.Client, ns: str
) -> None:
    a, b, kubelet = nodes
    for name in ("mine", "theirs", "nobodys"):
        assert (
            api.post(f"/api/v1/namespaces/{ns}/secrets", json={"metadata": {"name": name}}).status_code == 201
        )
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-a", a, "mine")).status_code == 201
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-b", b, "theirs")).status_code == 201
    # As a kubelet learns of its pods: a list of its own (a consistent read, so the authorizer's cache has them).
    mine = kubelet.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={a}"}).json()["items"]
    assert [p["metadata"]["name"] for p in mine] == ["p-a"]
    assert kubelet.get(f"/api/v1/namespaces/{ns}/secrets/mine").status_code == 200
    for name in ("theirs", "nobodys"):
        r = kubelet.get(f"/api/v1/namespaces/{ns}/secrets/{name}")
        assert _message(r) == (
            f'secrets "{name}" is forbidden: User "system:node:{a}" cannot get resource "secrets" in API group "" '
            f"in the namespace \"{ns}\": no relationship found between node '{a}' and this object"
        )
    r = kubelet.get(f"/api/v1/namespaces/{ns}/secrets")
    assert _message(r).endswith(": No Object name found")  # a list names no object a pod could refer to
    # Its pods: listed only through its own field selector, read one by one only when bound to it.
    r = kubelet.get("/api/v1/pods")
    assert _message(r).endswith("can only list/watch pods with spec.nodeName field selector")
    assert kubelet.get(f"/api/v1/namespaces/{ns}/pods/p-a").status_code == 200
    assert kubelet.get(f"/api/v1/namespaces/{ns}/pods/p-b").status_code == 403


def test_a_kubelet_cannot_create_pods_or_touch_other_nodes_pods(
    nodes: tuple[str, str, httpx.Client], api: httpx.Client, ns: str
) -> None:
    a, b, kubelet = nodes
    r = kubelet.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("evil", b))
    assert _message(r) == (
        'pods "evil" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, '
        f'node "{a}" can only create mirror pods'
    )
    assert api.get(f"/api/v1/namespaces/{ns}/pods/evil").status_code == 404
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-a", a)).status_code == 201
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-b", b)).status_code == 201
    merge = {"Content-Type": "application/merge-patch+json"}
    running = {"status": {"phase": "Running"}}
    assert (
        kubelet.patch(f"/api/v1/namespaces/{ns}/pods/p-a/status", json=running, headers=merge).status_code
        == 200
    )
    r = kubelet.patch(f"/api/v1/namespaces/{ns}/pods/p-b/status", json=running, headers=merge)
    assert _message(r) == (
        f'pods "p-b" is forbidden: node "{a}" can only update pod status for pods with spec.nodeName set to itself'
    )
    r = kubelet.delete(f"/api/v1/namespaces/{ns}/pods/p-b")
    assert (
        _message(r)
        == f'pods "p-b" is forbidden: node "{a}" can only delete pods with spec.nodeName set to itself'
    )
    r = kubelet.patch(
        f"/api/v1/namespaces/{ns}/pods/p-a", json={"metadata": {"labels": {"x": "y"}}}, headers=merge
    )
    assert r.status_code == 403  # no update of the pod itself (the node rules allow status only)


def test_a_kubelet_uses_only_its_own_lease_and_tokens_for_its_pods(
    nodes: tuple[str, str, httpx.Client], api: httpx.Client, ns: str
) -> None:
    a, b, kubelet = nodes
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    lease = {"metadata": {"name": a}, "spec": {"holderIdentity": a, "leaseDurationSeconds": 40}}
    assert kubelet.post(leases, json=lease).status_code == 201
    r = kubelet.post(leases, json={**lease, "metadata": {"name": b}})
    assert _message(r) == (
        f'leases.coordination.k8s.io "{b}" is forbidden: can only access node lease with the same name as the '
        "requesting node"
    )
    r = kubelet.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{a}")
    assert 'can only access leases in the "kube-node-lease" system namespace' in _message(r)
    api.delete(f"{leases}/{a}")
    # A token for its pod's ServiceAccount, bound to that pod: yes; unbound, or for another node's pod: no.
    pod_a = api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-a", a)).json()
    pod_b = api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p-b", b)).json()
    assert kubelet.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={a}"}).json()["items"]
    token = f"/api/v1/namespaces/{ns}/serviceaccounts/default/token"

    def request(pod: dict | None) -> dict:
        spec: dict = {"expirationSeconds": 3607}
        if pod is not None:
            spec["boundObjectRef"] = {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"],
                                      "uid": pod["metadata"]["uid"]}  # fmt: skip
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}

    made = kubelet.post(token, json=request(pod_a))
    assert made.status_code == 201, made.text
    assert made.json()["status"]["token"].count(".") == 2
    assert _message(kubelet.post(token, json=request(None))).endswith(
        "node requested token not bound to a pod"
    )
    assert _message(kubelet.post(token, json=request(pod_b))).endswith(
        "node requested token bound to a pod scheduled on a different node"
    )


def _local_pv(name: str, node: str) -> dict:
    return factories.local_volume(name, f"/var/lib/kubelite/local/{name}", storage.pin_to_node(node), "1Gi")


def test_a_kubelet_may_touch_only_the_finalizer_of_its_own_local_volumes(
    nodes: tuple[str, str, httpx.Client], api: httpx.Client
) -> None:
    a, b, kubelet = nodes
    mine, theirs = f"pv-{uuid.uuid4().hex[:6]}", f"pv-{uuid.uuid4().hex[:6]}"
    try:
        assert api.post("/api/v1/persistentvolumes", json=_local_pv(mine, a)).status_code == 201
        assert api.post("/api/v1/persistentvolumes", json=_local_pv(theirs, b)).status_code == 201
        pv = kubelet.get(f"/api/v1/persistentvolumes/{mine}")
        assert pv.status_code == 200, pv.text
        held = pv.json()
        held["metadata"]["finalizers"] = [*held["metadata"]["finalizers"], "kubelite.io/local-path-directory"]
        r = kubelet.put(f"/api/v1/persistentvolumes/{mine}", json=held)
        assert r.status_code == 200, r.text
        # Nothing else: not its capacity, not another finalizer, not a volume of another node, not a new one.
        grown = r.json()
        grown["spec"]["capacity"] = {"storage": "100Gi"}
        r = kubelet.put(f"/api/v1/persistentvolumes/{mine}", json=grown)
        assert "may only add or remove the kubelite.io/local-path-directory finalizer" in _message(r)
        stripped = kubelet.get(f"/api/v1/persistentvolumes/{mine}").json()
        stripped["metadata"]["finalizers"] = []
        r = kubelet.put(f"/api/v1/persistentvolumes/{mine}", json=stripped)
        assert "may only add or remove" in _message(r)  # the pv-protection finalizer is not the node's
        assert "no relationship found" in _message(kubelet.get(f"/api/v1/persistentvolumes/{theirs}"))
        assert kubelet.get("/api/v1/persistentvolumes").status_code == 403
        assert kubelet.post("/api/v1/persistentvolumes", json=_local_pv("pv-new", a)).status_code == 403
    finally:
        for name in (mine, theirs):
            api.delete(f"/api/v1/persistentvolumes/{name}")
            current = api.get(f"/api/v1/persistentvolumes/{name}")
            if current.status_code == 200:
                obj = current.json()
                obj["metadata"]["finalizers"] = []
                api.put(f"/api/v1/persistentvolumes/{name}", json=obj)
