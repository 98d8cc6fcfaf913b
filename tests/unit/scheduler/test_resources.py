from decimal import Decimal

import pytest

from scheduler.resources import (
    DEFAULT_MEMORY_REQUEST,
    DEFAULT_MILLI_CPU_REQUEST,
    node_allocatable,
    parse_quantity,
    pod_nonzero_requests,
    pod_requests,
    to_units,
)
from tests.unit.scheduler.factories import make_node, make_pod


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Decimal("0.1")),
        ("2", Decimal(2)),
        ("1Gi", Decimal(2**30)),
        ("1.5k", Decimal(1500)),
        ("1e3", Decimal(1000)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_units_round_up_and_cpu_is_milli() -> None:
    assert to_units("cpu", "1") == 1000
    assert to_units("cpu", "0.0005") == 1
    assert to_units("memory", "128Mi") == 128 * 2**20
    assert to_units("memory", "not-a-quantity") == 0


def test_pod_requests_sum_containers_max_init_and_limits_default() -> None:
    pod = make_pod(cpu="100m", memory="64Mi")
    pod["spec"]["containers"].append({"name": "b", "resources": {"limits": {"cpu": "200m"}}})
    pod["spec"]["initContainers"] = [
        {"name": "init", "resources": {"requests": {"cpu": "500m", "memory": "1Mi"}}}
    ]
    pod["spec"]["overhead"] = {"cpu": "10m"}
    assert pod_requests(pod) == {"cpu": 510, "memory": 64 * 2**20}


def test_sidecar_init_containers_add_up() -> None:
    pod = make_pod(cpu="100m")
    pod["spec"]["initContainers"] = [
        {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
        {"name": "init", "resources": {"requests": {"cpu": "100m"}}},
    ]
    assert pod_requests(pod) == {"cpu": 150}


def test_nonzero_requests_default_for_missing() -> None:
    assert pod_nonzero_requests(make_pod()) == (DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)
    assert pod_nonzero_requests(make_pod(cpu="0", memory="1Mi")) == (0, 2**20)


def test_node_allocatable_falls_back_to_capacity() -> None:
    node = make_node(cpu="2")
    del node["status"]["allocatable"]["memory"]
    assert node_allocatable(node) == {"cpu": 2000, "memory": 16 * 2**30, "pods": 110}


def test_decimal_quantities_do_not_round_up_by_float_error() -> None:
    assert to_units("cpu", "1.1") == 1100
    assert to_units("cpu", "100m") == 100
    assert to_units("cpu", "0.3") == 300
