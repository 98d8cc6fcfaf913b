import pytest

from apimachinery.nodeselection import match_requirement, tolerates
from scheduler.filters import (
    node_affinity,
    node_ports,
    node_resources_fit,
    node_unschedulable,
    run_filters,
    taint_toleration,
)
from scheduler.nodeinfo import NodeInfo, PodInfo
from tests.unit.scheduler.factories import make_node, make_pod, required_affinity

AFFINITY = ["node(s) didn't match Pod's node affinity/selector"]


def fits(check, pod: dict, node: dict, pods: list[dict] = ()) -> list[str]:  # type: ignore[assignment]
    return check(PodInfo.of(pod), NodeInfo.build(node, list(pods)))


def test_unschedulable_node_rejected_unless_tolerated() -> None:
    node = make_node(unschedulable=True)
    assert fits(node_unschedulable, make_pod(), node) == ["node(s) were unschedulable"]
    tolerating = make_pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}])
    assert fits(node_unschedulable, tolerating, node) == []
    assert fits(node_unschedulable, make_pod(), make_node()) == []


@pytest.mark.parametrize(
    ("ready", "taint_key"),
    [
        ("False", "node.kubernetes.io/not-ready"),
        (None, "node.kubernetes.io/not-ready"),
        ("Unknown", "node.kubernetes.io/unreachable"),
    ],
)
def test_node_not_ready_reads_as_untolerated_taint(ready: str | None, taint_key: str) -> None:
    node = make_node(ready=ready)
    assert fits(taint_toleration, make_pod(), node) == [f"node(s) had untolerated taint {{{taint_key}: }}"]
    assert (
        fits(taint_toleration, make_pod(tolerations=[{"key": taint_key, "operator": "Exists"}]), node) == []
    )


def test_taints_noschedule_and_noexecute_but_not_prefer() -> None:
    taint = {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
    assert fits(taint_toleration, make_pod(), make_node(taints=[taint])) == [
        "node(s) had untolerated taint {dedicated: infra}"
    ]
    noexec = {"key": "gpu", "effect": "NoExecute"}
    assert fits(taint_toleration, make_pod(), make_node(taints=[noexec])) == [
        "node(s) had untolerated taint {gpu: }"
    ]
    prefer = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}
    assert fits(taint_toleration, make_pod(), make_node(taints=[prefer])) == []
    ok = make_pod(
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}]
    )
    assert fits(taint_toleration, ok, make_node(taints=[taint])) == []


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"operator": "Exists"}, True),  # empty key + Exists tolerates everything
        ({"key": "k", "operator": "Exists"}, True),
        ({"key": "k", "value": "v"}, True),  # operator defaults to Equal
        ({"key": "k", "operator": "Equal", "value": "w"}, False),
        ({"key": "other", "operator": "Exists"}, False),
        ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, True),
        ({"key": "k", "operator": "Bogus"}, False),
    ],
)
def test_toleration_rules(toleration: dict, expected: bool) -> None:
    assert tolerates(toleration, {"key": "k", "value": "v", "effect": "NoSchedule"}) is expected


def test_node_selector() -> None:
    node = make_node(labels={"disk": "ssd"})
    assert fits(node_affinity, make_pod(node_selector={"disk": "ssd"}), node) == []
    assert fits(node_affinity, make_pod(node_selector={"disk": "hdd"}), node) == AFFINITY
    assert fits(node_affinity, make_pod(node_selector={"zone": "a"}), node) == AFFINITY


@pytest.mark.parametrize(
    ("operator", "values", "labels", "expected"),
    [
        ("In", ["a", "b"], {"k": "a"}, True),
        ("In", ["a"], {"k": "c"}, False),
        ("In", ["a"], {}, False),
        ("NotIn", ["a"], {"k": "b"}, True),
        ("NotIn", ["a"], {}, True),
        ("NotIn", ["a"], {"k": "a"}, False),
        ("Exists", [], {"k": ""}, True),
        ("Exists", [], {}, False),
        ("DoesNotExist", [], {}, True),
        ("DoesNotExist", [], {"k": "x"}, False),
        ("Gt", ["5"], {"k": "6"}, True),
        ("Gt", ["5"], {"k": "5"}, False),
        ("Gt", ["5"], {"k": "x"}, False),
        ("Lt", ["5"], {"k": "4"}, True),
        ("Lt", ["5"], {}, False),
    ],
)
def test_requirement_operators(operator: str, values: list[str], labels: dict, expected: bool) -> None:
    assert match_requirement({"key": "k", "operator": operator, "values": values}, labels) is expected


