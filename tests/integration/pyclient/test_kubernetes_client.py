"""The official `kubernetes` Python client against kubelite: typed CRUD, selectors, watch (resume and 410), the
scale subresource, discovery APIs, the dynamic client, JSON patch and server-side apply."""

from __future__ import annotations

import uuid

import httpx
import pytest
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from tests.integration.pyclient.helpers import WATCH_CACHE_SIZE

pytestmark = pytest.mark.etcd


def _pod(name: str, labels: dict[str, str] | None = None) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="busybox:1.36")]),
    )


def _deployment(name: str, replicas: int = 1) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="nginx:1.25")]),
            ),
        ),
    )


def test_typed_pod_crud(core: client.CoreV1Api, http: httpx.Client, ns: str) -> None:
    created = core.create_namespaced_pod(ns, _pod("a", {"app": "web"}))
    assert isinstance(created, client.V1Pod)
    assert created.metadata.namespace == ns and created.metadata.uid
    assert created.metadata.creation_timestamp is not None  # RFC3339 parsed into a datetime

    read = core.read_namespaced_pod("a", ns)
    assert read.metadata.uid == created.metadata.uid
    assert read.status.phase == "Pending"

    read.metadata.labels["tier"] = "fe"
    replaced = core.replace_namespaced_pod("a", ns, read)
    assert replaced.metadata.labels == {"app": "web", "tier": "fe"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    assert http.get(f"/api/v1/namespaces/{ns}/pods/a").json()["metadata"]["labels"] == {
        "app": "web",
        "tier": "fe",
    }

    # A replace carrying the old resourceVersion is a conflict.
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_pod("a", ns, created)
    assert stale.value.status == 409

    with pytest.raises(ApiException) as dup:
        core.create_namespaced_pod(ns, _pod("a"))
    assert dup.value.status == 409 and "AlreadyExists" in dup.value.body

    deleted = core.delete_namespaced_pod("a", ns)
    assert isinstance(deleted, client.V1Pod) and deleted.metadata.name == "a"
    assert http.get(f"/api/v1/namespaces/{ns}/pods/a").status_code == 404
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("a", ns)
    assert missing.value.status == 404


def test_list_with_selectors(core: client.CoreV1Api, ns: str) -> None:
    for name, labels in {
        "w1": {"app": "web"},
        "w2": {"app": "web", "env": ns},
        "d1": {"app": "db"},
    }.items():
        core.create_namespaced_pod(ns, _pod(name, labels))

    def names(**kwargs: str) -> list[str]:
        result = core.list_namespaced_pod(ns, **kwargs)
        assert isinstance(result, client.V1PodList) and result.metadata.resource_version
        return sorted(p.metadata.name for p in result.items)

    assert names() == ["d1", "w1", "w2"]
    assert names(label_selector="app=web") == ["w1", "w2"]
    assert names(label_selector="app in (web,db),!env") == ["d1", "w1"]
    assert names(field_selector="metadata.name=d1") == ["d1"]
    assert names(label_selector="app=nothing") == []

    everywhere = core.list_pod_for_all_namespaces(label_selector=f"env={ns}")
    assert [(p.metadata.namespace, p.metadata.name) for p in everywhere.items] == [(ns, "w2")]


def test_watch_resume_from_resource_version(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, _pod("one"))
    core.create_namespaced_pod(ns, _pod("two"))

    seen = [
        (ev["type"], ev["object"].metadata.name, ev["object"].metadata.resource_version)
        for ev in watch.Watch().stream(core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=1)
    ]
    assert [(t, n) for t, n, _ in seen] == [("ADDED", "one"), ("ADDED", "two")]
    assert isinstance(seen[0][2], str)

    # Resume from the last event seen: only what happened afterwards arrives.
    last = seen[-1][2]
    core.patch_namespaced_pod("one", ns, {"metadata": {"labels": {"x": "1"}}})
    core.delete_namespaced_pod("two", ns)
    later = [
        (ev["type"], ev["object"].metadata.name)
        for ev in watch.Watch().stream(core.list_namespaced_pod, ns, resource_version=last, timeout_seconds=1)
    ]
    assert later == [("MODIFIED", "one"), ("DELETED", "two")]

    # Without a resourceVersion: synthetic ADDED events for what exists, with a label selector applied.
    current = [
        (ev["type"], ev["object"].metadata.name)
        for ev in watch.Watch().stream(core.list_namespaced_pod, ns, label_selector="x=1", timeout_seconds=1)
    ]
    assert current == [("ADDED", "one")]


def test_watch_too_old_resource_version_is_410(core: client.CoreV1Api, ns: str) -> None:
    first = core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm-0"))
    )
    old = first.metadata.resource_version
    # Overflow the configmaps watch cache so that `old` is no longer replayable.
    for i in range(1, WATCH_CACHE_SIZE + 3):
        core.create_namespaced_config_map(
            ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm-{i}"))
        )

    with pytest.raises(ApiException) as gone:
        for _ in watch.Watch().stream(
            core.list_namespaced_config_map, ns, resource_version=old, timeout_seconds=2
        ):
            pass
    assert gone.value.status == 410
    assert "too old resource version" in str(gone.value)


