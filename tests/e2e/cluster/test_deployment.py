"""A Deployment on a whole cluster on real Docker: spread over two kubelets, rolled to a new image without
dropping below replicas - maxUnavailable ready pods, rolled back by the real kubectl and by kctl, and moved to
the surviving node when one kubelet is SIGKILLed (grace period 5 s, default tolerations 5 s).

The tests run in order on one cluster and one Deployment (module fixture `cluster`); each builds on the
previous one.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from typing import Any

import pytest

from tests.binaries import INSTALL_HINT
from tests.e2e.cluster.cluster import (
    CLUSTER_MARKS,
    KUBECTL,
    SECOND_IMAGE,
    LocalCluster,
    is_ready,
    kctl,
    kubectl,
    pod_image,
)
from tests.e2e.cluster.watchers import ReadyWatch, measure_failover
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

# Each test waits for whole rollouts or a failover of real containers: more than the default timeout.
pytestmark = [*CLUSTER_MARKS, pytest.mark.timeout(180)]

NAME = "web"
REPLICAS = 6
MIN_READY = REPLICAS - 1  # maxUnavailable 25% of 6, rounded down

state: dict[str, Any] = {}


def _ns() -> str:
    if "ns" not in state:
        pytest.skip("the Deployment was not created (an earlier test failed)")
    return str(state["ns"])


def _running_images(ns: str) -> list[tuple[str, str]]:
    """(pod name, image) of the Deployment's app containers running on Docker."""
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=io.kubelite.pod.namespace={ns}",
         "--filter", "label=io.kubelite.type=container",
         "--format", '{{.Label "io.kubelite.pod.name"}} {{.Image}}'],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]  # type: ignore[misc]


def _settled_on(cluster: LocalCluster, ns: str, image: str) -> bool:
    """Exactly REPLICAS pods (terminating ones included: they must be gone), all Running, Ready, with `image`,
    and Docker runs exactly their containers with it."""
    pods = cluster.pods(ns, NAME)
    if len(pods) != REPLICAS:
        return False
    if not all(pod_image(p) == image and p["status"].get("phase") == "Running" and is_ready(p) for p in pods):
        return False
    running = _running_images(ns)
    return sorted(running) == sorted((p["metadata"]["name"], image) for p in pods)


def _wait_settled(cluster: LocalCluster, ns: str, image: str) -> None:
    try:
        wait_until(lambda: _settled_on(cluster, ns, image), 40, 0.2, what=f"6 pods running {image}")
    except TimeoutError as exc:
        pods = [(p["metadata"]["name"], pod_image(p), p["status"].get("phase"), is_ready(p),
                 bool(p["metadata"].get("deletionTimestamp"))) for p in cluster.pods(ns, NAME)]  # fmt: skip
        raise AssertionError(f"{exc}: pods {pods}, docker {_running_images(ns)}\n{cluster.logs()}") from None


def _rollout_under_watch(cluster: LocalCluster, ns: str, change: Any, image: str) -> int:
    """Apply `change()` while a pod watch counts ready pods; wait for the rollout and the pods to settle on
    `image`; return the minimum ready count the watch saw."""
    with ReadyWatch(cluster.url, ns, NAME) as watch:
        wait_until(lambda: watch.count() == REPLICAS, 10, 0.05, what="the watch to see 6 ready pods")
        watch.arm()
        change()
        wait_until(lambda: cluster.deployment(ns, NAME)["spec"]["template"]["spec"]["containers"][0]["image"]
                   == image, 10, 0.05, what=f"template image {image}")  # fmt: skip
        cluster.wait_rollout(ns, NAME, 90)
        _wait_settled(cluster, ns, image)
        low = watch.disarm()
        timeline = [n for _t, n in watch.timeline]
        # The watch followed the whole rollout (else its minimum would prove nothing): it holds exactly the
        # pods that are live now, all ready.
        live = {p["metadata"]["uid"] for p in cluster.live_ready_pods(ns, NAME)}
        wait_until(lambda: set(watch.ready) == live and watch.count() == REPLICAS, 10, 0.05,
                   what=f"the watch to agree with the pods (error: {watch.error!r})")  # fmt: skip
    print(f"\nrollout to {image}: min ready {low} (allowed >= {MIN_READY}), ready counts {timeline}")
    assert low is not None
    assert low >= MIN_READY, f"ready pods fell to {low} < {MIN_READY} during the rollout: {timeline}"
    return low


def test_deployment_spreads_over_both_kubelets(cluster: LocalCluster) -> None:
    ns = cluster.namespace()
    cluster.create_deployment(ns, NAME, REPLICAS)
    state["ns"] = ns
    cluster.wait_rollout(ns, NAME, 90)
    _wait_settled(cluster, ns, BUSYBOX_IMAGE)
    nodes = Counter(p["spec"]["nodeName"] for p in cluster.pods(ns, NAME))
    assert set(nodes) == {cluster.a.name, cluster.b.name}, f"pods by node: {dict(nodes)}"
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT}): `kubectl rollout status` not checked")
    done = kubectl(cluster, "-n", ns, "rollout", "status", f"deployment/{NAME}", "--timeout=60s")
    assert done.returncode == 0, done.stderr
    assert "successfully rolled out" in done.stdout, done.stdout


