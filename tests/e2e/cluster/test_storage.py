"""Persistent storage on a whole cluster on real Docker (two kubelets, the scheduler, the controller-manager),
driven by the real kubectl: a WaitForFirstConsumer claim stays Pending until a pod uses it and is then provisioned
on that pod's node; data outlives pods and a kubelet restart; a readOnly claim and a subPath; deleting the claim
deletes the volume and its directory (Delete), or keeps both (Retain); pods of a claim bound on one node never
land on the other; a StatefulSet's claims survive a rolling restart with their data; bad input gives events or
is refused.

One module-scoped cluster (see conftest.py); each test makes its own StorageClass and namespace.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apimachinery import storage
from tests import factories
from tests.e2e.cluster.cluster import KUBECTL_CLUSTER_MARKS, LocalCluster, kctl
from tests.e2e.cluster.test_workloads import get, k
from tests.factories import Obj
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

pytestmark = [*KUBECTL_CLUSTER_MARKS, pytest.mark.timeout(300)]


@pytest.fixture
def ns(cluster: LocalCluster) -> Iterator[str]:
    name = cluster.namespace()
    yield name
    k(cluster, name, "delete", "namespace", name, "--wait=false", ok=True)


@pytest.fixture
def storage_class(cluster: LocalCluster) -> Iterator[Any]:
    made: list[str] = []

    def make(policy: str = "Delete", max_size: str = "1Gi") -> str:
        name = f"lp-{uuid.uuid4().hex[:8]}"
        body = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name},
            "provisioner": storage.LOCAL_PATH_PROVISIONER,
            "reclaimPolicy": policy,
            "volumeBindingMode": "WaitForFirstConsumer",
            "parameters": {"maxSize": max_size},
        }
        k(cluster, "default", "apply", "-f", "-", stdin=json.dumps(body))
        made.append(name)
        return name

    yield make
    for name in made:
        k(cluster, "default", "delete", "storageclass", name, "--wait=false", ok=True)


def claim(name: str, cls: str, size: str = "64Mi", modes: tuple[str, ...] = ("ReadWriteOnce",)) -> str:
    return json.dumps(factories.claim(name, cls, size, modes))


def pod(name: str, claim_name: str, script: str, *, read_only: bool = False, node: str | None = None) -> str:
    mounts = [{"name": "d", "mountPath": "/data"}, {"name": "d", "mountPath": "/sub", "subPath": "sub"}]
    box = factories.container("c", BUSYBOX_IMAGE, command=["sh", "-c", script], volumeMounts=mounts)
    volume = {"name": "d", "persistentVolumeClaim": {"claimName": claim_name, "readOnly": read_only}}
    spec: Obj = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "volumes": [volume]}
    if node:
        spec["nodeSelector"] = {storage.HOSTNAME_LABEL: node}
    return json.dumps(factories.pod(name, containers=[box], **spec))


def finished(cluster: LocalCluster, ns: str, name: str) -> Obj:
    k(cluster, ns, "wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{name}", "--timeout=90s")
    return get(cluster, ns, f"pod/{name}")


def kubelet_of(cluster: LocalCluster, node: str) -> Any:
    return next(kl for kl in cluster.kubelets if kl.name == node)


def volume_dir(cluster: LocalCluster, node: str, pv_name: str) -> Path:
    return kubelet_of(cluster, node).root_dir / "local-volumes" / pv_name


def events_of(cluster: LocalCluster, ns: str, name: str) -> dict[str, str]:
    items = json.loads(
        k(cluster, ns, "get", "events", "-o", "json", "--field-selector", f"involvedObject.name={name}")
    )
    return {e["reason"]: e["message"] for e in items["items"]}


def gone(cluster: LocalCluster, ns: str, what: str) -> bool:
    return "NotFound" in k(cluster, ns, "get", what, ok=False)


def test_wait_for_consumer_provision_on_its_node_data_survives_restart_then_delete(
    cluster: LocalCluster, ns: str, storage_class: Any
) -> None:
    cls = storage_class("Delete")
    k(cluster, ns, "apply", "-f", "-", stdin=claim("data", cls))
    wait_until(
        lambda: "WaitForFirstConsumer" in events_of(cluster, ns, "data"), 30, what="WaitForFirstConsumer"
    )
    assert get(cluster, ns, "pvc/data")["status"]["phase"] == "Pending"
    assert not get(cluster, ns, "pvc/data")["spec"].get("volumeName")

    k(cluster, ns, "apply", "-f", "-", stdin=pod("writer", "data", "echo hello > /sub/f && cat /data/sub/f"))
    writer = finished(cluster, ns, "writer")
    node = writer["spec"]["nodeName"]
    bound = get(cluster, ns, "pvc/data")
    assert bound["status"]["phase"] == "Bound"
    pv_name = bound["spec"]["volumeName"]
    pv = get(cluster, ns, f"pv/{pv_name}")
    assert storage.node_of(pv) == node  # provisioned on the pod's node
    directory = volume_dir(cluster, node, pv_name)
    assert (directory / "sub" / "f").read_text() == "hello\n"
    assert k(cluster, ns, "logs", "writer").strip() == "hello"

    # The node's kubelet restarts; the next pod of the claim reads the data there, through a readOnly claim.
    kl = kubelet_of(cluster, node)
    kl.stop()
    kl.start()
    wait_until(lambda: cluster.node_ready(node) == "True", 30, what="node Ready again")
    script = "cat /data/sub/f; if touch /data/x 2>/dev/null; then echo WRITABLE; else echo READONLY; fi"
    k(cluster, ns, "apply", "-f", "-", stdin=pod("reader", "data", script, read_only=True))
    reader = finished(cluster, ns, "reader")
    assert reader["spec"]["nodeName"] == node
    assert k(cluster, ns, "logs", "reader").split() == ["hello", "READONLY"]

    # kubectl's columns.
    table = k(cluster, ns, "get", "pv,pvc,sc", "--no-headers")
    assert any(line.split()[:2] == [f"persistentvolume/{pv_name}", "64Mi"] for line in table.splitlines()), (
        table
    )
    assert any(
        line.split()[:3] == ["persistentvolumeclaim/data", "Bound", pv_name] for line in table.splitlines()
    )
    described = k(cluster, ns, "describe", "pvc", "data")
    assert "Bound" in described and pv_name in described and "ProvisioningSucceeded" in described
    pv_page = k(cluster, ns, "describe", "pv", pv_name)
    assert "Node Affinity" in pv_page and f"kubernetes.io/hostname in [{node}]" in pv_page
    # kctl: the same columns (the server's table) and describe pages.
    ours = kctl(cluster, "get", "pvc", "-n", ns, "--no-headers")
    assert ours.returncode == 0 and ours.stdout.split()[:3] == ["data", "Bound", pv_name], ours
    page = kctl(cluster, "describe", "pvc", "data", "-n", ns)
    assert page.returncode == 0 and "Used By:" in page.stdout and "reader" in page.stdout, page
    page = kctl(cluster, "describe", "pv", pv_name)
    assert page.returncode == 0 and "LocalVolume" in page.stdout, page
    assert str(volume_dir(cluster, node, pv_name)) in page.stdout
    page = kctl(cluster, "describe", "sc", cls)
    assert page.returncode == 0 and "WaitForFirstConsumer" in page.stdout, page

    # Deleting the claim (its pods first: the claim is protected while they exist) deletes volume and directory.
    k(cluster, ns, "delete", "pod", "writer", "reader", "--wait=true", "--timeout=60s")
    k(cluster, ns, "delete", "pvc", "data", "--wait=true", "--timeout=60s")
    wait_until(lambda: gone(cluster, ns, f"pv/{pv_name}"), 60, 0.5, what="the volume deleted")
    wait_until(lambda: not directory.exists(), 30, 0.5, what="the directory removed")


def test_retain_keeps_volume_and_directory(cluster: LocalCluster, ns: str, storage_class: Any) -> None:
    cls = storage_class("Retain")
    k(cluster, ns, "apply", "-f", "-", stdin=claim("kept", cls))
    k(cluster, ns, "apply", "-f", "-", stdin=pod("w", "kept", "echo keep > /data/f"))
    node = finished(cluster, ns, "w")["spec"]["nodeName"]
    pv_name = get(cluster, ns, "pvc/kept")["spec"]["volumeName"]
    k(cluster, ns, "delete", "pod", "w", "--wait=true", "--timeout=60s")
    k(cluster, ns, "delete", "pvc", "kept", "--wait=true", "--timeout=60s")
    wait_until(
        lambda: get(cluster, ns, f"pv/{pv_name}")["status"]["phase"] == "Released",
        30,
        0.5,
        what="pv Released",
    )
    directory = volume_dir(cluster, node, pv_name)
    assert (directory / "f").read_text() == "keep\n"
    # The administrator deletes the volume: the object goes, the data stays (Retain).
    k(cluster, ns, "delete", "pv", pv_name, "--wait=true", "--timeout=60s")
    assert (directory / "f").read_text() == "keep\n"


def test_pods_of_a_claim_bound_on_node_a_never_land_on_b(
    cluster: LocalCluster, ns: str, storage_class: Any
) -> None:
    cls = storage_class()
    a = cluster.a.name
    k(cluster, ns, "apply", "-f", "-", stdin=claim("pinned", cls))
    k(cluster, ns, "apply", "-f", "-", stdin=pod("first", "pinned", "true", node=a))
    assert finished(cluster, ns, "first")["spec"]["nodeName"] == a
    for i in range(4):
        k(cluster, ns, "apply", "-f", "-", stdin=pod(f"p{i}", "pinned", "true"))
    for i in range(4):
        assert finished(cluster, ns, f"p{i}")["spec"]["nodeName"] == a
    # With A cordoned the pod waits rather than go to B.
    k(cluster, ns, "cordon", a)
    try:
        k(cluster, ns, "apply", "-f", "-", stdin=pod("waits", "pinned", "true"))
        wait_until(
            lambda: (
                "volume node affinity conflict" in events_of(cluster, ns, "waits").get("FailedScheduling", "")
            ),
            30,
            0.5,
            what="FailedScheduling for the volume's node",
        )
        assert not get(cluster, ns, "pod/waits")["spec"].get("nodeName")
    finally:
        k(cluster, ns, "uncordon", a)
    assert finished(cluster, ns, "waits")["spec"]["nodeName"] == a


def test_bad_input(cluster: LocalCluster, ns: str, storage_class: Any) -> None:
    cls = storage_class(max_size="100Mi")
    k(cluster, ns, "apply", "-f", "-", stdin=claim("huge", cls, size="5Gi"))
    k(cluster, ns, "apply", "-f", "-", stdin=claim("many", cls, modes=("ReadWriteMany",)))
    wait_until(lambda: "ProvisioningFailed" in events_of(cluster, ns, "huge"), 30, what="size refused")
    wait_until(lambda: "ProvisioningFailed" in events_of(cluster, ns, "many"), 30, what="mode refused")
    assert "maxSize 100Mi" in events_of(cluster, ns, "huge")["ProvisioningFailed"]
    assert "ReadWriteMany" in events_of(cluster, ns, "many")["ProvisioningFailed"]
    assert "ProvisioningFailed" in k(cluster, ns, "describe", "pvc", "huge")

    # A local PV outside the node's local volume root: the API takes it (a clean absolute path), the kubelet
    # refuses to mount it.
    a = cluster.a.name
    pv_name = f"outside-{uuid.uuid4().hex[:6]}"
    outside = cluster.tmp / pv_name
    outside.mkdir()
    pv = factories.local_volume(pv_name, str(outside), storage.pin_to_node(a), storageClassName="")
    k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(pv))
    try:
        static = factories.claim("static", "", volumeName=pv_name)
        k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(static))
        k(cluster, ns, "apply", "-f", "-", stdin=pod("escape", "static", "echo x > /data/f"))

        def refused() -> bool:
            return "outside the local volume root" in events_of(cluster, ns, "escape").get("Failed", "")

        wait_until(refused, 60, 0.5, what="the kubelet refusing the path")
        assert not (outside / "f").exists()
        # And a path with '..' never gets in.
        bad = json.loads(json.dumps(pv))
        bad["metadata"]["name"] = pv_name + "-dots"
        bad["spec"]["local"]["path"] = f"{outside}/../../etc"
        out = k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(bad), ok=False)
        assert "spec.local.path" in out and "Invalid value" in out
    finally:
        k(cluster, ns, "delete", "pod", "escape", "--wait=true", "--timeout=60s", ok=True)
        k(cluster, ns, "delete", "pvc", "static", "--wait=true", "--timeout=60s", ok=True)
        k(cluster, ns, "delete", "pv", pv_name, "--wait=false", ok=True)


def test_statefulset_claims_survive_a_rolling_restart(
    cluster: LocalCluster, ns: str, storage_class: Any
) -> None:
    cls = storage_class()
    script = (
        "f=/d/boot; [ -f /d/id ] || hostname > /d/id; echo x >> $f; "
        "echo started id=$(cat /d/id) boots=$(wc -l < $f); exec sleep 3600"
    )
    box = factories.container(
        "c", BUSYBOX_IMAGE, command=["sh", "-c", script], volumeMounts=[{"name": "d", "mountPath": "/d"}]
    )
    sts = factories.statefulset(
        "db",
        2,
        [box],
        pod_spec={"terminationGracePeriodSeconds": 1},
        volumeClaimTemplates=[factories.claim_template("d", cls, "32Mi")],
    )
    k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(sts))
    k(cluster, ns, "rollout", "status", "statefulset/db", "--timeout=120s")
    volumes = {c: get(cluster, ns, f"pvc/{c}")["spec"]["volumeName"] for c in ("d-db-0", "d-db-1")}
    for member in ("db-0", "db-1"):
        assert k(cluster, ns, "logs", member).split() == ["started", f"id={member}", "boots=1"]

    k(cluster, ns, "rollout", "restart", "statefulset/db")
    k(cluster, ns, "rollout", "status", "statefulset/db", "--timeout=150s")
    for member in ("db-0", "db-1"):
        assert k(cluster, ns, "logs", member).split() == ["started", f"id={member}", "boots=2"]
    assert {c: get(cluster, ns, f"pvc/{c}")["spec"]["volumeName"] for c in volumes} == volumes
    k(cluster, ns, "delete", "statefulset", "db", "--wait=true", "--timeout=60s")
    # The claims outlive the set (retention policy Retain).
    assert get(cluster, ns, "pvc/d-db-0")["status"]["phase"] == "Bound"


def test_memory_empty_dir_is_a_shared_sized_tmpfs(cluster: LocalCluster, ns: str) -> None:
    cache = [{"name": "cache", "mountPath": "/cache"}]
    body = factories.pod(
        "mem",
        containers=[
            factories.container(
                "r",
                BUSYBOX_IMAGE,
                command=["sh", "-c", "cat /cache/x; grep ' /cache ' /proc/mounts"],
                volumeMounts=cache,
            )
        ],
        restartPolicy="Never",
        terminationGracePeriodSeconds=1,
        volumes=[{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}],
        initContainers=[
            factories.container(
                "w", BUSYBOX_IMAGE, command=["sh", "-c", "echo shared > /cache/x"], volumeMounts=cache
            )
        ],
    )
    k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(body))
    uid = finished(cluster, ns, "mem")["metadata"]["uid"]
    lines = k(cluster, ns, "logs", "mem").splitlines()
    assert lines[0] == "shared"  # written by the init container, read by the app container
    assert lines[1].startswith("tmpfs /cache tmpfs") and "size=16384k" in lines[1], lines
    k(cluster, ns, "delete", "pod", "mem", "--wait=true", "--timeout=60s")

    def volume_gone() -> bool:
        listed = subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter", f"label=io.kubelite.pod.uid={uid}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return listed.stdout.strip() == ""

    wait_until(volume_gone, 30, 0.5, what="the pod's tmpfs volume removed")


FS_GROUP_SCRIPT = """
id -G
echo e > /e/f; stat -c 'e %g %a' /e /e/f
echo p > /p/f; stat -c 'p %g %a' /p /p/f
echo m > /m/f; stat -c 'm %g %a' /m
cat /s/key; echo; stat -L -c 's %g %a' /s/key
cat /c/conf; echo
"""


def test_fs_group_owns_the_volumes_of_a_non_root_pod(
    cluster: LocalCluster, ns: str, storage_class: Any
) -> None:
    """uid 1000 (no group of its own) writes into an emptyDir, a local-path claim (made root's 0755) and a memory
    emptyDir, and reads a 0400 Secret: all through fsGroup 2000, which the process holds with its supplementary
    group 3000."""
    cls = storage_class()
    k(cluster, ns, "apply", "-f", "-", stdin=claim("owned", cls))
    k(cluster, ns, "create", "secret", "generic", "s", "--from-literal=key=s3cret")
    k(cluster, ns, "create", "configmap", "c", "--from-literal=conf=hello")
    mounts = [{"name": n, "mountPath": f"/{n}"} for n in ("e", "p", "m", "s", "c")]
    box = factories.container("c", BUSYBOX_IMAGE, command=["sh", "-ec", FS_GROUP_SCRIPT], volumeMounts=mounts)
    body = factories.pod(
        "owned",
        containers=[box],
        restartPolicy="Never",
        terminationGracePeriodSeconds=1,
        securityContext={"runAsUser": 1000, "fsGroup": 2000, "supplementalGroups": [3000],
                         "fsGroupChangePolicy": "OnRootMismatch"},
        volumes=[
            {"name": "e", "emptyDir": {}},
            {"name": "p", "persistentVolumeClaim": {"claimName": "owned"}},
            {"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}},
            {"name": "s", "secret": {"secretName": "s", "defaultMode": 0o400}},
            {"name": "c", "configMap": {"name": "c"}},
        ],
    )  # fmt: skip
    k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(body))
    done = wait_until(
        lambda: get(cluster, ns, "pod/owned")["status"].get("phase") in ("Succeeded", "Failed"),
        90, 0.5, what="the pod to finish",
    )  # fmt: skip
    assert done
    out = k(cluster, ns, "logs", "owned")
    assert get(cluster, ns, "pod/owned")["status"]["phase"] == "Succeeded", out
    lines = out.splitlines()
    assert {"2000", "3000"} <= set(lines[0].split()), lines[0]  # the supplementary groups
    assert lines[1:3] == ["e 2000 2777", "e 2000 644"], (
        lines
    )  # emptyDir 0777 as upstream, setgid, the group's
    assert lines[3] == "p 2000 2775" and lines[4] == "p 2000 644", lines  # writable only through the group
    assert lines[5] == "m 2000 3777", lines
    assert lines[6:8] == ["s3cret", "s 2000 440"], lines  # a 0400 secret read through the group
    assert lines[8] == "hello", lines
    # The claim's directory on the node holds the file, with the group.
    node = get(cluster, ns, "pod/owned")["spec"]["nodeName"]
    directory = volume_dir(cluster, node, get(cluster, ns, "pvc/owned")["spec"]["volumeName"])
    assert (directory / "f").read_text() == "p\n" and directory.stat().st_gid == 2000


def test_empty_dir_over_its_size_limit_evicts_the_pod(cluster: LocalCluster, ns: str) -> None:
    script = "dd if=/dev/zero of=/roomy/f bs=1M count=2; dd if=/dev/zero of=/scratch/f bs=1M count=4; exec sleep 3600"
    mounts = [{"name": "scratch", "mountPath": "/scratch"}, {"name": "roomy", "mountPath": "/roomy"}]
    body = factories.pod(
        "hog",
        containers=[
            factories.container("c", BUSYBOX_IMAGE, command=["sh", "-c", script], volumeMounts=mounts)
        ],
        terminationGracePeriodSeconds=30,  # eviction does not wait for it
        volumes=[
            {"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}},
            {"name": "roomy", "emptyDir": {"sizeLimit": "64Mi"}},
        ],
    )
    k(cluster, ns, "apply", "-f", "-", stdin=json.dumps(body))
    wait_until(
        lambda: get(cluster, ns, "pod/hog")["status"].get("phase") == "Failed",
        60,
        0.5,
        what="the pod evicted",
    )
    status = get(cluster, ns, "pod/hog")["status"]
    message = 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    assert status["reason"] == "Evicted" and status["message"] == message, status
    assert status["containerStatuses"][0]["state"].get("terminated"), status  # killed, not left running
    assert events_of(cluster, ns, "hog").get("Evicted") == message
    # It stays down: the kubelet does not restart an evicted pod's containers (restartPolicy Always).
    node = get(cluster, ns, "pod/hog")["spec"]["nodeName"]
    running = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=io.kubelite.pod.uid={get(cluster, ns, 'pod/hog')['metadata']['uid']}",
         "--filter", f"label=io.kubelite.node={node}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert running.stdout.strip() == ""
