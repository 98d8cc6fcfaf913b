"""kubectl describe (pod, deployment, node, service, with events), rollout history/status and wait, over objects
and statuses the test writes itself, standing in for the controllers and the kubelet."""

from __future__ import annotations

import uuid

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl, running_status, table

pytestmark = MARKS

T0 = "2026-01-01T00:00:00Z"


def _event(obj: dict, reason: str, message: str, component: str, type_: str = "Normal") -> dict:
    meta = obj["metadata"]
    return {
        "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:10]}"},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta.get("namespace", "default"),
            "uid": meta["uid"],
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": component},
        "firstTimestamp": T0,
        "lastTimestamp": T0,
        "count": 1,
    }


def _fields(text: str) -> dict[str, str]:
    """The top-level `Key:  value` lines of a describe output."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, _, value = line.partition(":")
            fields.setdefault(key, value.strip())
    return fields


def test_describe_pod_with_status_and_events(kubectl: Kubectl, api: Api, ns: str) -> None:
    pods = f"/api/v1/namespaces/{ns}/pods"
    created = api.create(pods, factories.pod("web", {"app": "web"}, nodeName="node-1", image="nginx:1.25"))
    api.merge_patch(f"{pods}/web/status", running_status(ip="10.244.3.4", host_ip="10.0.0.9"))
    api.create(
        f"/api/v1/namespaces/{ns}/events",
        _event(created, "Scheduled", "Assigned to node-1", "default-scheduler"),
    )
    api.create(
        f"/api/v1/namespaces/{ns}/events", _event(created, "Pulled", "Image already present", "kubelet")
    )
    other = api.create(pods, factories.pod("other", image="nginx:1.25"))
    api.create(f"/api/v1/namespaces/{ns}/events", _event(other, "Noise", "not about web", "kubelet"))

    text = kubectl("describe", "pod", "web")
    fields = _fields(text)
    assert fields["Name"] == "web" and fields["Namespace"] == ns
    assert fields["Node"] == "node-1/10.0.0.9"
    assert fields["Status"] == "Running"
    assert fields["IP"] == api.get(f"{pods}/web")["status"]["podIP"] == "10.244.3.4"
    assert fields["Labels"] == "app=web"
    assert "    State:          Running" in text and "    Ready:          True" in text
    assert "    Image:          nginx:1.25" in text
    events = text.split("\nEvents:")[1]
    assert "Scheduled" in events and "default-scheduler" in events and "Assigned to node-1" in events
    assert "Pulled" in events and "Noise" not in events

    listed = table(kubectl("get", "events", "--field-selector", "involvedObject.name=web"))
    assert {r["REASON"] for r in listed} == {"Scheduled", "Pulled"}
    assert {r["OBJECT"] for r in listed} == {"pod/web"}


def _deployment_with_history(api: Api, ns: str) -> dict:
    """A deployment at revision 2 (nginx:1.26) with its two ReplicaSets and a status as the controller writes."""
    base = f"/apis/apps/v1/namespaces/{ns}"
    obj = factories.deployment("web", replicas=3, image="nginx:1.26")
    obj["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "2"}
    dep = api.create(f"{base}/deployments", obj)
    api.create(f"{base}/replicasets", factories.revision_replicaset(dep, 1, "nginx:1.25", 0))
    new = api.create(f"{base}/replicasets", factories.revision_replicaset(dep, 2, "nginx:1.26", 3))
    api.merge_patch(
        f"{base}/replicasets/{new['metadata']['name']}/status",
        {"status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "fullyLabeledReplicas": 3}},
    )
    api.merge_patch(
        f"{base}/deployments/web/status",
        {
            "status": {
                "observedGeneration": dep["metadata"]["generation"],
                "replicas": 3,
                "updatedReplicas": 3,
                "readyReplicas": 3,
                "availableReplicas": 3,
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                        "lastUpdateTime": T0,
                        "lastTransitionTime": T0,
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "NewReplicaSetAvailable",
                        "message": "ReplicaSet has successfully progressed.",
                        "lastUpdateTime": T0,
                        "lastTransitionTime": T0,
                    },
                ],
            }
        },
    )
    api.create(
        f"/api/v1/namespaces/{ns}/events",
        _event(
            dep,
            "ScalingReplicaSet",
            f"Scaled up replica set {new['metadata']['name']} to 3",
            "deployment-controller",
        ),
    )
    return dep


def test_describe_deployment_and_rollout(kubectl: Kubectl, api: Api, ns: str) -> None:
    _deployment_with_history(api, ns)

    text = kubectl("describe", "deployment", "web")
    fields = _fields(text)
    assert fields["Replicas"] == "3 desired | 3 updated | 3 total | 3 available | 0 unavailable"
    assert fields["Selector"] == "app=web"
    assert fields["StrategyType"] == "RollingUpdate"
    assert fields["NewReplicaSet"] == "web-h2abc (3/3 replicas created)"
    assert fields["OldReplicaSets"] == "web-h1abc (0/0 replicas created)"
    assert "  Available      True    MinimumReplicasAvailable" in text
    assert "ScalingReplicaSet" in text.split("\nEvents:")[1]
    assert "    Image:         nginx:1.26" in text

    history = kubectl("rollout", "history", "deploy/web")
    assert [r[0] for r in (line.split() for line in history.splitlines()[2:]) if r] == ["1", "2"]
    rev1 = kubectl("rollout", "history", "deploy/web", "--revision=1")
    assert "with revision #1" in rev1 and "nginx:1.25" in rev1

    status = kubectl("rollout", "status", "deploy/web", "--timeout=10s")
    assert status.strip() == 'deployment "web" successfully rolled out'

    rs = {r["NAME"]: r for r in table(kubectl("get", "rs"))}
    assert (rs["web-h2abc"]["DESIRED"], rs["web-h2abc"]["CURRENT"], rs["web-h2abc"]["READY"]) == (
        "3",
        "3",
        "3",
    )
    stored = api.get(f"/apis/apps/v1/namespaces/{ns}/replicasets/web-h2abc")
    assert stored["metadata"]["ownerReferences"][0]["name"] == "web"


def test_rollout_undo(kubectl: Kubectl, api: Api, ns: str) -> None:
    dep = api.create(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        factories.deployment("web", replicas=1, image="nginx:1.26"),
    )
    for revision, image in ((1, "nginx:1.25"), (2, "nginx:1.26")):
        api.create(
            f"/apis/apps/v1/namespaces/{ns}/replicasets",
            factories.revision_replicaset(dep, revision, image, 1),
        )

    # kubectl sends a JSON patch replacing /spec/template and /metadata/annotations (absent here).
    assert kubectl("rollout", "undo", "deploy/web").strip() == "deployment.apps/web rolled back"
    stored = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "pod-template-hash" not in stored["spec"]["template"]["metadata"]["labels"]


def test_describe_node(kube: Kubectl, api: Api, ns: str) -> None:
    name = f"node-{ns}"
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/worker": ""},
        },
        "spec": {
            "podCIDR": "10.244.7.0/24",
            "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
        },
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": T0,
                    "lastTransitionTime": T0,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": "10.0.0.77"},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "nodeInfo": {
                "machineID": "m",
                "systemUUID": "s",
                "bootID": "b",
                "kernelVersion": "6.1.0",
                "osImage": "Debian GNU/Linux 12",
                "containerRuntimeVersion": "docker://27.0.0",
                "kubeletVersion": "v1.32.0",
                "kubeProxyVersion": "v1.32.0",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }
    api.create("/api/v1/nodes", node)
    try:
        bound = factories.pod("worker", nodeName=name, image="nginx:1.25")
        bound["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m", "memory": "1Gi"}}
        api.create(f"/api/v1/namespaces/{ns}/pods", bound)

        text = kube("describe", "node", name)
        fields = _fields(text)
        assert fields["Roles"] == "worker"
        assert fields["Taints"] == "dedicated=gpu:NoSchedule"
        assert "  InternalIP:  10.0.0.77" in text
        ready = [line.split() for line in text.splitlines() if line.startswith("  Ready ")]
        assert ready and ready[0][:2] == ["Ready", "True"] and "KubeletReady" in ready[0]
        assert "  Kubelet Version:            v1.32.0" in text
        assert fields["Non-terminated Pods"] == "(1 in total)"
        assert f"  {ns}" in text and "worker" in text
        assert "  cpu                500m (12%)" in text

        row = table(kube("get", "node", name, "-o", "wide"))[0]
        stored = api.get(f"/api/v1/nodes/{name}")
        assert (row["STATUS"], row["ROLES"], row["VERSION"]) == (
            "Ready",
            "worker",
            stored["status"]["nodeInfo"]["kubeletVersion"],
        )
        assert row["INTERNAL-IP"] == "10.0.0.77" and row["OS-IMAGE"] == "Debian GNU/Linux 12"
    finally:
        api.delete(f"/api/v1/namespaces/{ns}/pods/worker")
        api.delete(f"/api/v1/nodes/{name}")


def test_describe_service(kubectl: Kubectl, api: Api, ns: str) -> None:
    svc = api.create(
        f"/api/v1/namespaces/{ns}/services",
        factories.service("web", {"app": "web"}, port=80, target_port=8080),
    )
    api.create(f"/api/v1/namespaces/{ns}/events", _event(svc, "Created", "service created", "test"))
    text = kubectl("describe", "svc", "web")
    fields = _fields(text)
    assert fields["Selector"] == "app=web"
    assert fields["Type"] == "ClusterIP"
    assert fields["IP"] == svc["spec"]["clusterIP"]
    assert fields["Port"] == "http  80/TCP"
    assert fields["TargetPort"] == "8080/TCP"
    assert "service created" in text.split("\nEvents:")[1]


def test_wait_for_condition_ready(kubectl: Kubectl, api: Api, ns: str) -> None:
    pods = f"/api/v1/namespaces/{ns}/pods"
    api.create(pods, factories.pod("slow", image="nginx:1.25"))
    waiter = kubectl.start("wait", "--for=condition=Ready", "pod/slow", "--timeout=30s")
    try:
        # kubectl lists, sees no Ready condition and watches; the status arrives afterwards.
        api.merge_patch(f"{pods}/slow/status", running_status())
        line = waiter.wait_line(lambda line: "condition met" in line)
        assert line == "pod/slow condition met"
        assert waiter.proc.wait(10) == 0
    finally:
        waiter.stop()
    ready = [c for c in api.get(f"{pods}/slow")["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "True"

    # already true: immediate; a missing object: an error
    assert (
        kubectl("wait", "--for=condition=Ready", "pod/slow", "--timeout=5s").strip()
        == "pod/slow condition met"
    )
    err = kubectl.fails("wait", "--for=condition=Ready", "pod/absent", "--timeout=2s")
    assert 'pods "absent" not found' in err