def test_image_change_keeps_ready_pods_above_minimum(cluster: LocalCluster) -> None:
    ns = _ns()
    _rollout_under_watch(cluster, ns, lambda: cluster.set_image(ns, NAME, SECOND_IMAGE), SECOND_IMAGE)
    d = cluster.deployment(ns, NAME)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT}): `kubectl rollout status` not checked")
    done = kubectl(cluster, "-n", ns, "rollout", "status", f"deployment/{NAME}", "--timeout=30s")
    assert done.returncode == 0, done.stderr


def test_kubectl_rollout_undo_then_kctl_rollout_undo(cluster: LocalCluster) -> None:
    ns = _ns()
    if KUBECTL is None:
        pytest.skip(f"kubectl is not installed ({INSTALL_HINT})")

    def kubectl_undo() -> None:
        done = kubectl(cluster, "-n", ns, "rollout", "undo", f"deployment/{NAME}")
        assert done.returncode == 0, done.stderr

    _rollout_under_watch(cluster, ns, kubectl_undo, BUSYBOX_IMAGE)
    d = cluster.deployment(ns, NAME)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"

    def kctl_undo() -> None:
        done = kctl(cluster, "-n", ns, "rollout", "undo", f"deployment/{NAME}")
        assert done.returncode == 0, done.stdout + done.stderr

    _rollout_under_watch(cluster, ns, kctl_undo, SECOND_IMAGE)
    d = cluster.deployment(ns, NAME)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"


def test_killed_kubelet_pods_move_to_the_other_node(cluster: LocalCluster, record_property: Any) -> None:
    ns = _ns()
    by_node = Counter(p["spec"]["nodeName"] for p in cluster.live_ready_pods(ns, NAME))
    a_first = by_node[cluster.a.name] >= by_node[cluster.b.name]
    victim, survivor = (cluster.a, cluster.b) if a_first else (cluster.b, cluster.a)
    assert by_node[victim.name] > 0, f"pods by node: {dict(by_node)}"
    # The apiserver gave every pod the shortened default tolerations.
    pod = cluster.live_ready_pods(ns, NAME)[0]
    tolerations = {
        (t.get("key"), t.get("effect")): t.get("tolerationSeconds") for t in pod["spec"]["tolerations"]
    }
    assert tolerations[("node.kubernetes.io/unreachable", "NoExecute")] == cluster.toleration, tolerations
    state["victim"] = victim
    result = measure_failover(cluster, ns, NAME, victim, timeout=90)
    record_property("failover", result.as_dict())
    print(f"\nkubelet SIGKILL -> {result.as_dict()}")

    assert cluster.node_ready(victim.name) == "Unknown"
    assert cluster.node_ready(survivor.name) == "True"
    assert "node.kubernetes.io/unreachable:NoExecute" in result.taints, result.taints
    assert result.pods_marked_not_ready_s is not None, "the dead node's pods were never marked Ready=False"
    # Evicted after the toleration, counted from the taint (which comes with NotReady); 1 s for our polling.
    assert result.first_eviction_s >= result.not_ready_s + cluster.toleration - 1.0, result.as_dict()
    live = cluster.live_ready_pods(ns, NAME)
    assert len(live) == REPLICAS
    assert {p["spec"]["nodeName"] for p in live} == {survivor.name}
    assert all(pod_image(p) == SECOND_IMAGE for p in live)
    assert cluster.deployment(ns, NAME)["status"]["availableReplicas"] == REPLICAS
    # The evicted pods stay Terminating: nobody is left to confirm that their containers stopped (they did
    # not: the kubelet was killed, so Docker runs them until the fixture removes them).
    evicted = [p for p in cluster.pods(ns, NAME) if p["spec"].get("nodeName") == victim.name]
    assert evicted and all(p["metadata"].get("deletionTimestamp") for p in evicted)
    assert cluster.node_containers(victim.name), "the killed kubelet's containers should still run"
    wait_until(
        lambda: "TaintManagerEviction" in cluster.event_reasons(ns),
        10,
        0.2,
        what="a TaintManagerEviction event",
    )


def test_restarted_kubelet_rejoins_and_finishes_its_evicted_pods(cluster: LocalCluster) -> None:
    ns = _ns()
    if "victim" not in state:
        pytest.skip("no kubelet was killed (an earlier test failed)")
    victim = state["victim"]
    victim.start()
    wait_until(lambda: cluster.node_ready(victim.name) == "True", 30, 0.2, what=f"{victim.name} Ready again")
    wait_until(lambda: not cluster.node(victim.name)["spec"].get("taints"), 20, 0.2, what="taints removed")
    # Back, the kubelet stops the containers of the pods evicted while it was away and lets them go.
    try:
        wait_until(lambda: not [p for p in cluster.pods(ns, NAME) if p["metadata"].get("deletionTimestamp")],
                   30, 0.2, what="the evicted pods to be gone")  # fmt: skip
        wait_until(lambda: not cluster.node_containers(victim.name), 20, 0.2, what="their containers stopped")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{cluster.log(victim.name)}") from None
    assert len(cluster.live_ready_pods(ns, NAME)) == REPLICAS
