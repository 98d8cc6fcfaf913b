"""kctl on the workload kinds, next to the real kubectl where both run: `create job|cronjob` (and `--from`),
`rollout status|history|undo|restart` for DaemonSets and StatefulSets, `describe`, and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import ApiServer
from tests.integration.cli.helpers import kctl_subprocess
from tests.integration.kubectl.kube import KUBECTL, Kubectl
from tests.integration.workloads.helpers import finish, pods_of, workload
from tests.kube import write_kubeconfig
from tests.polling import eventually
from tests.resources import CRONJOBS, DAEMONSETS, JOBS, RCS, STATEFULSETS

pytestmark = [pytest.mark.etcd, pytest.mark.timeout(120)]


@pytest.fixture
def kctl(cluster: ApiServer, namespace: str, tmp_path: Path):
    """The real kctl entry point as a process (these tests run in an event loop; kctl starts its own)."""
    config = write_kubeconfig(tmp_path / "config", cluster, namespace)

    def call(*args: str, ok: bool = True) -> str:
        result = kctl_subprocess(*args, kubeconfig=config, timeout=90)
        assert (result.code == 0) == ok, (
            f"kctl {' '.join(args)} exited {result.code}: {result.out}{result.err}"
        )
        return result.out + result.err

    return call


@pytest.fixture
def kubectl(cluster: ApiServer, namespace: str, tmp_path: Path) -> Kubectl | None:
    if KUBECTL is None:
        return None
    config = write_kubeconfig(tmp_path / "kubectl-config", cluster)
    return Kubectl(kubeconfig=config, cache_dir=tmp_path / "cache", namespace=namespace, timeout=60)


async def test_create_job_cronjob_and_from(kctl, client, namespace, manager):
    assert (
        kctl("create", "job", "once", "--image=busybox:1", "--", "echo", "hi").strip()
        == "job.batch/once created"
    )
    job = await client.get(JOBS, "once", namespace)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert (container["name"], container["image"], container["command"]) == (
        "once",
        "busybox:1",
        ["echo", "hi"],
    )
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    out = kctl(
        "create", "cronjob", "nightly", "--image=busybox:1", "--schedule=0 0 29 2 *", "--restart=Never"
    )
    assert out.strip() == "cronjob.batch/nightly created"
    cj = await client.get(CRONJOBS, "nightly", namespace)
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert kctl("create", "job", "manual", "--from=cronjob/nightly").strip() == "job.batch/manual created"
    manual = await client.get(JOBS, "manual", namespace)
    assert manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert manual["metadata"]["ownerReferences"][0]["uid"] == cj["metadata"]["uid"]
    assert "either --image or --from must be specified" in kctl("create", "job", "x", ok=False)
    assert "required flag(s) schedule not set" in kctl("create", "cronjob", "x", "--image=i", ok=False)
    pods = await eventually(
        lambda: pods_of(client, namespace, label="batch.kubernetes.io/job-name=once"), what="pod"
    )
    await finish(client, namespace, pods[0]["metadata"]["name"])

    async def complete():
        return "Complete" in kctl("get", "job", "once")

    await eventually(complete, what="kctl shows Complete")
    described = kctl("describe", "job", "once")
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described
    assert "Completion Mode:  NonIndexed" in described
    described = kctl("describe", "cronjob", "nightly")
    assert "Schedule:                      0 0 29 2 *" in described
    assert "Active Jobs:         <none>" in described


async def test_rollouts_of_daemonsets_and_statefulsets(
    kctl, kubectl, client, namespace, manager, scheduler, hollow
):
    hollow(2, f"{namespace}-k-")
    await client.create(DAEMONSETS, workload("DaemonSet", "agent"), namespace)
    await client.create(STATEFULSETS, workload("StatefulSet", "db", replicas=2, serviceName="db"), namespace)
    assert (
        kctl("rollout", "status", "ds/agent", "--timeout=60s")
        .strip()
        .endswith('daemon set "agent" successfully rolled out')
    )
    assert (
        kctl("rollout", "status", "sts/db", "--timeout=60s")
        .strip()
        .endswith("partitioned roll out complete: 2 new pods have been updated...")
    )
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}
    for res, name in ((DAEMONSETS, "agent"), (STATEFULSETS, "db")):
        await client.patch(res, name, patch, namespace, patch_type="strategic")
    kctl("rollout", "status", "ds/agent", "--timeout=60s")
    kctl("rollout", "status", "sts/db", "--timeout=60s")
    for target, prefix in (("ds/agent", "daemonset.apps/agent"), ("sts/db", "statefulset.apps/db")):
        history = kctl("rollout", "history", target)
        assert history.split() == [prefix, "REVISION", "CHANGE-CAUSE", "1", "<none>", "2", "<none>"]
        if kubectl is not None:
            assert history == kubectl("rollout", "history", target)
        one = kctl("rollout", "history", target, "--revision=1")
        assert one.startswith(f"{prefix} with revision #1") and "busybox:1" in one
        assert kctl("rollout", "undo", target).strip() == f"{prefix} rolled back"
        kctl("rollout", "status", target, "--timeout=60s")
        again = kctl("rollout", "undo", target, "--to-revision=3")
        assert again.strip() == f"{prefix} skipped rollback (current template already matches revision 3)"
        assert "unable to find specified revision 9 in history" in kctl(
            "rollout", "undo", target, "--to-revision=9", ok=False
        )
    for res, name in ((DAEMONSETS, "agent"), (STATEFULSETS, "db")):
        obj = await client.get(res, name, namespace)
        assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"
    assert kctl("rollout", "restart", "ds/agent").strip() == "daemonset.apps/agent restarted"
    kctl("rollout", "status", "ds/agent", "--timeout=60s")
    described = kctl("describe", "ds", "agent")
    assert "Desired Number of Nodes Scheduled: 2" in described
    assert "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    described = kctl("describe", "sts", "db")
    assert "Replicas:           2 desired | 2 total" in described and "Partition:        0" in described
    assert "rollout pause is not supported for daemonsets.apps" in kctl(
        "rollout", "pause", "ds/agent", ok=False
    )


async def test_replication_controller_pages(kctl, kubectl, client, namespace, manager, scheduler, hollow):
    hollow(1, f"{namespace}-r-")
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "keeper"},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": "keeper"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }
    await client.create(RCS, rc, namespace)

    async def ready():
        return "2         2         2" in kctl("get", "rc", "keeper")

    await eventually(ready, timeout=30, what="2 ready replicas in the table")
    described = kctl("describe", "rc", "keeper")
    assert "Selector:     app=keeper" in described
    assert "Replicas:     2 current / 2 desired" in described
    assert "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    if kubectl is not None:
        theirs = kubectl("describe", "rc", "keeper")
        for line in (
            "Replicas:     2 current / 2 desired",
            "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed",
        ):
            assert line in theirs
    assert kctl("scale", "rc/keeper", "--replicas=1").strip() == "replicationcontroller/keeper scaled"
