"""The DaemonSet controller with the real scheduler and hollow nodes: one pod per eligible node (nodeSelector,
taints and tolerations), a new node gets its pod, a removed node loses it, rolling updates (maxUnavailable and
maxSurge), OnDelete, and the ControllerRevisions kubectl's rollout history reads."""

from __future__ import annotations

import pytest

from apimachinery.workloads import CONTROLLER_REVISION_HASH
from tests.integration.workloads.helpers import pods_of, workload
from tests.polling import eventually
from tests.resources import DAEMONSETS, NODES, PODS, REVISIONS
from tests.stored import status_settled

# The status counts that are one per eligible node once a DaemonSet has settled.
DAEMONS_PER_NODE = (
    "desiredNumberScheduled",
    "currentNumberScheduled",
    "numberReady",
    "numberAvailable",
    "updatedNumberScheduled",
)

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]


async def running_by_node(client, ns, name):
    """node -> the DaemonSet's live, bound, Running pods there (two during a surge)."""
    out: dict[str, list] = {}
    for pod in await pods_of(client, ns, label=f"app={name}", live=True):
        node = pod["spec"].get("nodeName")
        if node and pod["status"].get("phase") == "Running":
            out.setdefault(node, []).append(pod)
    return out


async def placement(client, ns, name):
    """node -> pod, when every node runs exactly one (else None)."""
    by_node = await running_by_node(client, ns, name)
    if any(len(pods) != 1 for pods in by_node.values()):
        return None
    return {node: pods[0] for node, pods in by_node.items()}


async def settled(client, ns, name, nodes, image=None):
    async def check():
        pods = await pods_of(client, ns, label=f"app={name}")
        placed = await placement(client, ns, name)
        if placed is None or set(placed) != set(nodes) or len(pods) != len(nodes):
            return None
        if image and any(p["spec"]["containers"][0]["image"] != image for p in placed.values()):
            return None
        ds = await client.get(DAEMONSETS, name, ns)
        return placed if status_settled(ds, dict.fromkeys(DAEMONS_PER_NODE, len(nodes))) else None

    return await eventually(check, timeout=40, what=f"daemonset {name} on {sorted(nodes)}")


async def test_one_pod_per_eligible_node_and_new_nodes(client, namespace, manager, scheduler, hollow):
    plain = hollow(2, f"{namespace}-a-", "--labels", f"pool={namespace}")
    tainted = hollow(
        1, f"{namespace}-t-", "--labels", f"pool={namespace}", "--taint", "dedicated=infra:NoSchedule"
    )
    hollow(1, f"{namespace}-x-")  # not in the pool: the nodeSelector keeps the daemon off it
    ds = workload("DaemonSet", "agent")
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"pool": namespace}
    await client.create(DAEMONSETS, ds, namespace)
    placed = await settled(client, namespace, "agent", plain)
    for node, pod in placed.items():
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ]
        assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
        keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
        assert {
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        } <= keys
        assert CONTROLLER_REVISION_HASH in pod["metadata"]["labels"]
    # Tolerating the taint brings the tainted node in.
    toleration = [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]
    await client.patch(
        DAEMONSETS, "agent", {"spec": {"template": {"spec": {"tolerations": toleration}}}}, namespace
    )
    await settled(client, namespace, "agent", plain + tainted)
    # A new node in the pool gets its pod.
    new = hollow(1, f"{namespace}-n-", "--labels", f"pool={namespace}")
    await settled(client, namespace, "agent", plain + tainted + new)
    # A node leaving the pool loses it.
    await client.patch(NODES, plain[0], {"metadata": {"labels": {"pool": "elsewhere"}}})
    await settled(client, namespace, "agent", plain[1:] + tainted + new)


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


