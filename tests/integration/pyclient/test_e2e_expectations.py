"""What the official Python client's own end-to-end suite (kubernetes-client/python, kubernetes/e2e_test) expects of a
server, where it concerns Status bodies, DELETE answers and server-side apply, checked against kubelite with the
same client calls (our own tests; the suite itself is not copied):

* test_utils.py compares `str(FailToCreateError)` with kube-apiserver's exact AlreadyExists bytes, newline included;
* test_client.py deletes a Service with `delete_namespaced_service`, which the client types as V1Service;
* test_utils.py creates a Deployment, then applies the same manifest server-side as "python-client";
* test_watch.py deletes a collection of ConfigMaps and expects the list empty afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client, utils

from tests import factories

pytestmark = pytest.mark.etcd


def _deployment(name: str, ns: str) -> dict[str, Any]:
    return factories.deployment(name, 3, "nginx:1.15.4", "nginx", [80], namespace=ns)


def test_fail_to_create_error_carries_kube_apiservers_bytes(api_client: client.ApiClient, ns: str) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mock-2", "namespace": ns},
        "spec": {"ports": [{"port": 99}]},
    }
    utils.create_from_dict(api_client, service)
    with pytest.raises(utils.FailToCreateError) as caught:
        utils.create_from_dict(api_client, service)
    assert str(caught.value) == (
        'Error from server (Conflict): {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"services \\"mock-2\\" already exists","reason":"AlreadyExists","details":{"name":"mock-2",'
        '"kind":"services"},"code":409}\n'
    )
    dep = _deployment("triple-nginx", ns)
    utils.create_from_dict(api_client, dep)
    with pytest.raises(utils.FailToCreateError) as caught:
        utils.create_from_dict(api_client, dep)
    assert str(caught.value) == (
        'Error from server (Conflict): {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
        '"message":"deployments.apps \\"triple-nginx\\" already exists","reason":"AlreadyExists",'
        '"details":{"name":"triple-nginx","group":"apps","kind":"deployments"},"code":409}\n'
    )


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
