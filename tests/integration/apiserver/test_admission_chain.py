"""One admission chain for every kind (apiserver/plugins.py): #15's PodSecurity sees the pod templates of every
workload kind on create and on update (the registry's one read -> admit -> compare-and-swap path), its warnings
come back as Warning headers, and DenyServiceExternalIPs refuses through the same chain, for the admin too."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.etcd

TEMPLATE = {
    "metadata": {"labels": {"app": "w"}},
    "spec": {
        "hostNetwork": True,
        "restartPolicy": "Always",
        "containers": [{"name": "c", "image": "busybox:1"}],
    },
}
SELECTOR = {"matchLabels": {"app": "w"}}
ONCE = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}
WORKLOADS: dict[str, tuple[str, dict[str, Any]]] = {
    "deployments": ("apis/apps/v1", {"selector": SELECTOR, "template": TEMPLATE}),
    "replicasets": ("apis/apps/v1", {"selector": SELECTOR, "template": TEMPLATE}),
    "daemonsets": ("apis/apps/v1", {"selector": SELECTOR, "template": TEMPLATE}),
    "statefulsets": ("apis/apps/v1", {"selector": SELECTOR, "serviceName": "w", "template": TEMPLATE}),
    "replicationcontrollers": ("api/v1", {"selector": {"app": "w"}, "template": TEMPLATE}),
    "jobs": ("apis/batch/v1", {"template": ONCE}),
    "cronjobs": ("apis/batch/v1", {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": ONCE}}}),
}
KINDS = {
    "deployments": "Deployment",
    "replicasets": "ReplicaSet",
    "daemonsets": "DaemonSet",
    "statefulsets": "StatefulSet",
    "replicationcontrollers": "ReplicationController",
    "jobs": "Job",
    "cronjobs": "CronJob",
}
HEADER = r'299 - "would violate PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true)"'


@pytest.fixture
def warned_ns(api: httpx.Client) -> str:
    """A namespace that enforces privileged and warns at baseline."""
    name = "adm-" + uuid.uuid4().hex[:8]
    labels = {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "baseline",
    }
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}})
    assert r.status_code == 201, r.text
    return name


def _warnings(r: httpx.Response) -> list[str]:
    return r.headers.get_list("warning")


@pytest.mark.parametrize("resource", list(WORKLOADS))
def test_pod_templates_of_every_workload_kind_are_admitted(
    api: httpx.Client, warned_ns: str, resource: str
) -> None:
    prefix, spec = WORKLOADS[resource]
    version = prefix.rpartition("/")[2] if prefix.startswith("apis/") else "v1"
    group = prefix.split("/")[1] if prefix.startswith("apis/") else ""
    body = {
        "apiVersion": f"{group}/{version}" if group else "v1",
        "kind": KINDS[resource],
        "metadata": {"name": "w"},
        "spec": copy.deepcopy(spec),
    }
    path = f"/{prefix}/namespaces/{warned_ns}/{resource}"
    created = api.post(path, json=body)
    assert created.status_code == 201, created.text
    assert _warnings(created) == [HEADER]
    # An update goes through the same chain (read -> admit -> compare-and-swap): warned again.
    current = created.json()
    current["metadata"].setdefault("labels", {})["touched"] = "yes"
    updated = api.put(f"{path}/w", json=current)
    assert updated.status_code == 200, updated.text
    assert _warnings(updated) == [HEADER]
    # A write that does not involve a pod template (the status subresource) is not checked at all.
    status = api.get(f"{path}/w/status")
    assert status.status_code == 200, status.text
    assert _warnings(api.put(f"{path}/w/status", json=status.json())) == []


def test_a_pod_is_refused_by_enforce_and_the_refusal_is_kube_apiservers(api: httpx.Client) -> None:
    name = "adm-" + uuid.uuid4().hex[:8]
    labels = {"pod-security.kubernetes.io/enforce": "baseline"}
    assert (
        api.post("/api/v1/namespaces", json={"metadata": {"name": name, "labels": labels}}).status_code == 201
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": copy.deepcopy(TEMPLATE["spec"]),
    }
    r = api.post(f"/api/v1/namespaces/{name}/pods", json=pod)
    assert r.status_code == 403, r.text
    assert r.json()["message"] == (
        'pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)'
    )


def test_external_ips_are_refused_for_the_admin_too(api: httpx.Client, ns: str) -> None:
    svc = {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}], "externalIPs": ["192.0.2.7"]}}
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=svc)
    assert r.status_code == 403, r.text
    assert (
        r.json()["message"] == 'services "s" is forbidden: Use of external IPs is denied by admission control'
    )