def test_required_affinity_terms_are_ored_expressions_anded() -> None:
    node = make_node("n1", labels={"zone": "a", "cores": "8"})
    both = {
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]},
            {"key": "cores", "operator": "Gt", "values": ["16"]},
        ]
    }
    assert fits(node_affinity, make_pod(affinity=required_affinity(both)), node) == AFFINITY
    other = {"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["16"]}]}
    assert fits(node_affinity, make_pod(affinity=required_affinity(both, other)), node) == []
    assert (
        fits(node_affinity, make_pod(affinity=required_affinity({})), node) == AFFINITY
    )  # empty term: nothing


def test_required_affinity_match_fields_on_name_and_selector_both_apply() -> None:
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    assert fits(node_affinity, make_pod(affinity=required_affinity(by_name)), make_node("n1")) == []
    assert fits(node_affinity, make_pod(affinity=required_affinity(by_name)), make_node("n2")) == AFFINITY
    pod = make_pod(affinity=required_affinity(by_name), node_selector={"disk": "ssd"})
    assert fits(node_affinity, pod, make_node("n1")) == AFFINITY


def test_host_ports() -> None:
    node = make_node()
    used = make_pod("a", host_port=8080, node_name="node-1")
    assert fits(node_ports, make_pod(host_port=8080), node, [used]) == [
        "node(s) didn't have free ports for the requested pod ports"
    ]
    assert fits(node_ports, make_pod(host_port=8081), node, [used]) == []
    assert fits(node_ports, make_pod(host_port=8080, protocol="UDP"), node, [used]) == []
    specific = make_pod("b", host_port=9000, host_ip="10.0.0.1", node_name="node-1")
    assert fits(node_ports, make_pod(host_port=9000, host_ip="10.0.0.2"), node, [specific]) == []
    assert fits(node_ports, make_pod(host_port=9000, host_ip="10.0.0.1"), node, [specific]) != []
    assert fits(node_ports, make_pod(host_port=9000), node, [specific]) != []  # 0.0.0.0 overlaps every IP


def test_resources_count_existing_pods() -> None:
    node = make_node(cpu="1", memory="1Gi", pods="2")
    existing = [make_pod("a", cpu="600m", memory="512Mi", node_name="node-1")]
    assert fits(node_resources_fit, make_pod(cpu="400m", memory="512Mi"), node, existing) == []
    assert fits(node_resources_fit, make_pod(cpu="500m"), node, existing) == ["Insufficient cpu"]
    assert fits(node_resources_fit, make_pod(cpu="2", memory="2Gi"), node, existing) == [
        "Insufficient cpu",
        "Insufficient memory",
    ]
    full = [*existing, make_pod("b", node_name="node-1")]
    assert fits(node_resources_fit, make_pod(), node, full) == ["Too many pods"]


def test_extended_resources() -> None:
    node = make_node()
    pod = make_pod()
    pod["spec"]["containers"][0]["resources"]["limits"] = {"example.com/gpu": "1"}
    assert fits(node_resources_fit, pod, node) == ["Insufficient example.com/gpu"]
    node["status"]["allocatable"]["example.com/gpu"] = "1"
    assert fits(node_resources_fit, pod, node) == []


def test_run_filters_stops_at_first_failure() -> None:
    node = make_node(cpu="1", unschedulable=True, taints=[{"key": "a", "effect": "NoSchedule"}])
    assert run_filters(PodInfo.of(make_pod(cpu="2")), NodeInfo.build(node)) == ["node(s) were unschedulable"]
    assert run_filters(PodInfo.of(make_pod(cpu="1")), NodeInfo.build(make_node(cpu="1"))) == []
