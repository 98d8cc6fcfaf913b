"""Resource arithmetic for scheduling: what a pod requests and what a node can give, as integers.

CPU is counted in millicores, every other resource (memory, pods, extended resources) in whole base units
(bytes, pods, devices), rounded up, as the Kubernetes scheduler does.
"""

from __future__ import annotations

import math
from typing import Any

from apimachinery.validation.quantity import (
    parse_quantity_exact as parse_quantity,  # exact: millicores, bytes
)

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"

# What a container without a cpu/memory request counts as when *scoring* (never when filtering), so that nodes
# full of request-less pods do not look empty (Kubernetes' DefaultMilliCPURequest / DefaultMemoryRequest).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def to_units(resource: str, value: Any) -> int:
    """A quantity as the scheduler's integer unit for that resource (millicores for cpu), rounded up."""
    try:
        parsed = parse_quantity(value)
    except ValueError:
        return 0  # validation rejects malformed quantities; a stray one must not crash the scheduler
    return math.ceil(parsed * 1000) if resource == CPU else math.ceil(parsed)


def resource_list(values: dict[str, Any] | None) -> dict[str, int]:
    return {name: to_units(name, q) for name, q in (values or {}).items()}


def _container_requests(container: dict[str, Any]) -> dict[str, int]:
    resources = container.get("resources") or {}
    # The API defaults a missing request to the limit; do it here too so a pod written by a client that
    # skipped defaulting is counted the same way.
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return resource_list(merged)


def _add(total: dict[str, int], extra: dict[str, int]) -> None:
    for name, value in extra.items():
        total[name] = total.get(name, 0) + value


def _max(total: dict[str, int], other: dict[str, int]) -> None:
    for name, value in other.items():
        if value > total.get(name, 0):
            total[name] = value


def pod_requests(pod: dict[str, Any]) -> dict[str, int]:
    """The effective request of a pod: the sum over app containers, at least the largest init container,
    plus restartable (sidecar) init containers and the pod overhead, without the pods count."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    for container in spec.get("containers") or []:
        _add(total, _container_requests(container))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for container in spec.get("initContainers") or []:
        requests = _container_requests(container)
        if container.get("restartPolicy") == "Always":
            _add(sidecars, requests)
        else:
            # an init container runs next to the sidecars started before it
            _max(init_peak, {name: value + sidecars.get(name, 0) for name, value in requests.items()})
    _add(total, sidecars)
    _max(total, init_peak)
    _add(total, resource_list(spec.get("overhead")))
    return {name: value for name, value in total.items() if value}


def pod_nonzero_requests(pod: dict[str, Any]) -> tuple[int, int]:
    """(millicpu, memory) for scoring: containers without a request count as the defaults above."""
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        cpu += to_units(CPU, merged[CPU]) if CPU in merged else DEFAULT_MILLI_CPU_REQUEST
        memory += to_units(MEMORY, merged[MEMORY]) if MEMORY in merged else DEFAULT_MEMORY_REQUEST
    return cpu, memory


def node_allocatable(node: dict[str, Any]) -> dict[str, int]:
    """Allocatable resources of a node (capacity where allocatable is not reported)."""
    status = node.get("status") or {}
    return resource_list({**(status.get("capacity") or {}), **(status.get("allocatable") or {})})
