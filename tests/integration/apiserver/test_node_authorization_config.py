"""The Node authorizer and the kubelet's configuration reads: a kubelet reads (get, or list/watch of the one object
by `metadata.name`) only the ConfigMaps and Secrets that pods bound to it refer to, through any of env valueFrom,
envFrom, configMap/secret volumes and projected sources; the relation ends when the pod goes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests import factories
from tests.harness import ApiServer, node_identity
from tests.polling import wait_until

pytestmark = pytest.mark.etcd


@pytest.fixture
def kubelet(apiserver: ApiServer, api: httpx.Client) -> Iterator[tuple[str, httpx.Client]]:
    node = f"n{uuid.uuid4().hex[:6]}"
    client = apiserver.client(user=node_identity(node)[0], groups=node_identity(node)[1])
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}
    try:
        assert client.post("/api/v1/nodes", json=body).status_code == 201
        yield node, client
    finally:
        client.close()
        api.delete(f"/api/v1/nodes/{node}")


def _pod(name: str, node: str) -> dict:
    env = [
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "env-cm", "key": "k"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}}},
    ]
    env_from = [{"configMapRef": {"name": "from-cm"}}, {"secretRef": {"name": "from-secret"}}]
    volumes = [
        {"name": "a", "configMap": {"name": "vol-cm"}},
        {"name": "b", "secret": {"secretName": "vol-secret"}},
        {"name": "c", "projected": {"sources": [{"configMap": {"name": "proj-cm"}},
                                                {"secret": {"name": "proj-secret"}}]}},
    ]  # fmt: skip
    container = factories.container("c", "busybox", env=env, envFrom=env_from)
    return factories.pod(name, containers=[container], node=node, volumes=volumes)


REFERENCED = {
    "configmaps": ["env-cm", "from-cm", "vol-cm", "proj-cm"],
    "secrets": ["env-secret", "from-secret", "vol-secret", "proj-secret"],
}


def test_a_kubelet_reads_only_what_its_pods_refer_to(
    kubelet: tuple[str, httpx.Client], api: httpx.Client, ns: str
) -> None:
    node, client = kubelet
    for resource, names in REFERENCED.items():
        for name in [*names, "unrelated"]:
            r = api.post(f"/api/v1/namespaces/{ns}/{resource}", json={"metadata": {"name": name}})
            assert r.status_code == 201, r.text
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=_pod("p", node)).status_code == 201
    # A consistent list of its pods, as the kubelet's informer makes: the authorizer's cache has the pod after it.
    assert client.get("/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"}).json()["items"]
    for resource, names in REFERENCED.items():
        for name in names:
            assert client.get(f"/api/v1/namespaces/{ns}/{resource}/{name}").status_code == 200, (
                resource,
                name,
            )
            # a single-object list and watch, as a watch-based kubelet cache reads them
            one = {"fieldSelector": f"metadata.name={name}"}
            r = client.get(f"/api/v1/namespaces/{ns}/{resource}", params=one)
            assert r.status_code == 200 and [o["metadata"]["name"] for o in r.json()["items"]] == [name]
            with client.stream("GET", f"/api/v1/namespaces/{ns}/{resource}",
                               params={**one, "watch": "true", "timeoutSeconds": "1"}) as w:  # fmt: skip
                assert w.status_code == 200
        r = client.get(f"/api/v1/namespaces/{ns}/{resource}/unrelated")
        assert r.status_code == 403 and "no relationship found between node" in r.json()["message"]
        r = client.get(
            f"/api/v1/namespaces/{ns}/{resource}", params={"fieldSelector": "metadata.name=unrelated"}
        )
        assert r.status_code == 403
        assert client.get(f"/api/v1/namespaces/{ns}/{resource}").status_code == 403  # no list of them all
        r = client.put(
            f"/api/v1/namespaces/{ns}/{resource}/{names[0]}", json={"metadata": {"name": names[0]}}
        )
        assert r.status_code == 403  # read only
    # The pod goes: so does the kubelet's access to what it referred to.
    assert (
        api.delete(f"/api/v1/namespaces/{ns}/pods/p", params={"gracePeriodSeconds": "0"}).status_code == 200
    )
    wait_until(lambda: client.get(f"/api/v1/namespaces/{ns}/secrets/vol-secret").status_code == 403, 10,
               what="access to the secret withdrawn")  # fmt: skip
