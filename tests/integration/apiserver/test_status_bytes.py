"""The bytes a real apiserver answers for errors and deletes, compared with kube-apiserver's (written down from its
source in tests/unit/test_status_golden.py, where each body's origin is named), and what DELETE returns per kind.

DELETE in kube-apiserver (k8s.io/apiserver v0.32.0, pkg/endpoints/handlers/delete.go and
pkg/registry/generic/registry/store.go): the registry returns the deleted object when the kind's store sets
ReturnDeletedObject (pods, services, namespaces among ours; the Python client types those deletes V1Pod, V1Service)
or when the object is not gone yet (finalizers), and a Success Status otherwise. The code is 200, or 202 when the
object stays and the client sent orphanDependents=false. A deletecollection answers the list as it was listed.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.harness import Etcd, running_apiserver

pytestmark = pytest.mark.etcd

STATUS = b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'


def delete(api: httpx.Client, path: str, options: dict) -> httpx.Response:
    """DELETE with DeleteOptions in the body, as kubectl sends them."""
    return api.request("DELETE", path, json=options)


def test_not_found_bytes(api: httpx.Client, ns: str) -> None:
    r = api.get(f"/api/v1/namespaces/{ns}/pods/zzz")
    assert r.status_code == 404
    assert r.content == STATUS + (
        b'"message":"pods \\"zzz\\" not found","reason":"NotFound","details":{"name":"zzz","kind":"pods"},'
        b'"code":404}\n'
    )
    r = api.get(f"/api/v1/namespaces/{ns}/nosuchthings")
    assert r.content == STATUS + (
        b'"message":"the server could not find the requested resource","reason":"NotFound","details":{},'
        b'"code":404}\n'
    )


def test_already_exists_and_conflict_bytes(api: httpx.Client, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    first = api.post(path, json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False))
    assert first.status_code == 201
    r = api.post(path, json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False))
    assert (r.status_code, r.content) == (
        409,
        STATUS + b'"message":"deployments.apps \\"web\\" already exists","reason":"AlreadyExists",'
        b'"details":{"name":"web","group":"apps","kind":"deployments"},"code":409}\n',
    )
    stale = first.json()
    api.put(f"{path}/web", json={**stale, "spec": {**stale["spec"], "replicas": 2}}).raise_for_status()
    r = api.put(f"{path}/web", json={**stale, "spec": {**stale["spec"], "replicas": 3}})
    assert (r.status_code, r.content) == (
        409,
        STATUS
        + b'"message":"Operation cannot be fulfilled on deployments.apps \\"web\\": the object has been '
        b'modified; please apply your changes to the latest version and try again","reason":"Conflict",'
        b'"details":{"name":"web","group":"apps","kind":"deployments"},"code":409}\n',
    )


def test_invalid_bytes(api: httpx.Client, ns: str) -> None:
    body = factories.pod("x")
    body["metadata"] = {}
    r = api.post(f"/api/v1/namespaces/{ns}/pods", json=body)
    assert (r.status_code, r.content) == (
        422,
        STATUS + b'"message":"Pod \\"\\" is invalid: metadata.name: Required value: name or generateName is '
        b'required","reason":"Invalid","details":{"kind":"Pod","causes":[{"reason":"FieldValueRequired",'
        b'"message":"Required value: name or generateName is required","field":"metadata.name"}]},"code":422}\n',
    )
    # An apply without a fieldManager: ValidatePatchOptions, reported on meta.k8s.io's PatchOptions.
    r = api.patch(
        f"/api/v1/namespaces/{ns}/configmaps/c",
        content=b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}',
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert (r.status_code, r.content) == (
        422,
        STATUS + b'"message":"PatchOptions.meta.k8s.io \\"\\" is invalid: fieldManager: Required value: is '
        b'required for apply patch","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"PatchOptions",'
        b'"causes":[{"reason":"FieldValueRequired","message":"Required value: is required for apply patch",'
        b'"field":"fieldManager"}]},"code":422}\n',
    )


def test_method_and_media_type_bytes(api: httpx.Client, ns: str) -> None:
    r = api.post(f"/api/v1/namespaces/{ns}/pods/p", json=factories.pod("p"))
    assert (r.status_code, r.content) == (
        405,
        STATUS + b'"message":"the server does not allow this method on the requested resource",'
        b'"reason":"MethodNotAllowed","details":{},"code":405}\n',
    )
    r = api.patch(f"/api/v1/namespaces/{ns}/pods/p", content=b"{}", headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.content) == (
        415,
        STATUS + b'"message":"415: Unsupported Media Type","reason":"UnsupportedMediaType","details":{},'
        b'"code":415}\n',
    )


def test_forbidden_in_a_terminating_namespace_bytes(api: httpx.Client) -> None:
    # Without a namespace controller the namespace stays Terminating (its "kubernetes" finalizer is never removed).
    name = "gone-" + uuid.uuid4().hex[:6]
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).status_code == 201
    deleted = api.delete(f"/api/v1/namespaces/{name}")
    assert deleted.status_code == 200 and deleted.json()["kind"] == "Namespace"
    assert deleted.json()["status"]["phase"] == "Terminating"
    r = api.post(f"/api/v1/namespaces/{name}/pods", json=factories.pod("p"))
    assert (r.status_code, r.content) == (
        403,
        STATUS
        + b'"message":"pods \\"p\\" is forbidden: unable to create new content in namespace '
        + name.encode()
        + b' because it is being terminated","reason":"Forbidden","details":{"name":"p","kind":"pods",'
        b'"causes":[{"reason":"NamespaceTerminating","message":"namespace '
        + name.encode()
        + b' is being terminated","field":"metadata.namespace"}]},"code":403}\n',
    )


def test_unauthorized_bytes(etcd: Etcd, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("secret-token,admin,1\n")
    tokens.chmod(0o600)
    with running_apiserver(etcd.url, ["--token-auth-file", str(tokens)]) as server:
        # TLS (the server's CA), without credentials
        r = httpx.get(server.url + "/api/v1/namespaces/default/pods", timeout=10, verify=server.ca_file)
    assert (r.status_code, r.content) == (
        401,
        STATUS + b'"message":"Unauthorized","reason":"Unauthorized","code":401}\n',
    )


def test_every_json_body_ends_with_a_newline(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "c"}}).raise_for_status()
    for path in (f"/api/v1/namespaces/{ns}/configmaps/c", f"/api/v1/namespaces/{ns}/configmaps", "/api/v1"):
        r = api.get(path)
        assert r.status_code == 200 and r.content.endswith(b"}\n") and not r.content.endswith(b"\n\n"), path


# ---- DELETE ---------------------------------------------------------------------------------------------------


def test_delete_returns_a_success_status_for_kinds_that_do_not_return_the_object(
    api: httpx.Client, ns: str
) -> None:
    created = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        json=factories.deployment("web", replicas=1, image="busybox:1", labelled=False),
    ).json()
    r = delete(api, f"/apis/apps/v1/namespaces/{ns}/deployments/web", {"propagationPolicy": "Background"})
    uid = created["metadata"]["uid"].encode()
    assert (r.status_code, r.content) == (
        200,
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
        b'"details":{"name":"web","group":"apps","kind":"deployments","uid":"' + uid + b'"}}\n',
    )
    created = api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": "c"}}).json()
    r = api.delete(f"/api/v1/namespaces/{ns}/configmaps/c")
    assert r.content == (
        b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
        b'"details":{"name":"c","kind":"configmaps","uid":"' + created["metadata"]["uid"].encode() + b'"}}\n'
    )


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/api/v1/namespaces/{ns}/pods", factories.pod("p"), "Pod"),
        (
            "/api/v1/namespaces/{ns}/services",
            {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}},
            "Service",
        ),
    ],
)
def test_delete_returns_the_object_for_kinds_whose_registry_returns_it(
    api: httpx.Client, ns: str, path: str, body: dict, kind: str
) -> None:
    created = api.post(path.format(ns=ns), json=body).json()
    r = api.delete(f"{path.format(ns=ns)}/{created['metadata']['name']}")
    assert r.status_code == 200
    assert r.json()["kind"] == kind and r.json()["metadata"]["uid"] == created["metadata"]["uid"]
    assert api.get(f"{path.format(ns=ns)}/{created['metadata']['name']}").status_code == 404


def test_delete_of_an_object_that_stays_returns_it(api: httpx.Client, ns: str) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments"
    api.post(
        path, json=factories.deployment("fg", replicas=1, image="busybox:1", labelled=False)
    ).raise_for_status()
    # Foreground: the object stays, with the foregroundDeletion finalizer, until the garbage collector is done.
    r = delete(api, f"{path}/fg", {"propagationPolicy": "Foreground"})
    assert r.status_code == 200
    assert r.json()["kind"] == "Deployment" and "foregroundDeletion" in r.json()["metadata"]["finalizers"]
    # orphanDependents=false on an object that stays is the one 202 kube-apiserver sends.
    body = {
        **factories.deployment("held", replicas=1, image="busybox:1", labelled=False),
        "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
    }
    api.post(path, json=body).raise_for_status()
    r = delete(api, f"{path}/held", {"orphanDependents": False})
    assert r.status_code == 202 and r.json()["metadata"]["deletionTimestamp"]
    for name in ("fg", "held"):
        api.patch(
            f"{path}/{name}",
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()


def test_delete_collection_answers_the_list_as_listed(api: httpx.Client, ns: str) -> None:
    for name in ("a", "b"):
        api.post(f"/api/v1/namespaces/{ns}/configmaps", json={"metadata": {"name": name}}).raise_for_status()
    r = api.delete(f"/api/v1/namespaces/{ns}/configmaps")
    assert r.status_code == 200 and r.json()["kind"] == "ConfigMapList"
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["a", "b"]
    assert all("deletionTimestamp" not in i["metadata"] for i in r.json()["items"])
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps").json()["items"] == []
