from controller_manager.endpoints_util import compute_subsets, endpoints_changed, endpoints_for
from tests.unit.controller_manager.factories import pod


def service(ports, **spec):
    return {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": ports, **spec},
    }


def test_ready_and_not_ready_addresses_with_target_ref():
    svc = service([{"name": "http", "port": 80, "targetPort": 8080}])
    pods = [pod("a", ip="10.244.0.3"), pod("b", ip="10.244.0.2", ready=False), pod("c", ip=None)]
    subsets = compute_subsets(svc, pods)
    assert subsets == [
        {
            "addresses": [
                {
                    "ip": "10.244.0.3",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"},
                }
            ],
            "notReadyAddresses": [
                {
                    "ip": "10.244.0.2",
                    "nodeName": "n1",
                    "targetRef": {"kind": "Pod", "namespace": "default", "name": "b", "uid": "uid-b"},
                }
            ],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        }
    ]


def test_named_target_port_resolved_per_pod():
    svc = service([{"port": 80, "targetPort": "web"}])
    a = pod("a", ip="10.0.0.1", ports=[{"name": "web", "containerPort": 8080}])
    b = pod("b", ip="10.0.0.2", ports=[{"name": "web", "containerPort": 9090}])
    c = pod("c", ip="10.0.0.3", ports=[{"name": "other", "containerPort": 1}])
    subsets = compute_subsets(svc, [a, b, c])
    assert [(s["addresses"][0]["ip"], s["ports"][0]["port"]) for s in subsets] == [
        ("10.0.0.1", 8080),
        ("10.0.0.2", 9090),
    ]


def test_publish_not_ready_and_terminating():
    svc = service([{"port": 80}], publishNotReadyAddresses=True)
    unready = pod("a", ip="10.0.0.1", ready=False)
    gone = pod("b", ip="10.0.0.2")
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    finished = pod("c", ip="10.0.0.3", phase="Succeeded")
    subsets = compute_subsets(svc, [unready, gone, finished])
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["10.0.0.1"]
    assert subsets[0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_addresses_sorted_numerically_and_change_detection():
    svc = service([{"port": 80}])
    pods = [pod("x", ip="10.0.0.10"), pod("y", ip="10.0.0.9")]
    subsets = compute_subsets(svc, pods)
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["10.0.0.9", "10.0.0.10"]
    ep = endpoints_for(svc, subsets)
    assert ep["metadata"]["name"] == "web"
    assert not endpoints_changed(ep, endpoints_for(svc, compute_subsets(svc, list(reversed(pods)))))
    assert endpoints_changed(ep, endpoints_for(svc, []))
