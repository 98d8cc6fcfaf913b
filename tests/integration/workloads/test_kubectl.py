"""The real kubectl against the workload kinds: `create job|cronjob` and `create job --from=cronjob/x` (protobuf
bodies), tables, `describe`, and `rollout status|history|undo` for DaemonSets and StatefulSets
(ControllerRevisions), with the controller-manager, the scheduler and hollow nodes running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import factories
from tests.harness import ApiServer
from tests.integration.kubectl.kube import KUBECTL, Kubectl
from tests.integration.workloads.helpers import finish, pods_of
from tests.kube import write_kubeconfig
from tests.polling import eventually
from tests.resources import CRONJOBS, DAEMONSETS, JOBS, STATEFULSETS

pytestmark = [
    pytest.mark.etcd,
    pytest.mark.kubectl,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed"),
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def kube(cluster: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    home = tmp_path_factory.mktemp("kubectl-home")
    config = write_kubeconfig(Path(home) / "kubeconfig", cluster)
    return Kubectl(kubeconfig=config, cache_dir=Path(home) / "cache", timeout=60)


@pytest.fixture
def k(kube: Kubectl, namespace: str) -> Kubectl:
    return kube.in_namespace(namespace)


_BOX = [factories.container("c", "busybox:1")]
DS = json.dumps(factories.daemonset("agent", _BOX, pod_spec={"terminationGracePeriodSeconds": 0}))
STS = json.dumps(factories.statefulset("db", 2, _BOX, pod_spec={"terminationGracePeriodSeconds": 0}))


def two_revisions(ref: str) -> list[str]:
    """The words of `kubectl rollout history` for `ref` after one update with no change cause."""
    return [ref, "REVISION", "CHANGE-CAUSE", "1", "<none>", "2", "<none>"]


async def test_create_job_cronjob_and_from(k, client, namespace, manager):
    assert (
        k("create", "job", "once", "--image=busybox:1", "--", "echo", "hi").strip()
        == "job.batch/once created"
    )
    job = await client.get(JOBS, "once", namespace)
    spec = job["spec"]
    assert spec["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
    out = k("create", "cronjob", "nightly", "--image=busybox:1", "--schedule=0 3 * * *", "--", "date")
    assert out.strip() == "cronjob.batch/nightly created"
    cj = await client.get(CRONJOBS, "nightly", namespace)
    assert cj["spec"]["schedule"] == "0 3 * * *"
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert k("create", "job", "manual", "--from=cronjob/nightly").strip() == "job.batch/manual created"
    manual = await client.get(JOBS, "manual", namespace)
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    ref = manual["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"]) == ("CronJob", "nightly", cj["metadata"]["uid"])
    # Tables and describe.
    table = k("get", "jobs")
    assert table.splitlines()[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    pods = await eventually(
        lambda: pods_of(client, namespace, label="batch.kubernetes.io/job-name=once"), what="pod"
    )
    await finish(client, namespace, pods[0]["metadata"]["name"])

    async def complete():
        return "Complete" in k("get", "job", "once", "--no-headers")

    await eventually(complete, what="kubectl shows Complete")
    assert k("get", "cronjobs").splitlines()[1].split()[:6] == ["nightly", "0", "3", "*", "*", "*"]
    described = k("describe", "job", "once")
    assert "Completions:      1" in described and "Completion Mode:  NonIndexed" in described
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described
    assert "Completed" in described  # the event
    described = k("describe", "cronjob", "nightly")
    assert "Schedule:                      0 3 * * *" in described
    assert "Concurrency Policy:            Allow" in described
    k("wait", "--for=condition=complete", "job/once", "--timeout=30s")


async def test_daemonset_rollout(k, client, namespace, manager, scheduler, hollow):
    hollow(2, f"{namespace}-d-")
    k("apply", "-f", "-", stdin=DS)
    assert 'daemon set "agent" successfully rolled out' in k("rollout", "status", "ds/agent", "--timeout=60s")
    k("set", "image", "ds/agent", "c=busybox:2")
    assert 'daemon set "agent" successfully rolled out' in k("rollout", "status", "ds/agent", "--timeout=60s")
    history = k("rollout", "history", "ds/agent")
    assert history.split() == two_revisions("daemonset.apps/agent")
    revision = k("rollout", "history", "ds/agent", "--revision=1")
    assert "busybox:1" in revision
    assert k("rollout", "undo", "ds/agent").strip() == "daemonset.apps/agent rolled back"
    k("rollout", "status", "ds/agent", "--timeout=60s")
    ds = await client.get(DAEMONSETS, "agent", namespace)
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"
    pods = await pods_of(client, namespace, label="app=agent", live=True)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"busybox:1"}
    assert k("rollout", "history", "ds/agent").split()[-4:] == ["2", "<none>", "3", "<none>"]
    table = k("get", "ds", "agent", "-o", "wide")
    assert table.splitlines()[0].split()[:7] == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE",
    ]
    described = k("describe", "ds", "agent")
    assert "Desired Number of Nodes Scheduled: 2" in described
    assert "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "controllerrevision" in k("get", "controllerrevisions").lower() or "agent-" in k(
        "get", "controllerrevisions"
    )


async def test_statefulset_rollout(k, client, namespace, manager, scheduler, hollow):
    hollow(1, f"{namespace}-s-")
    k("apply", "-f", "-", stdin=STS)
    assert "partitioned roll out complete: 2 new pods have been updated..." in k(
        "rollout", "status", "sts/db", "--timeout=60s"
    )
    k("set", "image", "sts/db", "c=busybox:2")
    k("rollout", "status", "sts/db", "--timeout=60s")
    assert k("rollout", "history", "sts/db").split() == two_revisions("statefulset.apps/db")
    assert k("rollout", "undo", "sts/db", "--to-revision=1").strip() == "statefulset.apps/db rolled back"
    k("rollout", "status", "sts/db", "--timeout=60s")

    async def back():
        sts = await client.get(STATEFULSETS, "db", namespace)
        pods = await pods_of(client, namespace, label="app=db", live=True)
        images = {p["spec"]["containers"][0]["image"] for p in pods}
        return (
            sts["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"
            and images == {"busybox:1"}
            and len(pods) == 2
        )

    await eventually(back, what="back on busybox:1")
    k("scale", "sts/db", "--replicas=3")
    k("rollout", "status", "sts/db", "--timeout=60s")
    assert k("get", "sts", "db", "--no-headers").split()[:2] == ["db", "3/3"]
    described = k("describe", "sts", "db")
    assert "Replicas:           3 desired | 3 total" in described
    assert "Pods Status:        3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
