"""The official `kubernetes` Python client on the workload kinds, as its own e2e suite uses them (test_batch's
job APIs, test_client's replication controller APIs, create_from_yaml with apps kinds), with the controllers
running so that every status the client reads back is one a controller wrote (its required fields present)."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client, utils
from kubernetes.client.rest import ApiException

from tests.factories import manifest
from tests.polling import eventually

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(90)]


def name() -> str:
    return "py-" + uuid.uuid4().hex[:6]


async def test_job_and_cronjob_apis(api_client, namespace, manager):
    batch = client.BatchV1Api(api_client)
    job_name = name()
    sleeper = {"image": "busybox", "name": job_name, "command": ["sh", "-c", "sleep 5"]}
    template = {"metadata": {"name": job_name}, "spec": {"containers": [sleeper], "restartPolicy": "Never"}}
    job = manifest("batch/v1", "Job", job_name, spec={"template": template})
    resp = batch.create_namespaced_job(body=job, namespace=namespace)
    assert resp.metadata.name == job_name and resp.spec.selector.match_labels

    async def active():
        status = batch.read_namespaced_job_status(job_name, namespace).status
        return status is not None and status.active == 1

    await eventually(active, what="status.active = 1")
    assert [j.metadata.name for j in batch.list_namespaced_job(namespace).items] == [job_name]
    batch.delete_namespaced_job(name=job_name, body={}, namespace=namespace)
    cron_name = name()
    cronjob = client.V1CronJob(
        metadata=client.V1ObjectMeta(name=cron_name),
        spec=client.V1CronJobSpec(
            schedule="*/5 * * * *",
            job_template=client.V1JobTemplateSpec(
                spec=client.V1JobSpec(
                    template=client.V1PodTemplateSpec(
                        spec=client.V1PodSpec(
                            containers=[client.V1Container(name="c", image="busybox")],
                            restart_policy="OnFailure",
                        )
                    )
                )
            ),
        ),
    )
    created = batch.create_namespaced_cron_job(namespace, cronjob)
    assert created.spec.concurrency_policy == "Allow" and created.spec.successful_jobs_history_limit == 3
    patched = batch.patch_namespaced_cron_job(cron_name, namespace, {"spec": {"suspend": True}})
    assert patched.spec.suspend is True
    with pytest.raises(ApiException) as caught:
        batch.patch_namespaced_cron_job(cron_name, namespace, {"spec": {"schedule": "not a schedule"}})
    assert caught.value.status == 422
    batch.delete_namespaced_cron_job(cron_name, namespace)


async def test_replication_controller_apis(api_client, namespace, manager):
    core = client.CoreV1Api(api_client)
    rc_name = name()
    nginx = {"image": "nginx", "name": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}
    template = {"metadata": {"labels": {"name": rc_name}}, "spec": {"containers": [nginx]}}
    spec = {"replicas": 2, "selector": {"name": rc_name}, "template": template}
    rc = manifest("v1", "ReplicationController", rc_name, labels={"name": rc_name}, spec=spec)
    resp = core.create_namespaced_replication_controller(body=rc, namespace=namespace)
    assert resp.metadata.name == rc_name and resp.spec.replicas == 2

    async def counted():
        status = core.read_namespaced_replication_controller(rc_name, namespace).status
        return status is not None and status.replicas == 2

    await eventually(counted, what="status.replicas = 2")
    scale = core.patch_namespaced_replication_controller_scale(rc_name, namespace, {"spec": {"replicas": 1}})
    assert scale.spec.replicas == 1
    core.delete_namespaced_replication_controller(name=rc_name, namespace=namespace, body={})


async def test_create_from_yaml_apps_kinds(api_client, namespace, manager):
    apps = client.AppsV1Api(api_client)
    ds_name, sts_name = name(), name()
    docs = [
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": ds_name},
            "spec": {
                "selector": {"matchLabels": {"app": ds_name}},
                "template": {
                    "metadata": {"labels": {"app": ds_name}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": sts_name},
            "spec": {
                "replicas": 0,
                "serviceName": sts_name,
                "selector": {"matchLabels": {"app": sts_name}},
                "template": {
                    "metadata": {"labels": {"app": sts_name}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        },
    ]
    for doc in docs:
        utils.create_from_dict(api_client, doc, namespace=namespace)

    async def statuses():
        ds = apps.read_namespaced_daemon_set(ds_name, namespace)
        sts = apps.read_namespaced_stateful_set(sts_name, namespace)
        return (
            ds.status
            and ds.status.observed_generation == 1
            and sts.status
            and sts.status.observed_generation == 1
        )

    await eventually(statuses, what="statuses written")
    revisions = apps.list_namespaced_controller_revision(namespace).items
    assert sorted(r.revision for r in revisions) == [1, 1]
    assert {r.metadata.owner_references[0].kind for r in revisions} == {"DaemonSet", "StatefulSet"}
    apps.delete_namespaced_daemon_set(ds_name, namespace)
    apps.delete_namespaced_stateful_set(sts_name, namespace)
