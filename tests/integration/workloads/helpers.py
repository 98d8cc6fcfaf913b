"""What the integration workloads tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

from typing import Any

from apimachinery.client import Client
from tests import components, factories
from tests.background import Background
from tests.components import Component
from tests.factories import Obj
from tests.harness import ApiServer
from tests.integration.controller_manager.helpers import now
from tests.resources import EVENTS, PODS
from tests.stored import get_or_none as get_or_none  # (re-exported for the workload tests)

# Job pods are replaced after a failure with a backoff of 1 s (Kubernetes: 10 s), so failure tests stay short.
MANAGER_ARGS = ["--job-pod-failure-backoff", "1s"]
FAST_EXIT = {"terminationGracePeriodSeconds": 0}  # pods of these tests never need a grace period


class PodWatch(Background):
    """Inside `async with`: a watch of the namespace's pods from the moment it is entered; `seen(type, pod)` is
    called for each event."""

    def __init__(self, client: Client, ns: str) -> None:
        self.client, self.ns = client, ns
        self._rv = ""

    async def __aenter__(self) -> Any:
        # The list is the starting point, taken before entering returns: the watch sees every later change.
        self._rv = (await self.client.list(PODS, self.ns))["metadata"]["resourceVersion"]
        return await super().__aenter__()

    async def _run(self) -> None:
        async for etype, pod in self.client.watch(PODS, self.ns, resource_version=self._rv):
            self.seen(etype, pod)

    def seen(self, etype: str, pod: Obj) -> None:
        raise NotImplementedError


def start_manager(cluster: ApiServer, *args: str) -> Component:
    return components.start_manager(cluster, *MANAGER_ARGS, *args)


async def finish(
    client: Client, ns: str, name: str, phase: str = "Succeeded", exit_code: int | None = None
) -> None:
    """The kubelet's report for a pod whose containers all ended: terminated with `exit_code`, phase `phase`."""
    code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
    stamp = now()
    pod = await client.get(PODS, name, ns)
    statuses = [
        {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "state": {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": stamp,
                    "finishedAt": stamp,
                }
            },
        }
        for c in pod["spec"]["containers"]
    ]
    status = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp}
        ],
        "containerStatuses": statuses,
    }
    await client.patch(PODS, name, {"status": status}, ns, subresource="status")


async def pods_of(client: Client, ns: str, *, label: str | None = None, live: bool = False) -> list[Obj]:
    items = (await client.list(PODS, ns, label_selector=label))["items"]
    if live:
        items = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    return sorted(items, key=lambda p: p["metadata"]["name"])


async def event_reasons(client: Client, ns: str) -> list[str]:
    return [e.get("reason", "") for e in (await client.list(EVENTS, ns))["items"]]


def container(image: str = "busybox:1", **extra: Any) -> Obj:
    return {"name": "c", "image": image, **extra}


def job(name: str, restart: str = "Never", **spec: Any) -> Obj:
    return factories.job(name, [container()], restart, pod_spec=FAST_EXIT, **spec)


def rc(name: str, replicas: int, **spec: Any) -> Obj:
    """A ReplicationController of pods labelled app=<name>: the ReplicaSet of the same name, as v1, with no
    selector (it defaults from the template's labels) unless `spec` gives one (a label map)."""
    rs = factories.replicaset(name, replicas, pod_spec=FAST_EXIT)
    rs_spec = {k: v for k, v in rs["spec"].items() if k != "selector"}
    return {**rs, "apiVersion": "v1", "kind": "ReplicationController", "spec": {**rs_spec, **spec}}


def workload(kind: str, name: str, image: str = "busybox:1", **spec: Any) -> Obj:
    """A DaemonSet or StatefulSet (apps/v1) selecting app=<name>."""
    return factories.workload(kind, name, [container(image)], pod_spec=FAST_EXIT, **spec)
