"""What `kctl rollout` reads and writes for DaemonSets and StatefulSets, as kubectl does it.

* status: kubectl's DaemonSetStatusViewer / StatefulSetStatusViewer messages, from the status fields.
* history: the ControllerRevisions the object's selector selects and the object controls, by `revision`.
* undo: the revision's data is a strategic merge patch that puts its pod template back; kubectl sends it as is.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery import labels as labelsel
from apimachinery.client import Client
from apimachinery.resources import must_resource
from cli.errors import CLIError

Obj = dict[str, Any]

CONTROLLERREVISIONS = must_resource("apps", "controllerrevisions")
KINDS = ("deployments", "daemonsets", "statefulsets")


def spec_unobserved(obj: Obj) -> bool:
    """The controller has not yet seen the object's latest spec (status.observedGeneration is behind)."""
    observed = int((obj.get("status") or {}).get("observedGeneration") or 0)
    return int(obj["metadata"].get("generation") or 0) > observed


def rolling_update_strategy(spec: Obj) -> Obj:
    """spec.updateStrategy of a DaemonSet or StatefulSet; CLIError unless it is RollingUpdate (the default)."""
    strategy: Obj = spec.get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        raise CLIError("rollout status is only available for RollingUpdate strategy type")
    return strategy


def daemonset_status(ds: Obj) -> tuple[str, bool]:
    name = ds["metadata"]["name"]
    status = ds.get("status") or {}
    rolling_update_strategy(ds.get("spec") or {})
    if spec_unobserved(ds):
        return "Waiting for daemon set spec update to be observed...", False
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    prefix = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return f"{prefix}{updated} out of {desired} new pods have been updated...", False
    if available < desired:
        return f"{prefix}{available} of {desired} updated pods are available...", False
    return f'daemon set "{name}" successfully rolled out', True


def statefulset_status(sts: Obj) -> tuple[str, bool]:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    strategy = rolling_update_strategy(spec)
    if int(status.get("observedGeneration") or 0) == 0 or spec_unobserved(sts):
        return "Waiting for statefulset spec update to be observed...", False
    replicas = spec.get("replicas", 1)
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if replicas is not None and ready < int(replicas):
        return f"Waiting for {int(replicas) - ready} pods to be ready...", False
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        partition = rolling.get("partition")
        if replicas is not None and partition is not None and updated < int(replicas) - int(partition):
            wanted = int(replicas) - int(partition)
            return (
                f"Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated...",
                False,
            )
        return f"partitioned roll out complete: {updated} new pods have been updated...", True
    if status.get("updateRevision") != status.get("currentRevision"):
        msg = f"waiting for statefulset rolling update to complete {updated} pods at revision {status.get('updateRevision')}..."
        return msg, False
    current = int(status.get("currentReplicas") or 0)
    return (
        f"statefulset rolling update complete {current} pods at revision {status.get('currentRevision')}...",
        True,
    )


async def revisions(client: Client, obj: Obj) -> dict[int, Obj]:
    """revision number -> ControllerRevision, for the revisions `obj` (a DaemonSet or StatefulSet) controls."""
    meta = obj["metadata"]
    selector = labelsel.to_string((obj.get("spec") or {}).get("selector"))
    if selector in ("<none>", "<error>"):
        selector = ""
    found = await client.list_all(CONTROLLERREVISIONS, meta.get("namespace"), selector or None)
    out: dict[int, Obj] = {}
    for rev in found["items"]:
        refs = rev["metadata"].get("ownerReferences") or []
        if any(r.get("uid") == meta.get("uid") and r.get("controller") for r in refs):
            out[int(rev.get("revision") or 0)] = rev
    return out


def revision_template(revision: Obj) -> Obj:
    """The pod template a revision would restore."""
    template = copy.deepcopy((((revision.get("data") or {}).get("spec") or {}).get("template")) or {})
    template.pop("$patch", None)
    return template


def pick(history: dict[int, Obj], to_revision: int) -> tuple[int, Obj]:
    """The revision `rollout undo` goes back to: the given one, or the one before the latest."""
    if to_revision:
        if to_revision not in history:
            raise CLIError(f"unable to find specified revision {to_revision} in history")
        return to_revision, history[to_revision]
    if len(history) <= 1:
        raise CLIError("no last revision to roll back to")
    previous = sorted(history)[-2]
    return previous, history[previous]