async def roll_to(client, ns, name, nodes, patch):
    """Apply `patch` and wait until every node runs the new image; the fewest ready pods seen meanwhile."""
    image = patch["spec"]["template"]["spec"]["containers"][0]["image"]
    worst = len(nodes)
    await client.patch(DAEMONSETS, name, patch, ns, patch_type="strategic")

    async def done():
        nonlocal worst
        by_node = await running_by_node(client, ns, name)
        # A node counts as serving while any of its daemon pods (old or surged new) is ready.
        worst = min(worst, sum(1 for pods in by_node.values() if any(is_ready(p) for p in pods)))
        placed = await placement(client, ns, name)
        return (
            placed is not None
            and len(placed) == len(nodes)
            and all(p["spec"]["containers"][0]["image"] == image for p in placed.values())
        )

    await eventually(done, timeout=40, interval=0.05, what=f"rolled to {image}")
    await settled(client, ns, name, nodes, image)
    return worst


def image_patch(image, **strategy):
    spec = {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}
    if strategy:
        spec["updateStrategy"] = {"rollingUpdate": strategy}
    return {"spec": spec}


async def test_rolling_update_and_history(client, namespace, manager, scheduler, hollow):
    nodes = hollow(4, f"{namespace}-r-", "--labels", f"roll={namespace}")
    ds = workload("DaemonSet", "roll")
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"roll": namespace}
    await client.create(DAEMONSETS, ds, namespace)
    await settled(client, namespace, "roll", nodes, "busybox:1")
    # maxUnavailable 1 (the default): never more than one node without a ready pod.
    assert await roll_to(client, namespace, "roll", nodes, image_patch("busybox:2")) >= len(nodes) - 1
    revisions = (await client.list(REVISIONS, namespace))["items"]
    mine = sorted(r["revision"] for r in revisions if r["metadata"]["ownerReferences"][0]["name"] == "roll")
    assert mine == [1, 2]
    for r in revisions:
        assert r["data"]["spec"]["template"]["$patch"] == "replace"
        assert r["metadata"]["labels"]["app"] == "roll"
    # maxSurge 1, maxUnavailable 0: a new pod starts beside the old one, which goes once the new one is ready.
    surge = image_patch("busybox:3", maxSurge=1, maxUnavailable=0)
    assert await roll_to(client, namespace, "roll", nodes, surge) == len(nodes)
    # Back to an old template: its revision is renumbered, not copied.
    await roll_to(client, namespace, "roll", nodes, image_patch("busybox:1"))
    revisions = (await client.list(REVISIONS, namespace))["items"]
    numbers = {
        r["data"]["spec"]["template"]["spec"]["containers"][0]["image"]: r["revision"] for r in revisions
    }
    assert numbers == {"busybox:2": 2, "busybox:3": 3, "busybox:1": 4}


async def test_on_delete_waits_for_the_user(client, namespace, manager, scheduler, hollow):
    nodes = hollow(2, f"{namespace}-o-", "--labels", f"od={namespace}")
    ds = workload("DaemonSet", "od", updateStrategy={"type": "OnDelete"})
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"od": namespace}
    await client.create(DAEMONSETS, ds, namespace)
    placed = await settled(client, namespace, "od", nodes, "busybox:1")
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
    await client.patch(DAEMONSETS, "od", patch, namespace, patch_type="strategic")

    async def observed():
        d = await client.get(DAEMONSETS, "od", namespace)
        s = d["status"]
        return (
            s.get("observedGeneration") == d["metadata"]["generation"]
            and s.get("updatedNumberScheduled") == 0
        )

    await eventually(observed, what="the new template observed, nothing updated")
    victim = placed[nodes[0]]["metadata"]["name"]
    await client.delete(PODS, victim, namespace, grace_period_seconds=0)

    async def replaced():
        now_placed = await placement(client, namespace, "od") or {}
        images = {n: p["spec"]["containers"][0]["image"] for n, p in now_placed.items()}
        return images == {nodes[0]: "busybox:2", nodes[1]: "busybox:1"}

    await eventually(replaced, what="only the deleted pod replaced, with the new template")
