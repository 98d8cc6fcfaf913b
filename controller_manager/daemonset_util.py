"""DaemonSet decisions as pure functions: which nodes should run a daemon pod, the pod for a node, what to create
and delete on each node, the rolling-update step, and the status (kubernetes/pkg/controller/daemon).

Daemon pods are placed by the default scheduler: each pod carries required node affinity on `metadata.name` of
its node (`matchFields`), and the tolerations every daemon pod gets, so that it lands on that node and stays on it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from apimachinery.nodeselection import match_node_selector, tolerated
from apimachinery.workloads import CONTROLLER_REVISION_HASH
from controller_manager import rollout
from controller_manager.podutil import (
    Obj,
    controller_reference,
    is_pod_available,
    is_pod_ready,
    is_terminating,
    meta,
)

# The tolerations Kubernetes gives every daemon pod (pkg/controller/daemon/util.AddOrUpdateDaemonPodTolerations).
DAEMON_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION: Obj = {
    "key": "node.kubernetes.io/network-unavailable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


def with_daemon_tolerations(pod_spec: Obj) -> list[Obj]:
    """The pod spec's tolerations plus the daemon ones it does not already have (same key, operator, effect)."""
    tolerations = [dict(t) for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)]
    wanted = list(DAEMON_TOLERATIONS) + ([HOST_NETWORK_TOLERATION] if pod_spec.get("hostNetwork") else [])
    for tol in wanted:
        same = [t for t in tolerations if (t.get("key"), t.get("effect")) == (tol["key"], tol["effect"])]
        if not same:
            tolerations.append(dict(tol))
    return tolerations


def pinned_affinity(affinity: Obj | None, node_name: str) -> Obj:
    """Node affinity that allows exactly `node_name` (Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity): the
    matchFields of every required term become `metadata.name In [node]`, their matchExpressions stay."""
    out = copy.deepcopy(affinity or {})
    node_affinity = out.setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    pin = [{"key": "metadata.name", "operator": "In", "values": [node_name]}]
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        required["nodeSelectorTerms"] = [{"matchFields": pin}]
    else:
        required["nodeSelectorTerms"] = [{**t, "matchFields": copy.deepcopy(pin)} for t in terms]
    return out


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is for: spec.nodeName once bound, else the node its affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {})  # fmt: skip
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            values = req.get("values") or []
            if req.get("key") == "metadata.name" and req.get("operator") == "In" and len(values) == 1:
                return str(values[0])
    return None


def node_should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run a daemon pod, may keep running one) on `node` (Kubernetes' nodeShouldRunDaemonPod).

    A node must match the template's nodeName, nodeSelector and required node affinity; its NoSchedule and
    NoExecute taints must be tolerated to start a pod, its NoExecute taints to keep one.
    """
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    name = str(meta(node).get("name") or "")
    labels = meta(node).get("labels") or {}
    if spec.get("nodeName") and spec["nodeName"] != name:
        return False, False
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False, False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is not None and not match_node_selector(required, labels, name):
        return False, False
    tolerations = with_daemon_tolerations(spec)
    taints = [t for t in (node.get("spec") or {}).get("taints") or [] if isinstance(t, dict)]
    hard = [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")]
    if all(tolerated(tolerations, t) for t in hard):
        return True, True
    keep = all(tolerated(tolerations, t) for t in hard if t.get("effect") == "NoExecute")
    return False, keep


def new_pod(ds: Obj, node_name: str, revision_hash: str) -> Obj:
    """The daemon pod for `node_name`: the template, labelled with the revision hash, pinned to the node."""
    m = meta(ds)
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    tmeta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    spec["tolerations"] = with_daemon_tolerations(spec)
    spec["affinity"] = pinned_affinity(spec.get("affinity"), node_name)
    pod_meta: Obj = {
        "generateName": f"{m['name']}-",
        "namespace": m.get("namespace"),
        "labels": {**(tmeta.get("labels") or {}), CONTROLLER_REVISION_HASH: revision_hash},
        "ownerReferences": [controller_reference(ds, "apps/v1", "DaemonSet")],
    }
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def is_updated(pod: Obj, revision_hash: str) -> bool:
    return (meta(pod).get("labels") or {}).get(CONTROLLER_REVISION_HASH) == revision_hash


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def oldest_first(pods: list[Obj]) -> list[Obj]:
    """By creation time, oldest first; among equals, running before pending (podByCreationTimestampAndPhase)."""
    return sorted(
        pods,
        key=lambda p: (
            meta(p).get("creationTimestamp") or "",
            _phase(p) != "Running",
            meta(p).get("name", ""),
        ),
    )


def surge_allowed(ds: Obj, desired: int) -> int:
    """maxSurge resolved against the desired number of nodes (0 for OnDelete)."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    return rollout.scaled_value(
        (strategy.get("rollingUpdate") or {}).get("maxSurge", 0), desired, round_up=True
    )


def unavailable_allowed(ds: Obj, desired: int) -> int:
    """maxUnavailable against the desired number of nodes; at least 1 when maxSurge is 0 too."""
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    unavailable = rollout.scaled_value(rolling.get("maxUnavailable", 1), desired, round_up=True)
    if desired > 0 and unavailable == 0 and surge_allowed(ds, desired) == 0:
        return 1
    return unavailable


