"""What the official Python client's own end-to-end suite (kubernetes-client/python, kubernetes/e2e_test) expects of a
server, where it concerns Status bodies, DELETE answers and server-side apply, checked against kubelite with the
same client calls (our own tests; the suite itself is not copied):

* test_utils.py compares `str(FailToCreateError)` with kube-apiserver's exact AlreadyExists bytes, newline included;
* test_client.py deletes a Service with `delete_namespaced_service`, which the client types as V1Service;
* test_utils.py creates a Deployment, then applies the same manifest server-side as "python-client";
* test_watch.py deletes a collection of ConfigMaps and expects the list empty afterwards;
* test_utils.py creates an APIService twice and compares the AlreadyExists bytes (its metrics test,
  test_metrics_utilities_integration, needs a kubelet and Docker: tests/e2e/metrics/test_top.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, utils

from tests import factories

pytestmark = pytest.mark.etcd


def _deployment(name: str, ns: str) -> dict[str, Any]:
    return factories.deployment(name, 3, "nginx:1.15.4", "nginx", [80], namespace=ns)


def _already_exists(api_client: client.ApiClient, obj: dict[str, Any]) -> str:
    """`str()` of the FailToCreateError the client raises when `obj` is created a second time."""
    with pytest.raises(utils.FailToCreateError) as caught:
        utils.create_from_dict(api_client, obj)
    return str(caught.value)


_CONFLICT = (
    'Error from server (Conflict): {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
)


def test_fail_to_create_error_carries_kube_apiservers_bytes(api_client: client.ApiClient, ns: str) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mock-2", "namespace": ns},
        "spec": {"ports": [{"port": 99}]},
    }
    utils.create_from_dict(api_client, service)
    assert _already_exists(api_client, service) == _CONFLICT + (
        '"message":"services \\"mock-2\\" already exists","reason":"AlreadyExists","details":{"name":"mock-2",'
        '"kind":"services"},"code":409}\n'
    )
    dep = _deployment("triple-nginx", ns)
    utils.create_from_dict(api_client, dep)
    assert _already_exists(api_client, dep) == _CONFLICT + (
        '"message":"deployments.apps \\"triple-nginx\\" already exists","reason":"AlreadyExists",'
        '"details":{"name":"triple-nginx","group":"apps","kind":"deployments"},"code":409}\n'
    )


def test_apiservice_create_conflict_and_read(api_client: client.ApiClient) -> None:
    """test_create_apiservice_from_yaml_with_conflict, with its api-service.yaml in apiregistration.k8s.io/v1 (the
    file still says v1beta1, which Kubernetes stopped serving in 1.22): created, read back, then refused with
    kube-apiserver's AlreadyExists bytes."""
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1alpha1.wardle.k8s.io"},
        "spec": {"insecureSkipTLSVerify": True, "group": "wardle.k8s.io", "groupPriorityMinimum": 1000,
                 "versionPriority": 15, "service": {"name": "api", "namespace": "wardle"}, "version": "v1alpha1"},
    }  # fmt: skip
    utils.create_from_dict(api_client, api_service)
    reg_api = client.ApiregistrationV1Api(api_client)
    try:
        svc = reg_api.read_api_service(name="v1alpha1.wardle.k8s.io")
        assert (svc.metadata.name, svc.spec.group, svc.spec.version) == (
            "v1alpha1.wardle.k8s.io",
            "wardle.k8s.io",
            "v1alpha1",
        )
        assert _already_exists(api_client, api_service) == _CONFLICT + (
            '"message":"apiservices.apiregistration.k8s.io \\"v1alpha1.wardle.k8s.io\\" already exists",'
            '"reason":"AlreadyExists","details":{"name":"v1alpha1.wardle.k8s.io","group":"apiregistration.k8s.io",'
            '"kind":"apiservices"},"code":409}\n'
        )
    finally:
        reg_api.delete_api_service(name="v1alpha1.wardle.k8s.io", body={})


def test_deletes_answer_as_the_client_types_them(api_client: client.ApiClient, ns: str) -> None:
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    core.create_namespaced_service(ns, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    deleted = core.delete_namespaced_service("svc", ns, body={})
    assert isinstance(deleted, client.V1Service) and deleted.metadata.name == "svc"
    core.create_namespaced_pod(
        ns, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    assert isinstance(core.delete_namespaced_pod("p", ns, body={}), client.V1Pod)
    apps.create_namespaced_deployment(ns, _deployment("web", ns))
    status = apps.delete_namespaced_deployment("web", ns, body=client.V1DeleteOptions())
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "web" and status["details"]["kind"] == "deployments"


def test_apply_after_create_is_idempotent(api_client: client.ApiClient, ns: str) -> None:
    dep = _deployment("nginx-app", ns)
    utils.create_from_dict(api_client, dep, namespace=ns)
    # The same values applied: co-ownership, no conflict.
    utils.create_from_dict(api_client, dep, namespace=ns, apply=True)
    live = client.AppsV1Api(api_client).read_namespaced_deployment("nginx-app", ns)
    assert live.spec.replicas == 3 and live.spec.template.spec.containers[0].image == "nginx:1.15.4"
    managers = {(m.manager, m.operation) for m in live.metadata.managed_fields}
    assert managers == {("python-client", "Apply"), ("OpenAPI-Generator", "Update")}


def test_delete_collection_then_list_is_empty(api_client: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api_client)
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": {"e2e": "true"}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="e2e=true")
    assert core.list_namespaced_config_map(ns, label_selector="e2e=true").items == []