def test_deployment_scale_subresource(apps: client.AppsV1Api, http: httpx.Client, ns: str) -> None:
    created = apps.create_namespaced_deployment(ns, _deployment("web", replicas=1))
    assert isinstance(created, client.V1Deployment) and created.metadata.generation == 1

    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert isinstance(scale, client.V1Scale)
    assert scale.spec.replicas == 3 and isinstance(scale.status.replicas, int)
    assert scale.status.selector == "app=web"
    stored = http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()
    assert stored["spec"]["replicas"] == 3 and stored["metadata"]["generation"] == 2

    current = apps.read_namespaced_deployment_scale("web", ns)
    current.spec.replicas = 5
    replaced = apps.replace_namespaced_deployment_scale("web", ns, current)
    assert replaced.spec.replicas == 5
    assert http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web").json()["spec"]["replicas"] == 5

    # The Scale's resourceVersion is a precondition on PUT.
    with pytest.raises(ApiException) as stale:
        apps.replace_namespaced_deployment_scale("web", ns, current)
    assert stale.value.status == 409


def test_patch_types(apps: client.AppsV1Api, core: client.CoreV1Api, http: httpx.Client, ns: str) -> None:
    apps.create_namespaced_deployment(ns, _deployment("web"))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"

    # A dict body is a strategic merge patch: containers merge by name.
    sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox:1.36"}]}}}}
    patched = apps.patch_namespaced_deployment("web", ns, sidecar)
    assert sorted(c.name for c in patched.spec.template.spec.containers) == ["app", "side"]

    # A list body is a JSON patch.
    patched = apps.patch_namespaced_deployment(
        "web",
        ns,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}},
        ],
    )
    assert patched.spec.replicas == 4 and patched.metadata.labels == {"a": "b"}
    assert http.get(path).json()["spec"]["replicas"] == 4

    # An explicit merge patch replaces lists.
    apps.patch_namespaced_deployment("web", ns, sidecar, _content_type="application/merge-patch+json")
    assert [c["name"] for c in http.get(path).json()["spec"]["template"]["spec"]["containers"]] == ["side"]

    # Server-side apply creates what is absent and merges what exists.
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    applied = core.patch_namespaced_config_map(
        "ssa", ns, body, field_manager="pytest", _content_type="application/apply-patch+yaml"
    )
    assert applied.data == {"a": "1"}
    body["data"] = {"a": "2"}
    applied = core.patch_namespaced_config_map(
        "ssa", ns, body, field_manager="pytest", _content_type="application/apply-patch+yaml"
    )
    assert applied.data == {"a": "2"}
    assert http.get(f"/api/v1/namespaces/{ns}/configmaps/ssa").json()["data"] == {"a": "2"}

    deleted = apps.delete_namespaced_deployment("web", ns)
    assert (deleted["status"] if isinstance(deleted, dict) else deleted.status) == "Success"
    assert http.get(path).status_code == 404


