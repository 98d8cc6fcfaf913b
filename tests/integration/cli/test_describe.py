"""describe: kubectl's layout for pods, deployments, replica sets, services, endpoints, nodes and namespaces,
with their events."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(api, ns: str, obj: dict, reason: str, message: str, component: str, count: int = 1, last=None):
    """An event first seen two minutes before it was `last` seen (5 s ago when not given)."""
    last = last or datetime.now(UTC) - timedelta(seconds=5)
    meta = obj["metadata"]
    api.post(
        f"/api/v1/namespaces/{ns}/events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{reason.lower()}"},
            "involvedObject": {
                "kind": obj["kind"],
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta["uid"],
                "apiVersion": obj["apiVersion"],
            },
            "reason": reason,
            "message": message,
            "type": "Normal",
            "source": {"component": component},
            "count": count,
            "firstTimestamp": ts(last - timedelta(seconds=120)),
            "lastTimestamp": ts(last),
        },
    )


def test_describe_pod_with_events(kctl, api, ns):
    pod = api.post(
        f"/api/v1/namespaces/{ns}/pods", factories.pod("dp", {"app": "dp"}, image="busybox", container="main")
    )
    api.write_status(
        f"/api/v1/namespaces/{ns}/pods/dp",
        {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "image": "busybox",
                    "imageID": "docker://sha256:abc",
                    "containerID": "docker://123",
                    "state": {"running": {"startedAt": "2026-01-02T03:04:05Z"}},
                }
            ],
        },
    )
    # Events are listed by when they were last seen: from one `now`, so that the order does not depend on whether
    # the two writes fall in the same second.
    now = datetime.now(UTC)
    scheduled, pulled = now - timedelta(seconds=4), now - timedelta(seconds=5)
    event(
        api,
        ns,
        pod,
        "Scheduled",
        f"Successfully assigned {ns}/dp to node-1",
        "default-scheduler",
        last=scheduled,
    )
    event(api, ns, pod, "Pulled", "Container image already present", "kubelet", count=3, last=pulled)
    r = kctl("describe", "pod", "dp")
    assert r.code == 0, r
    out = r.out
    assert re.search(r"^Name:             dp$", out, re.M), out
    assert re.search(rf"^Namespace:        {ns}$", out, re.M)
    assert re.search(r"^Status:           Running$", out, re.M)
    assert "IPs:\n  IP:  10.244.1.5\n" in out
    assert "Containers:\n  main:\n    Container ID:   docker://123\n    Image:          busybox\n" in out
    assert "    State:          Running\n      Started:      Fri, 02 Jan 2026 03:04:05 +0000\n" in out
    # Tabwriter blocks run on while lines have cells: Conditions aligns with Volumes, QoS Class... as in kubectl.
    assert re.search(r"^Conditions:\n  Type +Status\n  Ready +True \n", out, re.M), out
    events = out[out.index("Events:") :].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[2].split() == ["----", "------", "----", "----", "-------"]
    assert (
        re.match(
            r"  Normal  Pulled     5s \(x3 over 2m5s\)  kubelet            Container image already present",
            events[3],
        )
        or "x3 over" in events[3]
    ), events
    assert "default-scheduler" in events[4] and f"Successfully assigned {ns}/dp to node-1" in events[4]


def test_describe_deployment_and_replicaset(kctl, api, ns):
    d = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        factories.deployment("dd", replicas=2, container="web", ports=[80]),
    )
    tmpl = d["spec"]["template"]
    rs = api.post(
        f"/apis/apps/v1/namespaces/{ns}/replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "dd-abc",
                "labels": {"app": "dd", "pod-template-hash": "abc"},
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "dd",
                        "uid": d["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "dd", "pod-template-hash": "abc"}},
                "template": {**tmpl, "metadata": {"labels": {"app": "dd", "pod-template-hash": "abc"}}},
            },
        },
    )
    api.write_status(f"/apis/apps/v1/namespaces/{ns}/replicasets/dd-abc", {"replicas": 2})
    event(api, ns, d, "ScalingReplicaSet", "Scaled up replica set dd-abc to 2", "deployment-controller")
    out = kctl("describe", "deploy", "dd").out
    assert re.search(r"^Selector:               app=dd$", out, re.M), out
    assert "Replicas:               2 desired | 0 updated | 0 total | 0 available | 0 unavailable" in out
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in out
    assert "Pod Template:\n  Labels:  app=dd\n  Containers:\n   web:\n    Image:         nginx:1.25\n" in out
    assert re.search(r"^NewReplicaSet: +dd-abc \(2/2 replicas created\)$", out, re.M), out
    assert "Scaled up replica set dd-abc to 2" in out

    out = kctl("describe", "rs/dd-abc").out
    assert "Controlled By:  Deployment/dd" in out
    assert "Replicas:       2 current / 2 desired" in out
    assert "Pods Status:    0 Running / 0 Waiting / 0 Succeeded / 0 Failed" in out
    assert rs["metadata"]["name"] == "dd-abc"


def test_describe_service_endpoints_namespace(kctl, api, ns):
    api.post(
        f"/api/v1/namespaces/{ns}/services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ds"},
            "spec": {"selector": {"app": "ds"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    api.post(
        f"/api/v1/namespaces/{ns}/endpoints",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "ds"},
            "subsets": [
                {"addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.0.6"}], "ports": [{"port": 8080}]}
            ],
        },
    )
    # kubectl describe (1.32) shows a Service's endpoints from its EndpointSlices: no slice yet, "<none>".
    out = kctl("describe", "svc", "ds").out
    assert re.search(r"^Endpoints:\s+<none>$", out, re.M), out
    api.post(
        f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "ds-1", "labels": {"kubernetes.io/service-name": "ds"}},
            "addressType": "IPv4",
            "ports": [{"port": 8080}],
            "endpoints": [
                {"addresses": ["10.244.0.5"], "conditions": {"ready": True}},
                {"addresses": ["10.244.0.6"]},
                {"addresses": ["10.244.0.7"], "conditions": {"ready": False}},
            ],
        },
    )
    out = kctl("describe", "svc", "ds").out
    assert re.search(r"^Selector:\s+app=ds$", out, re.M), out
    assert re.search(r"^Type:\s+ClusterIP$", out, re.M)
    assert re.search(r"^Port:\s+<unset>  80/TCP$", out, re.M), out
    assert re.search(r"^TargetPort:\s+8080/TCP$", out, re.M)
    assert re.search(r"^Endpoints:\s+10.244.0.5:8080,10.244.0.6:8080$", out, re.M), out

    out = kctl("describe", "endpoints", "ds").out
    assert "  Addresses:          10.244.0.5,10.244.0.6\n  NotReadyAddresses:  <none>\n" in out, out

    out = kctl("describe", "namespace", ns).out
    assert out.startswith(f"Name:         {ns}\n")
    assert "Status:       Active" in out


def test_describe_node(kctl, api, ns):
    api.post(
        "/api/v1/nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"{ns}-node", "labels": {"node-role.kubernetes.io/worker": ""}},
            "spec": {"podCIDR": "10.244.9.0/24"},
        },
    )
    out = kctl("describe", "node", f"{ns}-node").out
    assert re.search(r"^Roles:\s+worker$", out, re.M), out
    assert re.search(r"^Unschedulable:\s+false$", out, re.M)
    assert "PodCIDR:" in out and "10.244.9.0/24" in out
    api.http.delete(f"/api/v1/nodes/{ns}-node")


def test_describe_by_prefix_and_missing(kctl, ns):
    r = kctl("describe", "pods", "d")  # kubectl matches name prefixes when there is no exact name
    assert r.out.startswith("Name:             dp\n")
    r = kctl("describe", "pod", "zz")
    assert r.code == 1 and r.err.strip() == 'Error from server (NotFound): pods "zz" not found'
