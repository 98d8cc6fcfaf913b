"""A real operator framework on kubelite: kopf (from PyPI) runs `crontab_operator.py` against the apiserver, with
its peering CRDs, and reacts to custom objects: creation, a field change, deletion (through its finalizer)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import factories
from tests.factories import Obj
from tests.harness import ApiServer, stop_process
from tests.kube import write_kubeconfig
from tests.polling import wait_until

pytest.importorskip("kopf")
pytestmark = [pytest.mark.etcd, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = {"Content-Type": "application/merge-patch+json"}


def peering_crd(kind: str, plural: str, scope: str) -> Obj:
    """kopf's peering CRDs, as its documentation declares them (kopf.dev/v1, status free-form)."""
    free_form = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return factories.crd(
        "kopf.dev", kind, plural, {**free_form, "properties": {"status": free_form}}, scope=scope
    )


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client(timeout=10) as client:
        yield client


def established(api: httpx.Client, name: str) -> bool:
    crd = api.get(f"{CRDS}/{name}").json()
    return any(
        c["type"] == "Established" and c["status"] == "True"
        for c in crd.get("status", {}).get("conditions", [])
    )


@pytest.fixture
def cluster(api: httpx.Client) -> Iterator[tuple[str, str]]:
    """(namespace, group): the peering CRDs, a namespace with its KopfPeering, a CronTab CRD of its own group."""
    namespace = "kopf-" + uuid.uuid4().hex[:6]
    group = f"o{uuid.uuid4().hex[:8]}.example.com"
    crontabs = factories.crontab_crd(group=group)
    for version in crontabs["spec"]["versions"]:
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        status["x-kubernetes-preserve-unknown-fields"] = True  # where kopf keeps what its handlers return
    crds = [
        peering_crd("ClusterKopfPeering", "clusterkopfpeerings", "Cluster"),
        peering_crd("KopfPeering", "kopfpeerings", "Namespaced"),
        crontabs,
    ]
    for crd in crds:
        created = api.post(CRDS, json=crd)
        assert created.status_code in (201, 409), created.text
        wait_until(lambda crd=crd: established(api, crd["metadata"]["name"]), 5, what="CRD established")
    assert api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}).status_code == 201
    peering = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "default"}}
    assert api.post(f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings", json=peering).status_code == 201
    try:
        yield namespace, group
    finally:
        api.delete(f"/api/v1/namespaces/{namespace}")
        for crd in crds:
            api.delete(f"{CRDS}/{crd['metadata']['name']}")


@pytest.fixture
def operator(apiserver: ApiServer, cluster: tuple[str, str], tmp_path: Path) -> Iterator[Path]:
    """`kopf run` as a process of its own, watching the namespace; its log file."""
    namespace, group = cluster
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", apiserver, namespace=namespace)
    log_path = Path(tempfile.mkstemp(prefix="kubelite-kopf-", suffix=".log")[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(KUBECONFIG=str(kubeconfig), CRONTAB_GROUP=group, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopf",
                "run",
                "--namespace",
                namespace,
                "--verbose",
                str(HERE / "crontab_operator.py"),
            ],
            stdout=log,
            stderr=log,
            env=env,
            cwd=tmp_path,
        )
    try:
        yield log_path
    finally:
        stop_process(proc)
        log_path.unlink(missing_ok=True)


def test_kopf_operator_reacts_to_custom_objects(
    api: httpx.Client, cluster: tuple[str, str], operator: Path
) -> None:
    namespace, group = cluster
    peering = f"/apis/kopf.dev/v1/namespaces/{namespace}/kopfpeerings/default"
    try:
        # kopf announces itself in its peering object: it found the CRD, watches it and patches it.
        peers = wait_until(
            lambda: api.get(peering).json().get("status"), 30, what="kopf in the peering status"
        )
        assert any(p.get("priority") == 100 for p in peers.values()), peers

        crontabs = f"/apis/{group}/v1/namespaces/{namespace}/crontabs"
        body = {
            "apiVersion": f"{group}/v1",
            "kind": "CronTab",
            "metadata": {"name": "nightly"},
            "spec": {"cronSpec": "0 3 * * *", "image": "backup:1"},
        }
        assert api.post(crontabs, json=body).status_code == 201

        def handled() -> Obj | None:
            obj = api.get(f"{crontabs}/nightly").json()
            return obj if obj.get("status", {}).get("created") else None

        obj = wait_until(handled, 30, what="the create handler")
        assert obj["status"]["schedule"] == "0 3 * * *"
        assert obj["status"]["created"] == {"replicas": 1}, "the handler saw the defaulted spec"
        assert obj["metadata"]["finalizers"] == ["kopf.zalando.org/KopfFinalizerMarker"]
        assert "kopf.zalando.org/last-handled-configuration" in obj["metadata"]["annotations"]

        api.patch(f"{crontabs}/nightly", content=b'{"spec":{"image":"backup:2"}}', headers=MERGE)
        wait_until(
            lambda: api.get(f"{crontabs}/nightly").json().get("status", {}).get("image") == "backup:2",
            30,
            what="the update handler",
        )

        api.delete(f"{crontabs}/nightly")
        wait_until(lambda: api.get(f"{crontabs}/nightly").status_code == 404, 30, what="kopf releasing it")
        assert "crontab nightly is going" in operator.read_text()
        wait_until(
            lambda: any(
                e["involvedObject"].get("name") == "nightly"
                and (e["reason"], e["message"]) == ("Scheduled", "runs at 0 3 * * *")
                for e in api.get(f"/api/v1/namespaces/{namespace}/events").json()["items"]
            ),
            30,
            what="kopf's events",
        )
    except (AssertionError, TimeoutError):
        print(operator.read_text()[-8000:])
        raise
