"""Resource arithmetic for scheduling: what a pod requests and what a node can give, as integers.

CPU is counted in millicores, every other resource (memory, pods, extended resources) in whole base units
(bytes, pods, devices), rounded up, as the Kubernetes scheduler does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"

# What a container without a cpu/memory request counts as when *scoring* (never when filtering), so that nodes
# full of request-less pods do not look empty (Kubernetes' DefaultMilliCPURequest / DefaultMemoryRequest).
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024

_shared_parse_quantity: Callable[[str], float] | None
try:  # the shared parser; the private fallback below (same grammar) serves only if it is missing
    from apimachinery.validation import parse_quantity as _shared_parse_quantity
except ImportError:  # pragma: no cover - depends on what the tree holds at the time
    _shared_parse_quantity = None

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")


def _parse_quantity_fallback(text: str) -> Decimal:
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"quantities must match the regular expression '{_QUANTITY.pattern}': {text!r}")
    number, suffix, exponent = match.groups()
    value = Decimal(number)
    if exponent is not None:
        return value * (Decimal(10) ** int(exponent))
    return value * _SUFFIXES[suffix or ""]


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity ("100m", "1.5Gi", "2", 3) as an exact Decimal; ValueError when malformed."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    if _shared_parse_quantity is not None:
        try:
            parsed = _shared_parse_quantity(str(value))
        except (ValueError, TypeError, InvalidOperation):
            raise ValueError(f"invalid quantity {value!r}") from None
        # The shared parser returns a float; its shortest repr is the exact decimal for any quantity written
        # with a few digits ("0.1", not 0.1000000000000000055), so "100m" stays 100 millicores, never 101.
        return Decimal(str(parsed))
    return _parse_quantity_fallback(str(value))


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
