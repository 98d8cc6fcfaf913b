"""Where the HPA controller reads pod metrics: the MetricsClient interface and its implementation over the
apiserver's metrics.k8s.io/v1beta1 PodMetrics (served by the metrics server behind an APIService).

    MetricsClient.resource_metrics(namespace, selector, resource, container)
        -> {pod name: PodMetric(milli-units, timestamp, window)}

A pod whose containers do not all report the resource is left out (upstream's resource metrics client does
the same: the replica calculator then treats it as missing). Errors are MetricsUnavailable, which the controller
turns into the ScalingActive=False condition and a FailedGetResourceMetric event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from apimachinery.client import Client, ClientConnectionError
from apimachinery.errors import StatusError
from apimachinery.validation import parse_quantity
from controller_manager.hpa_replicas import PodMetric

PODMETRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"
REQUEST_TIMEOUT = 10.0
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class MetricsUnavailable(Exception):
    """The metrics API did not answer with usable metrics."""


class MetricsClient(Protocol):
    async def resource_metrics(
        self, namespace: str, selector: str, resource: str, container: str | None = None
    ) -> dict[str, PodMetric]:
        """The usage of `resource` by each pod `selector` selects in `namespace`, in milli-units."""
        ...


def go_duration(text: str) -> timedelta:
    """A Go duration string (`30s`, `1m0s`, `10.5s`) as a timedelta; ValueError when it is not one."""
    if text == "0":
        return timedelta(0)
    parts = _GO_DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass  # a malformed timestamp: the sample is taken as fresh, as an absent one would be
    return datetime.now(UTC)


def pod_metrics_from_list(
    pod_metrics: list[Any], resource: str, container: str | None = None
) -> dict[str, PodMetric]:
    """The PodMetrics items of a metrics.k8s.io list as one PodMetric per pod (summed over its containers)."""
    out: dict[str, PodMetric] = {}
    for item in pod_metrics:
        if not isinstance(item, dict):
            continue
        name = (item.get("metadata") or {}).get("name")
        total = 0
        complete = True
        seen = False
        for box in item.get("containers") or []:
            if container and box.get("name") != container:
                continue
            value = (box.get("usage") or {}).get(resource)
            if value is None:
                complete = False
                break
            try:
                total += round(parse_quantity(value) * 1000)
            except ValueError:
                complete = False
                break
            seen = True
        if not name or not complete or not seen:
            continue
        try:
            window = go_duration(str(item.get("window") or "0"))
        except ValueError:
            window = timedelta(0)
        out[str(name)] = PodMetric(total, _timestamp(item.get("timestamp")), window)
    return out


class APIMetricsClient:
    """PodMetrics read through the apiserver, as the controller-manager's own identity."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def resource_metrics(
        self, namespace: str, selector: str, resource: str, container: str | None = None
    ) -> dict[str, PodMetric]:
        path = PODMETRICS_PATH.format(namespace=namespace)
        try:
            answer = await self.client.request(
                "GET", path, params={"labelSelector": selector}, timeout=REQUEST_TIMEOUT
            )
        except (StatusError, ClientConnectionError) as exc:
            raise MetricsUnavailable(f"unable to fetch metrics from resource metrics API: {exc}") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise MetricsUnavailable(
                "unable to fetch metrics from resource metrics API: not a PodMetricsList"
            )
        metrics = pod_metrics_from_list(answer["items"], resource, container)
        if not metrics:
            raise MetricsUnavailable("no metrics returned from resource metrics API")
        return metrics
