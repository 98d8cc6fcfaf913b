"""CRUD through the REST API against a real apiserver on a real etcd."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def test_create_get_list_delete_pod(api: httpx.Client, ns: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("web", {"app": "web"}))
    assert r.status_code == 201, r.text
    pod = r.json()
    md = pod["metadata"]
    assert md["namespace"] == ns and md["uid"] and md["creationTimestamp"].endswith("Z")
    assert int(md["resourceVersion"]) > 0
    assert pod["spec"]["restartPolicy"] == "Always"  # defaulted
    assert pod["status"]["phase"] == "Pending"

    got = api.get(f"/api/v1/namespaces/{ns}/pods/web").json()
    assert got["metadata"]["uid"] == md["uid"]

    listed = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    assert listed["kind"] == "PodList" and [p["metadata"]["name"] for p in listed["items"]] == ["web"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(md["resourceVersion"])

    # Not bound to a node: deleted at once, and the Pod comes back (the Python client expects a V1Pod).
    r = api.delete(f"/api/v1/namespaces/{ns}/pods/web")
    assert r.status_code == 200 and r.json()["kind"] == "Pod"
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 404


def test_create_existing_is_409_already_exists(api: httpx.Client, ns: str) -> None:
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("dup")).status_code == 201
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("dup"))
    assert r.status_code == 409
    assert r.json()["reason"] == "AlreadyExists"
    assert r.json()["message"] == 'pods "dup" already exists'


def test_generate_name(api: httpx.Client, ns: str) -> None:
    body = factories.pod("")
    body["metadata"] = {"generateName": "web-"}
    names = {
        api.post(f"/api/v1/namespaces/{ns}/pods", json=body).json()["metadata"]["name"] for _ in range(5)
    }
    assert len(names) == 5 and all(n.startswith("web-") and len(n) == 9 for n in names)


def test_missing_kind_and_api_version_are_filled_from_the_url(api: httpx.Client, ns: str) -> None:
    r = api.post(
        f"/api/v1/namespaces/{ns}/pods",
        json={"metadata": {"name": "bare"}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
        headers={"Content-Type": ""},
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "Pod" and r.json()["apiVersion"] == "v1"


def test_update_with_stale_resource_version_is_409_conflict(api: httpx.Client, ns: str) -> None:
    created = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False),
    ).json()
    assert created["metadata"]["generation"] == 1
    first = dict(created)
    first["spec"] = {**created["spec"], "replicas": 3}
    r = api.put(f"/apis/apps/v1/namespaces/{ns}/deployments/web", json=first)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["generation"] == 2  # spec change bumps generation
    stale = dict(created)
    stale["spec"] = {**created["spec"], "replicas": 5}
    r = api.put(f"/apis/apps/v1/namespaces/{ns}/deployments/web", json=stale)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"] == 3


def test_status_subresource_is_separate_from_spec(api: httpx.Client, ns: str) -> None:
    d = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("st", replicas=1, image="busybox:1", labelled=False),
    ).json()
    d["status"] = {"replicas": 7, "observedGeneration": 1}
    r = api.put(f"/apis/apps/v1/namespaces/{ns}/deployments/st/status", json=d)
    assert r.status_code == 200, r.text
    assert r.json()["status"]["replicas"] == 7
    assert r.json()["metadata"]["generation"] == 1  # status writes never bump generation
    # A write to the main resource cannot change status.
    d = r.json()
    d["status"] = {"replicas": 1}
    d["metadata"]["labels"] = {"x": "y"}
    r = api.put(f"/apis/apps/v1/namespaces/{ns}/deployments/st", json=d)
    assert r.json()["status"]["replicas"] == 7 and r.json()["metadata"]["labels"] == {"x": "y"}


def test_binding_sets_node_once(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("b"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "b"},
        "target": {"kind": "Node", "name": "n1"},
    }
    assert api.post(f"/api/v1/namespaces/{ns}/pods/b/binding", json=binding).status_code == 201
    pod = api.get(f"/api/v1/namespaces/{ns}/pods/b").json()
    assert pod["spec"]["nodeName"] == "n1"
    assert {"type": "PodScheduled", "status": "True"}.items() <= pod["status"]["conditions"][0].items()
    binding["target"]["name"] = "n2"
    r = api.post(f"/api/v1/namespaces/{ns}/pods/b/binding", json=binding)
    assert r.status_code == 409


def test_graceful_pod_deletion_on_a_node(api: httpx.Client, ns: str) -> None:
    api.post(
        f"/api/v1/namespaces/{ns}/pods",
        json=factories.pod("g", nodeName="n1", terminationGracePeriodSeconds=20),
    )
    r = api.delete(f"/api/v1/namespaces/{ns}/pods/g")
    assert r.status_code == 200
    md = r.json()["metadata"]
    assert md["deletionTimestamp"] and md["deletionGracePeriodSeconds"] == 20
    assert api.get(f"/api/v1/namespaces/{ns}/pods/g").status_code == 200  # the kubelet finishes it
    assert api.delete(f"/api/v1/namespaces/{ns}/pods/g", params={"gracePeriodSeconds": 0}).status_code == 200
    assert api.get(f"/api/v1/namespaces/{ns}/pods/g").status_code == 404


def test_finalizers_hold_deletion_until_removed(api: httpx.Client, ns: str) -> None:
    cm = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}, "data": {"a": "1"}}
    assert api.post(f"/api/v1/namespaces/{ns}/configmaps", json=cm).status_code == 201
    r = api.delete(f"/api/v1/namespaces/{ns}/configmaps/held")
    assert r.status_code in (200, 202)
    live = api.get(f"/api/v1/namespaces/{ns}/configmaps/held").json()
    assert live["metadata"]["deletionTimestamp"]
    live["metadata"]["finalizers"] = []
    assert api.put(f"/api/v1/namespaces/{ns}/configmaps/held", json=live).status_code == 200
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/held").status_code == 404


def test_delete_preconditions_and_status_for_non_pods(api: httpx.Client, ns: str) -> None:
    d = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("pre", replicas=1, image="busybox:1", labelled=False),
    ).json()
    r = api.request(
        "DELETE",
        f"/apis/apps/v1/namespaces/{ns}/deployments/pre",
        json={"preconditions": {"uid": "not-the-uid"}},
    )
    assert r.status_code == 409
    r = api.request(
        "DELETE",
        f"/apis/apps/v1/namespaces/{ns}/deployments/pre",
        json={"propagationPolicy": "Background", "preconditions": {"uid": d["metadata"]["uid"]}},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "Success" and r.json()["details"]["group"] == "apps"


def test_foreground_deletion_adds_the_finalizer(api: httpx.Client, ns: str) -> None:
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("fg", replicas=1, image="busybox:1", labelled=False),
    )
    r = api.request(
        "DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/fg", json={"propagationPolicy": "Foreground"}
    )
    assert r.status_code in (200, 202)
    live = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/fg").json()
    assert "foregroundDeletion" in live["metadata"]["finalizers"] and live["metadata"]["deletionTimestamp"]


def test_scale_subresource(api: httpx.Client, ns: str) -> None:
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("sc", 2, image="busybox:1", labelled=False),
    )
    scale = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/sc/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2 and "replicas" in scale["status"]
    assert scale["status"]["selector"] == "app=sc"
    r = api.patch(
        f"/apis/apps/v1/namespaces/{ns}/deployments/sc/scale",
        json={"spec": {"replicas": 4}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 4
    d = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/sc").json()
    assert d["spec"]["replicas"] == 4 and d["metadata"]["generation"] == 2
    stale = dict(scale, spec={"replicas": 9})
    assert api.put(f"/apis/apps/v1/namespaces/{ns}/deployments/sc/scale", json=stale).status_code == 409


def test_cluster_scoped_and_all_namespaces_paths(api: httpx.Client, ns: str) -> None:
    node = {"metadata": {"name": f"node-{ns}"}, "status": {"capacity": {"cpu": "2"}}}
    r = api.post("/api/v1/nodes", json=node)
    assert r.status_code == 201 and "namespace" not in r.json()["metadata"]
    assert r.json()["status"]["capacity"] == {"cpu": "2"}  # nodes register with their status
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("everywhere"))
    all_pods = api.get("/api/v1/pods").json()["items"]
    assert any(p["metadata"]["name"] == "everywhere" and p["metadata"]["namespace"] == ns for p in all_pods)
    api.delete(f"/api/v1/nodes/node-{ns}")


def test_delete_collection_with_selector(api: httpx.Client, ns: str) -> None:
    for i in range(4):
        api.post(
            f"/api/v1/namespaces/{ns}/pods", json=factories.pod(f"p{i}", {"group": "a" if i < 3 else "b"})
        )
    r = api.delete(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": "group=a"})
    assert r.status_code == 200 and len(r.json()["items"]) == 3
    left = api.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
    assert [p["metadata"]["name"] for p in left] == ["p3"]


def test_label_and_field_selectors(api: httpx.Client, ns: str) -> None:
    api.post(
        f"/api/v1/namespaces/{ns}/pods", json=factories.pod("a", {"tier": "fe", "env": "prod"}, nodeName="n1")
    )
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("b", {"tier": "be", "env": "prod"}))
    api.post(f"/api/v1/namespaces/{ns}/pods", json=factories.pod("c", {"tier": "fe"}))

    def names(**params: str) -> list[str]:
        r = api.get(f"/api/v1/namespaces/{ns}/pods", params=params)
        assert r.status_code == 200, r.text
        return sorted(p["metadata"]["name"] for p in r.json()["items"])

    assert names(labelSelector="tier=fe") == ["a", "c"]
    assert names(labelSelector="tier in (fe,be),env") == ["a", "b"]
    assert names(labelSelector="!env") == ["c"]
    assert names(labelSelector="env notin (prod)") == ["c"]
    assert names(fieldSelector="spec.nodeName=n1") == ["a"]
    assert names(fieldSelector="metadata.name!=a,status.phase=Pending") == ["b", "c"]
    r = api.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": "tier in (fe"})
    assert r.status_code == 400
    r = api.get(f"/api/v1/namespaces/{ns}/pods", params={"fieldSelector": "spec.bogus=1"})
    assert r.status_code == 400 and "not supported" in r.json()["message"]


def test_pagination_under_concurrent_writes(api: httpx.Client, ns: str, apiserver) -> None:
    for i in range(30):
        api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm-{i:03d}"}})

    def writer() -> None:
        with apiserver.client(timeout=10) as c:
            for i in range(30, 60):
                c.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": f"cm-{i:03d}"}})

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(writer)
        seen: list[str] = []
        page = api.get(f"/api/v1/namespaces/{ns}/configmaps", params={"limit": 7}).json()
        rv = page["metadata"]["resourceVersion"]
        while True:
            seen += [o["metadata"]["name"] for o in page["items"]]
            # Every page is read at the first page's revision.
            assert page["metadata"]["resourceVersion"] == rv
            token = page["metadata"].get("continue")
            if not token:
                break
            page = api.get(
                f"/api/v1/namespaces/{ns}/configmaps", params={"limit": 7, "continue": token}
            ).json()
        fut.result()
    assert len(seen) == len(set(seen))
    assert {f"cm-{i:03d}" for i in range(30)} <= set(seen)
    # Exactly the objects that existed at the list's revision: a consistent snapshot.
    at_rv = api.get(
        f"/api/v1/namespaces/{ns}/configmaps", params={"resourceVersion": rv, "resourceVersionMatch": "Exact"}
    ).json()["items"]
    assert sorted(seen) == sorted(o["metadata"]["name"] for o in at_rv)


def test_dry_run_writes_nothing(api: httpx.Client, ns: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "All"}, json=factories.pod("dry"))
    assert r.status_code == 201 and r.json()["metadata"]["name"] == "dry"
    assert api.get(f"/api/v1/namespaces/{ns}/pods/dry").status_code == 404
