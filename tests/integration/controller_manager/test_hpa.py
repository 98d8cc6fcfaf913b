"""The HPA controller against a real apiserver, as the controller-manager's own identity, with the pod metrics
given by a fake MetricsClient (the real one, through metrics.k8s.io, is exercised by the e2e test).

No kubelet or ReplicaSet controller runs here: the test writes the pods the target would have, with their cpu
requests and Ready conditions, and reads what the controller did through the scale subresource and the HPA's
status and events."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apimachinery.client import Client
from apimachinery.events import EventRecorder
from apimachinery.informer import InformerFactory
from apimachinery.resources import ResourceInfo, must_resource
from controller_manager.base import Context, Options
from controller_manager.hpa import HorizontalPodAutoscalerController
from controller_manager.hpa_metrics import MetricsUnavailable
from controller_manager.hpa_replicas import PodMetric
from tests import factories
from tests.factories import Obj
from tests.harness import CONTROLLER_MANAGER, ApiServer
from tests.integration.controller_manager.helpers import deployment
from tests.polling import eventually
from tests.resources import DEPLOYMENTS, EVENTS, PODS

HPAS = must_resource("autoscaling", "horizontalpodautoscalers")
DAEMONSETS = must_resource("apps", "daemonsets")
STARTED = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeMetrics:
    """Millicores per pod name, as a test sets them; `failing` makes every read fail."""

    def __init__(self) -> None:
        self.cpu: dict[str, int] = {}
        self.failing = False

    async def resource_metrics(
        self, namespace: str, selector: str, resource: str, container: str | None = None
    ) -> dict[str, PodMetric]:
        if self.failing:
            raise MetricsUnavailable("unable to fetch metrics from resource metrics API: the fake says no")
        stamp = datetime.now(UTC)
        return {name: PodMetric(v, stamp, timedelta(seconds=15)) for name, v in self.cpu.items()}


@pytest.fixture
async def hpa_controller(apiserver: ApiServer) -> AsyncIterator[tuple[Client, FakeMetrics]]:
    """The HPA controller in this process, as system:kube-controller-manager, syncing every 0.2 s."""
    client = Client(apiserver.config(*CONTROLLER_MANAGER))
    factory = InformerFactory(client)
    recorder = EventRecorder(client, "horizontal-pod-autoscaler")
    metrics = FakeMetrics()
    ctx = Context(client, factory, recorder, Options(hpa_sync_period=0.2, hpa_downscale_stabilization=1.0))
    controller = HorizontalPodAutoscalerController(ctx, metrics=metrics)
    factory.start()
    await factory.wait_synced(10)
    task = asyncio.create_task(controller.run(workers=2))
    try:
        yield client, metrics
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await factory.stop()
        await recorder.aclose()
        await client.aclose()


async def add_pod(client: Client, namespace: str, name: str, *, ready: bool = True) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "c", "image": "busybox:1", "resources": {"requests": {"cpu": "100m"}}}]
        },
    }
    await client.create(PODS, pod, namespace)
    status = {
        "phase": "Running",
        "startTime": STARTED,
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": STARTED}
        ],
    }
    await client.patch(PODS, name, {"status": status}, namespace, subresource="status")


def hpa(name: str, target: Obj, *, behavior: Obj | None = None, max_replicas: int = 3) -> Obj:
    extra = {"behavior": behavior} if behavior is not None else {}
    return factories.hpa(
        name, max_replicas, target, minReplicas=1, metrics=[factories.cpu_utilization(50)], **extra
    )


def condition(obj: Obj, type_: str) -> tuple[str, str] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"], c["reason"]
    return None


async def replicas(client: Client, namespace: str) -> int:
    return int((await client.get(DEPLOYMENTS, "web", namespace, "scale"))["spec"]["replicas"])


async def events_of(client: Client, namespace: str, name: str) -> list[tuple[str, str]]:
    got = await client.list(EVENTS, namespace, field_selector=f"involvedObject.name={name}")
    return [(e["reason"], e["message"]) for e in got["items"]]


WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


async def test_scales_up_to_max_and_down_after_the_window(
    hpa_controller: tuple[Client, FakeMetrics], client: Client, namespace: str
) -> None:
    _, metrics = hpa_controller
    await client.create(DEPLOYMENTS, deployment("web", 1), namespace)
    await add_pod(client, namespace, "web-0")
    metrics.cpu = {"web-0": 90}  # 90% of the 100m request against 50%: ceil(1.8 * 1) = 2
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 2}}
    await client.create(HPAS, hpa("web", WEB, behavior=behavior), namespace)

    await eventually(lambda: _equals(replicas(client, namespace), 2), 15, what="scale-up to 2")

    async def scaled_up_status() -> dict | None:
        # The controller writes the scale first and its own status after: the new size can show before it.
        got = await client.get(HPAS, "web", namespace)
        return got if (got.get("status") or {}).get("lastScaleTime") else None

    got = await eventually(scaled_up_status, 15, what="the HPA's status after the rescale")
    assert got["status"]["currentMetrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": 90, "averageValue": "90m"}},
        }
    ]
    assert condition(got, "ScalingActive") == ("True", "ValidMetricFound")
    scaled_up = (
        "SuccessfulRescale",
        "New size: 2; reason: cpu resource utilization (percentage of request) above target",
    )

    async def scale_up_event() -> bool:  # events are written by a rate-limited recorder, after the fact
        return scaled_up in await events_of(client, namespace, "web")

    await eventually(scale_up_event, 15, what="the SuccessfulRescale event")

    # Two busy pods ask for 4; maxReplicas holds it at 3.
    await add_pod(client, namespace, "web-1")
    metrics.cpu = {"web-0": 90, "web-1": 90}
    await eventually(lambda: _equals(replicas(client, namespace), 3), 15, what="scale-up to 3")

    async def limited() -> bool:
        got = await client.get(HPAS, "web", namespace)
        return condition(got, "ScalingLimited") == ("True", "TooManyReplicas")

    await add_pod(client, namespace, "web-2")
    metrics.cpu = {"web-0": 90, "web-1": 90, "web-2": 90}
    await eventually(limited, 15, what="ScalingLimited TooManyReplicas")

    # The load stops: the 2 s scale-down window holds the count, then it goes to 1 (10% of 50%: ceil(0.2 * 3)).
    metrics.cpu = {"web-0": 10, "web-1": 10, "web-2": 10}
    quiet_since = asyncio.get_running_loop().time()

    async def stabilized() -> bool:
        got = await client.get(HPAS, "web", namespace)
        return condition(got, "AbleToScale") == ("True", "ScaleDownStabilized")

    await eventually(stabilized, 10, what="AbleToScale ScaleDownStabilized")
    assert await replicas(client, namespace) == 3
    await eventually(lambda: _equals(replicas(client, namespace), 1), 15, what="scale-down to 1")
    assert asyncio.get_running_loop().time() - quiet_since >= 1.5  # not before the window

    # The controller writes the scale first, then the HPA's status (as upstream's does), and the event after both:
    # they follow the new count, not with it.
    async def status_says_one() -> bool:
        got = await client.get(HPAS, "web", namespace)
        return bool(got["status"].get("desiredReplicas") == 1)

    await eventually(status_says_one, 10, what="status.desiredReplicas 1")
    rescaled = ("SuccessfulRescale", "New size: 1; reason: All metrics below target")

    async def rescale_event() -> bool:
        return rescaled in await events_of(client, namespace, "web")

    await eventually(rescale_event, 10, what="SuccessfulRescale to 1")


async def test_no_metrics_and_no_scale_are_conditions_and_events(
    hpa_controller: tuple[Client, FakeMetrics], client: Client, namespace: str
) -> None:
    _, metrics = hpa_controller
    metrics.failing = True
    await client.create(DEPLOYMENTS, deployment("web", 1), namespace)
    await add_pod(client, namespace, "web-0")
    await client.create(HPAS, hpa("web", WEB), namespace)

    async def inactive() -> bool:
        got = await client.get(HPAS, "web", namespace)
        return condition(got, "ScalingActive") == ("False", "FailedGetResourceMetric")

    await eventually(inactive, 15, what="ScalingActive False")
    assert await replicas(client, namespace) == 1

    # Events are written by the recorder's background writers: they may land after the status.
    async def both_events() -> bool:
        reasons = {r for r, _ in await events_of(client, namespace, "web")}
        return {"FailedGetResourceMetric", "FailedComputeMetricsReplicas"} <= reasons

    await eventually(both_events, 10, what="FailedGetResourceMetric and FailedComputeMetricsReplicas events")

    # A DaemonSet has no scale subresource.
    target = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds"}
    await client.create(HPAS, hpa("ds", target), namespace)

    async def unable() -> bool:
        got = await client.get(HPAS, "ds", namespace)
        return condition(got, "AbleToScale") == ("False", "FailedGetScale")

    await eventually(unable, 15, what="AbleToScale False")


async def test_scales_a_custom_resource(
    hpa_controller: tuple[Client, FakeMetrics],
    client: Client,
    namespace: str,
    crontabs: Callable[[], tuple[str, str, str]],
) -> None:
    _, metrics = hpa_controller
    crd_group, kind, plural = crontabs()
    crs = must_custom(crd_group, plural, kind)
    await client.create(
        crs,
        {
            "apiVersion": f"{crd_group}/v1",
            "kind": kind,
            "metadata": {"name": "web"},
            "spec": {"cronSpec": "* * * * */5", "image": "img", "replicas": 1},
        },
        namespace,
    )
    await client.patch(
        crs, "web", {"status": {"replicas": 1, "selector": "app=web"}}, namespace, subresource="status"
    )
    await add_pod(client, namespace, "web-0")
    metrics.cpu = {"web-0": 100}
    target = {"apiVersion": f"{crd_group}/v1", "kind": kind, "name": "web"}
    await client.create(HPAS, hpa("ct", target), namespace)

    async def scaled() -> bool:
        return (await client.get(crs, "web", namespace))["spec"]["replicas"] == 2

    await eventually(scaled, 15, what="the custom resource scaled to 2")


def must_custom(group: str, plural: str, kind: str) -> ResourceInfo:
    return ResourceInfo(plural, kind, group, "v1", True)


@pytest.fixture
async def crontabs(client: Client) -> AsyncIterator[Callable[[], tuple[str, str, str]]]:
    """A CronTab CRD (with the scale subresource) of a group of this test's own; deleted afterwards."""
    crds = must_resource("apiextensions.k8s.io", "customresourcedefinitions")
    group = f"hpa{uuid.uuid4().hex[:6]}.example.com"
    crd = factories.crontab_crd(group=group, plural="crontabs", kind="CronTab", short_names=())
    await client.create(crds, crd)
    name = crd["metadata"]["name"]

    async def established() -> bool:
        got = await client.get(crds, name)
        return any(
            c["type"] == "Established" and c["status"] == "True"
            for c in got.get("status", {}).get("conditions", [])
        )

    await eventually(established, 10, what="CRD established")
    try:
        yield lambda: (group, "CronTab", "crontabs")
    finally:
        with contextlib.suppress(Exception):
            await client.delete(crds, name)


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