def test_discovery_apis(api_client: client.ApiClient) -> None:
    version = client.VersionApi(api_client).get_code()
    assert (version.major, version.minor) == ("1", "32")

    core_versions = client.CoreApi(api_client).get_api_versions()
    assert core_versions.versions == ["v1"] and core_versions.server_address_by_client_cidrs

    groups = {g.name: g for g in client.ApisApi(api_client).get_api_versions().groups}
    assert groups["apps"].preferred_version.group_version == "apps/v1"
    assert "coordination.k8s.io" in groups

    resources = client.CoreV1Api(api_client).get_api_resources()
    pods = next(r for r in resources.resources if r.name == "pods")
    assert pods.kind == "Pod" and pods.namespaced and "watch" in pods.verbs and pods.short_names == ["po"]
    apps_resources = {r.name for r in client.AppsV1Api(api_client).get_api_resources().resources}
    assert {"deployments", "deployments/scale", "replicasets"} <= apps_resources


def test_dynamic_client(api_client: client.ApiClient, http: httpx.Client, ns: str) -> None:
    dyn = dynamic.DynamicClient(api_client)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.name == "deployments" and deployments.namespaced

    name = "dyn-" + uuid.uuid4().hex[:6]
    manifest = client.ApiClient().sanitize_for_serialization(_deployment(name, replicas=2))
    manifest.update(apiVersion="apps/v1", kind="Deployment")
    created = deployments.create(body=manifest, namespace=ns)
    assert created.metadata.name == name and created.spec.replicas == 2

    listed = deployments.get(namespace=ns)
    assert [d.metadata.name for d in listed.items] == [name]
    got = deployments.get(name=name, namespace=ns)
    assert (
        got.metadata.uid
        == http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").json()["metadata"]["uid"]
    )

    patched = deployments.patch(
        name=name, namespace=ns, body={"spec": {"replicas": 3}}, content_type="application/merge-patch+json"
    )
    assert patched.spec.replicas == 3

    pods = dyn.resources.get(api_version="v1", kind="Pod")
    pods.create(
        body={
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "dp"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
        },
        namespace=ns,
    )
    assert [p.metadata.name for p in pods.get(namespace=ns, label_selector="").items] == ["dp"]
    deployments.delete(name=name, namespace=ns)
    assert http.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").status_code == 404


def test_status_heavy_objects_deserialize(
    core: client.CoreV1Api, apps: client.AppsV1Api, http: httpx.Client, ns: str
) -> None:
    """Statuses as the kubelet and controllers write them satisfy the client's required model fields."""
    core.create_namespaced_pod(ns, _pod("st"))
    now = "2026-01-01T00:00:00Z"
    pod_status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
        "containerStatuses": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "imageID": "docker://sha256:1",
                "ready": True,
                "restartCount": 2,
                "state": {"running": {"startedAt": now}},
            }
        ],
    }
    r = http.patch(
        f"/api/v1/namespaces/{ns}/pods/st/status",
        json={"status": pod_status},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    pod = core.read_namespaced_pod_status("st", ns)
    assert pod.status.container_statuses[0].restart_count == 2
    assert pod.status.container_statuses[0].state.running.started_at.year == 2026

    apps.create_namespaced_deployment(ns, _deployment("st"))
    condition = {"type": "Available", "status": "True", "lastUpdateTime": now, "lastTransitionTime": now}
    r = http.patch(
        f"/apis/apps/v1/namespaces/{ns}/deployments/st/status",
        json={"status": {"replicas": 1, "availableReplicas": 1, "conditions": [condition]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    dep = apps.read_namespaced_deployment_status("st", ns)
    assert dep.status.conditions[0].type == "Available" and dep.status.available_replicas == 1

    event = core.create_namespaced_event(
        ns,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="st.1"),
            involved_object=client.V1ObjectReference(kind="Pod", name="st", namespace=ns),
            reason="Started",
            message="started",
            type="Normal",
            count=1,
        ),
    )
    assert event.involved_object.name == "st"
    listed = core.list_namespaced_event(ns, field_selector="involvedObject.name=st")
    assert [e.reason for e in listed.items] == ["Started"]

    name = f"node-{ns}"
    info = dict.fromkeys(
        ["machineID", "systemUUID", "bootID", "kernelVersion", "osImage", "containerRuntimeVersion",
         "kubeletVersion", "kubeProxyVersion", "operatingSystem", "architecture"],
        "x",
    )  # fmt: skip
    http.post("/api/v1/nodes", json={"metadata": {"name": name}, "status": {"nodeInfo": info}})
    try:
        node = core.read_node(name)
        assert node.status.node_info.kubelet_version == "x"
    finally:
        http.delete(f"/api/v1/nodes/{name}")
