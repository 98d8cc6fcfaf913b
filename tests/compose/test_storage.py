"""Persistent storage on the two-node compose deployment (issue 20's Show): a claim of the default local-path
class, bound when its first pod ran on node-1, keeps every later pod of the claim on node-1.

Each check would fail if the scheduler ignored the volume's node affinity: a pod of the claim that may only go to
node-2 (nodeSelector) stays Pending with the volume conflict, and with node-1 cordoned a pod of the claim that
could go anywhere stays Pending too (node-2 is the only schedulable node left), then runs on node-1, reading what
the first pod wrote, once node-1 is uncordoned. The directory exists on node-1's filesystem only.

One compose project for this module (tests/compose/conftest.py), torn down with `down -v` afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import docker
import pytest
import yaml

from cli.image import load_image
from tests import factories
from tests.compose.helpers import Compose
from tests.harness import wait_until

pytestmark = [pytest.mark.compose, pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow]

BUSYBOX = "kubelite/busybox:1"
IN_CLUSTER = "registry:5000"
HOSTNAME_LABEL = "kubernetes.io/hostname"


@pytest.fixture(scope="module")
def image(compose_cluster: Compose) -> str:
    """busybox, pushed to the cluster's registry: the name pods use."""
    engine = docker.from_env()
    try:
        return load_image(engine, BUSYBOX, f"127.0.0.1:{compose_cluster.registry_port}", IN_CLUSTER)
    finally:
        engine.close()


@pytest.fixture
def claim(compose_cluster: Compose) -> Iterator[str]:
    c = compose_cluster
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "pinned"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "16Mi"}}},
    }
    c.kctl("apply", "-f", "-", stdin=json.dumps(body))
    yield "pinned"
    c.kubectl("uncordon", "node-1", check=False)
    c.kubectl("delete", "pod", "writer", "away", "reader", "--ignore-not-found", "--wait=true", check=False)
    c.kubectl("delete", "pvc", "pinned", "--ignore-not-found", "--wait=true", check=False)


def pod(name: str, image: str, script: str, node: str | None = None) -> str:
    mounts = [{"name": "d", "mountPath": "/data"}]
    box = factories.container("c", image, command=["sh", "-c", script], volumeMounts=mounts)
    volume = {"name": "d", "persistentVolumeClaim": {"claimName": "pinned"}}
    spec: dict[str, Any] = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "volumes": [volume]}
    if node:
        spec["nodeSelector"] = {HOSTNAME_LABEL: node}
    return yaml.safe_dump(factories.pod(name, containers=[box], **spec))


def phase(c: Compose, name: str) -> str:
    return str(c.kctl_json("get", "pod", name).get("status", {}).get("phase"))


def scheduling_failures(c: Compose, name: str) -> list[str]:
    out = c.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json").stdout
    events = json.loads(out)["items"]
    return [e["message"] for e in events if e["reason"] == "FailedScheduling"]


def stays_pending_for_the_volume(c: Compose, name: str) -> None:
    wait_until(
        lambda: any("volume node affinity conflict" in m for m in scheduling_failures(c, name)),
        timeout=60, interval=1, what=f"FailedScheduling of {name} for the volume's node",
    )  # fmt: skip
    got = c.kctl_json("get", "pod", name)
    assert not got["spec"].get("nodeName") and got["status"].get("phase") == "Pending", got


@pytest.mark.timeout(300)
def test_a_claim_bound_on_node_1_keeps_its_pods_off_node_2(
    compose_cluster: Compose, image: str, claim: str
) -> None:
    c = compose_cluster
    c.kctl("apply", "-f", "-", stdin=pod("writer", image, "echo from-node-1 > /data/f", node="node-1"))
    wait_until(lambda: phase(c, "writer") == "Succeeded", timeout=120, interval=1, what="writer Succeeded")
    pvc = c.kctl_json("get", "pvc", claim)
    assert pvc["status"]["phase"] == "Bound"
    pv = c.kctl_json("get", "pv", pvc["spec"]["volumeName"])
    terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["node-1"], terms
    directory = pv["spec"]["local"]["path"]
    assert c.node_exec("node-1", "cat", f"{directory}/f").stdout == "from-node-1\n"
    assert c.node_exec("node-2", "test", "-e", directory).returncode != 0

    # A pod of the claim that may only run on node-2 is never placed there.
    c.kctl("apply", "-f", "-", stdin=pod("away", image, "cat /data/f", node="node-2"))
    stays_pending_for_the_volume(c, "away")
    c.kubectl("delete", "pod", "away", "--wait=true")

    # node-1 cordoned: node-2 is the only schedulable node, and still the pod does not go there.
    c.kubectl("cordon", "node-1")
    c.kctl("apply", "-f", "-", stdin=pod("reader", image, "cat /data/f"))
    stays_pending_for_the_volume(c, "reader")
    c.kubectl("uncordon", "node-1")
    wait_until(lambda: phase(c, "reader") == "Succeeded", timeout=120, interval=1, what="reader Succeeded")
    assert c.kctl_json("get", "pod", "reader")["spec"]["nodeName"] == "node-1"
    assert c.kctl("logs", "reader").stdout == "from-node-1\n"
