"""`kubectl create <generator>` from kubectl 1.32 (protobuf request bodies) against kubectl 1.31 (JSON bodies):
the objects stored for the same commands must be the same, apart from what the server assigns."""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.binaries import INSTALL_HINT, KUBECTL_131
from tests.harness import ApiServer
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.namespaces import purge_namespace

pytestmark = MARKS

COMMANDS: list[tuple[str, list[str], str]] = [
    ("configmap c", ["create", "configmap", "c", "--from-literal=a=b", "--from-literal=c=d"], "configmaps/c"),
    ("secret s", ["create", "secret", "generic", "s", "--from-literal=k=v"], "secrets/s"),
    ("service svc", ["create", "service", "clusterip", "svc", "--tcp=80:8080"], "services/svc"),
    ("service np", ["create", "service", "nodeport", "np", "--tcp=80:8080"], "services/np"),
    (
        "deployment d",
        ["create", "deployment", "d", "--image=kubelite/busybox:1", "--replicas=2", "--port=80"],
        "deployments/d",
    ),
]


@dataclass(frozen=True)
class Kubectl131(Kubectl):
    """kubectl 1.31 (.venv/bin/kubectl.1.31), the newest minor version that still sends JSON bodies."""

    def argv(self, *args: str) -> list[str]:
        return [str(KUBECTL_131), *super().argv(*args)[1:]]


def _path(namespace: str, ref: str) -> str:
    base = "/apis/apps/v1" if ref.startswith("deployments/") else "/api/v1"
    return f"{base}/namespaces/{namespace}/{ref}"


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without what the server assigns per object (identity, times, versions, IPs, node ports)."""
    out = copy.deepcopy(obj)
    md = out["metadata"]
    for key in ("uid", "creationTimestamp", "resourceVersion", "namespace", "selfLink"):
        md.pop(key, None)
    for entry in md.get("managedFields") or []:
        entry.pop("time", None)
    spec = out.get("spec") or {}
    for key in ("clusterIP", "clusterIPs"):
        spec.pop(key, None)
    for port in spec.get("ports") or []:
        port.pop("nodePort", None)
    return out


@pytest.fixture
def two_namespaces(api: Api) -> Iterator[tuple[str, str]]:
    names = ("g-" + uuid.uuid4().hex[:8], "g-" + uuid.uuid4().hex[:8])
    for name in names:
        api.create("/api/v1/namespaces", {"metadata": {"name": name}})
    yield names
    for name in names:
        purge_namespace(api.http, name)


@pytest.mark.skipif(KUBECTL_131 is None, reason=f"kubectl 1.31 is not installed ({INSTALL_HINT})")
def test_protobuf_creates_store_what_json_creates(
    kube: Kubectl, api: Api, two_namespaces: tuple[str, str]
) -> None:
    new_ns, old_ns = two_namespaces
    new = kube.in_namespace(new_ns)
    old = Kubectl131(kube.kubeconfig, kube.cache_dir.parent / "cache-131", old_ns)

    for label, args, ref in COMMANDS:
        assert new(*args).strip().endswith("created"), label
        assert old(*args).strip().endswith("created"), label
        got, want = api.get(_path(new_ns, ref)), api.get(_path(old_ns, ref))
        assert _normalized(got) == _normalized(want), label

    # the secret's data round-trips through protobuf bytes -> base64
    secret = api.get(_path(new_ns, "secrets/s"))
    assert base64.b64decode(secret["data"]["k"]) == b"v"
    service = api.get(_path(new_ns, "services/np"))
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["targetPort"] == 8080
    assert service["spec"]["clusterIP"] and service["spec"]["ports"][0]["nodePort"]

    # namespaces: compare the two created namespaces by content
    names = ["p-" + uuid.uuid4().hex[:8], "j-" + uuid.uuid4().hex[:8]]
    try:
        assert new("create", "namespace", names[0]).strip() == f"namespace/{names[0]} created"
        assert old("create", "namespace", names[1]).strip() == f"namespace/{names[1]} created"
        got, want = (_normalized(api.get(f"/api/v1/namespaces/{n}")) for n in names)
        for ns_obj, name in ((got, names[0]), (want, names[1])):
            assert ns_obj["metadata"].pop("name") == name
            assert ns_obj["metadata"].get("labels", {}).pop("kubernetes.io/metadata.name", name) == name
        assert got == want
    finally:
        for name in names:
            api.delete(f"/api/v1/namespaces/{name}")


def test_kubectl_sends_protobuf_and_reads_json_answers(kubectl: Kubectl, api: Api, ns: str) -> None:
    """The premise of this module: kubectl's create generators send protobuf bodies, and accept JSON back."""
    done = kubectl.run("create", "configmap", "v8", "--from-literal=a=b", "-v=8")
    assert done.returncode == 0, done.stderr
    assert "Content-Type: application/vnd.kubernetes.protobuf" in done.stderr
    assert done.stdout.strip() == "configmap/v8 created"
    # an error answer (a JSON Status) is understood too
    err = kubectl.fails("create", "configmap", "v8", "--from-literal=a=b")
    assert 'configmaps "v8" already exists' in err
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/v8")["data"] == {"a": "b"}


def test_malformed_protobuf_is_a_bad_request(apiserver: ApiServer, ns: str) -> None:
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    with apiserver.client() as http:
        r = http.post(f"/api/v1/namespaces/{ns}/configmaps", content=b"k8s\x00\x0a\x05\x0a", headers=headers)
    assert r.status_code == 400
    body = r.json()
    assert body["kind"] == "Status" and body["reason"] == "BadRequest"
