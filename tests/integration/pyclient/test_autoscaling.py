"""HorizontalPodAutoscalers through the official Python client: created with AutoscalingV1Api, read, patched
and watched through AutoscalingV2Api (one stored object, two views), and the scale subresource through
AppsV1Api."""

from __future__ import annotations

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.etcd


def test_hpa_v1_and_v2_and_scale(api_client: client.ApiClient, ns: str) -> None:
    v1, v2, apps = (
        client.AutoscalingV1Api(api_client),
        client.AutoscalingV2Api(api_client),
        client.AppsV1Api(api_client),
    )
    body = client.V1HorizontalPodAutoscaler(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1HorizontalPodAutoscalerSpec(
            scale_target_ref=client.V1CrossVersionObjectReference(
                api_version="apps/v1", kind="Deployment", name="web"
            ),
            max_replicas=4,
            target_cpu_utilization_percentage=60,
        ),
    )
    created = v1.create_namespaced_horizontal_pod_autoscaler(ns, body)
    assert created.spec.min_replicas == 1 and created.spec.target_cpu_utilization_percentage == 60

    got = v2.read_namespaced_horizontal_pod_autoscaler("web", ns)
    [metric] = got.spec.metrics
    assert (metric.resource.name, metric.resource.target.average_utilization) == ("cpu", 60)

    stream = watch.Watch()
    events = stream.stream(v2.list_namespaced_horizontal_pod_autoscaler, ns, resource_version=got.metadata.resource_version,
                           timeout_seconds=10)  # fmt: skip
    v2.patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"maxReplicas": 5}})
    first = next(events)
    stream.stop()
    events.close()  # the generator's finally closes the response (left to the collector, its socket leaked)
    assert first["type"] == "MODIFIED" and first["object"].spec.max_replicas == 5
    assert v1.read_namespaced_horizontal_pod_autoscaler("web", ns).spec.max_replicas == 5

    with pytest.raises(ApiException) as bad:
        v2.patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"minReplicas": 9}})
    assert bad.value.status == 422

    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1")]),
            ),
        ),
    )
    apps.create_namespaced_deployment(ns, deployment)
    scale = apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3 and scale.status.selector == "app=web"
    assert apps.read_namespaced_deployment("web", ns).spec.replicas == 3