@dataclass
class NodeActions:
    """What `plan_nodes` decided: nodes that need a pod, pods to delete, failed pods seen (for events/backoff)."""

    create_on: list[str] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    failed: list[tuple[str, Obj]] = field(default_factory=list)  # (node, failed or succeeded pod)


def plan_nodes(
    ds: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]], revision_hash: str, at: datetime
) -> NodeActions:
    """Kubernetes' podsShouldBeOnNode over every node, plus the pods on nodes that no longer exist."""
    actions = NodeActions()
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    surge = surge_allowed(ds, len(nodes)) > 0
    known = set()
    for node in nodes:
        name = str(meta(node).get("name"))
        known.add(name)
        should_run, should_continue = node_should_run(ds, node)
        pods = pods_by_node.get(name) or []
        if should_run and not pods:
            actions.create_on.append(name)
            continue
        if not should_continue:
            actions.delete += [p for p in pods if not is_terminating(p)]
            continue
        running = []
        for pod in pods:
            if is_terminating(pod):
                continue
            if _phase(pod) in ("Failed", "Succeeded"):
                actions.failed.append((name, pod))
            else:
                running.append(pod)
        running = oldest_first(running)
        if not surge:
            actions.delete += running[1:]
            continue
        if not running:
            if should_run and not any(
                not is_terminating(p) and _phase(p) not in ("Failed", "Succeeded") for p in pods
            ):
                actions.create_on.append(name)
            continue
        new = [p for p in running if is_updated(p, revision_hash)]
        old = [p for p in running if not is_updated(p, revision_hash)]
        actions.delete += new[1:] + old[1:]
        if new and old:
            if not is_pod_ready(old[0]) or is_pod_available(new[0], min_ready, at):
                actions.delete.append(old[0])
    for name, pods in pods_by_node.items():
        if name not in known:
            actions.delete += [p for p in pods if not is_terminating(p)]
    return actions


def _updated_and_old(pods: list[Obj], revision_hash: str) -> tuple[Obj | None, Obj | None, bool]:
    """(the updated pod, the old pod, fine) of one node; not fine when either kind is there twice."""
    new = old = None
    for pod in pods:
        if is_terminating(pod):
            continue
        if is_updated(pod, revision_hash):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(
    ds: Obj, pods_by_node: dict[str, list[Obj]], desired: int, revision_hash: str, at: datetime
) -> tuple[list[Obj], list[str]]:
    """(old pods to delete, nodes to surge a new pod onto): one step of the rolling update (update.go)."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    max_surge = surge_allowed(ds, desired)
    max_unavailable = unavailable_allowed(ds, desired)
    if max_surge == 0:
        unavailable = 0
        replace: list[Obj] = []
        candidates: list[Obj] = []
        for name in sorted(pods_by_node):
            new, old, fine = _updated_and_old(pods_by_node[name], revision_hash)
            if not fine or (new is None) == (old is None):
                unavailable += 1  # the manage step fixes this node; count it as unavailable meanwhile
            elif new is not None:
                if not is_pod_available(new, min_ready, at):
                    unavailable += 1
            elif old is not None and not is_pod_available(old, min_ready, at):
                replace.append(old)  # an old pod that is not available anyway: replace it at once
            elif unavailable < max_unavailable and old is not None:
                candidates.append(old)
        budget = max(0, min(max_unavailable - unavailable, len(candidates)))
        return replace + candidates[:budget], []
    surged = 0
    delete: list[Obj] = []
    new_nodes: list[str] = []
    candidates_new: list[str] = []
    for name in sorted(pods_by_node):
        new, old, fine = _updated_and_old(pods_by_node[name], revision_hash)
        if not fine:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not is_pod_available(old, min_ready, at):
                new_nodes.append(name)
            else:
                candidates_new.append(name)
        elif not is_pod_available(new, min_ready, at):
            surged += 1
        else:
            delete.append(old)
    budget = max(0, min(max_surge - surged, len(candidates_new)))
    return delete, new_nodes + candidates_new[:budget]


def compute_status(
    ds: Obj, nodes: list[Obj], pods_by_node: dict[str, list[Obj]], revision_hash: str, at: datetime
) -> Obj:
    """desired/current/ready/available/updated/misscheduled counts and observedGeneration."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    desired = current = ready = available = updated = misscheduled = 0
    for node in nodes:
        name = str(meta(node).get("name"))
        should_run, _ = node_should_run(ds, node)
        pods = oldest_first(pods_by_node.get(name) or [])
        if not should_run:
            misscheduled += bool(pods)
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = pods[0]
        if is_pod_ready(pod):
            ready += 1
            available += is_pod_available(pod, min_ready, at)
        updated += is_updated(pod, revision_hash)
    status: Obj = {
        "currentNumberScheduled": current,
        "numberMisscheduled": misscheduled,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "observedGeneration": meta(ds).get("generation", 0),
        "updatedNumberScheduled": updated,
        "numberAvailable": available,
    }
    if desired - available:
        status["numberUnavailable"] = desired - available
    old = ds.get("status") or {}
    for key in ("collisionCount", "conditions"):
        if old.get(key) is not None:
            status[key] = copy.deepcopy(old[key])
    return status
