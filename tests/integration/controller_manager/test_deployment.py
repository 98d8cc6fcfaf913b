"""The Deployment controller against a real apiserver: rolling update within maxUnavailable, rollback, pause and
resume, Recreate, the progress deadline, and the real kubectl's rollout status and undo."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.background import Background
from tests.binaries import INSTALL_HINT, KUBECTL
from tests.harness import REPO
from tests.integration.controller_manager.helpers import PodReadier, deployment, is_ready
from tests.kube import write_kubeconfig
from tests.polling import eventually
from tests.resources import DEPLOYMENTS, EVENTS, PODS, REPLICASETS
from tests.stored import ROLLED_OUT, status_settled

pytestmark = [pytest.mark.etcd]

REVISION = "deployment.kubernetes.io/revision"


def rolling(surge, unavailable):
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


async def rollout_complete(client, ns, name):
    """kubectl rollout status's test, plus: no old replicas left."""
    d = await client.get(DEPLOYMENTS, name, ns)
    return status_settled(d, dict.fromkeys(ROLLED_OUT, d["spec"]["replicas"])) and d


async def replica_sets(client, ns, name):
    items = (await client.list(REPLICASETS, ns, label_selector=f"app={name}"))["items"]
    return {rs["metadata"]["name"]: rs for rs in items}


def image_patch(image):
    return {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


class ReadyWatcher(Background):
    """From a watch: the number of ready, live pods of the namespace after every event; the minimum once armed."""

    def __init__(self, client, ns):
        self.client, self.ns = client, ns
        self.pods: dict[str, bool] = {}
        self.min_ready: int | None = None
        self.armed = False

    def ready(self) -> int:
        return sum(self.pods.values())

    async def _run(self):
        async for etype, pod in self.client.watch(PODS, self.ns):
            uid = pod["metadata"]["uid"]
            if etype == "DELETED" or pod["metadata"].get("deletionTimestamp"):
                self.pods.pop(uid, None)
            else:
                self.pods[uid] = is_ready(pod)
            if self.armed:
                n = self.ready()
                self.min_ready = n if self.min_ready is None else min(self.min_ready, n)


@pytest.mark.timeout(90)
async def test_rolling_update_keeps_availability_then_rollback(client, namespace, manager):
    async with PodReadier(client, namespace, delay=0.2), ReadyWatcher(client, namespace) as watcher:
        await client.create(DEPLOYMENTS, deployment("web", 6, strategy=rolling(2, 1)), namespace)
        d = await eventually(
            lambda: rollout_complete(client, namespace, "web"), timeout=30, what="first rollout"
        )
        assert d["metadata"]["annotations"][REVISION] == "1"
        (first,) = (await replica_sets(client, namespace, "web")).values()
        assert first["metadata"]["name"].startswith("web-")
        assert first["metadata"]["annotations"][REVISION] == "1"
        assert (
            first["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] in first["metadata"]["name"]
        )

        await eventually(lambda: watcher.ready() == 6, what="watch sees 6 ready")
        watcher.armed = True
        await client.patch(DEPLOYMENTS, "web", image_patch("busybox:2"), namespace, patch_type="strategic")
        d = await eventually(
            lambda: rollout_complete(client, namespace, "web"), timeout=40, what="rollout to v2"
        )
        assert watcher.min_ready is not None and watcher.min_ready >= 6 - 1
        assert d["metadata"]["annotations"][REVISION] == "2"
        rss = await replica_sets(client, namespace, "web")
        assert len(rss) == 2
        assert rss[first["metadata"]["name"]]["spec"]["replicas"] == 0
        (second,) = [rs for name, rs in rss.items() if name != first["metadata"]["name"]]
        assert second["metadata"]["annotations"][REVISION] == "2"
        assert second["spec"]["replicas"] == 6

        # kubectl rollout undo: the template of revision 1, minus the hash label, as a JSON patch.
        template = first["spec"]["template"]
        template["metadata"]["labels"].pop("pod-template-hash")
        await client.patch(
            DEPLOYMENTS,
            "web",
            [{"op": "replace", "path": "/spec/template", "value": template}],
            namespace,
            patch_type="json",
        )
        d = await eventually(
            lambda: rollout_complete(client, namespace, "web"), timeout=40, what="rollback to v1"
        )
        assert watcher.min_ready >= 5
        rss = await replica_sets(client, namespace, "web")
        assert len(rss) == 2  # the old ReplicaSet was reused, not a third one created
        reused = rss[first["metadata"]["name"]]
        assert reused["spec"]["replicas"] == 6
        assert reused["metadata"]["annotations"][REVISION] == "3"
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        assert d["metadata"]["annotations"][REVISION] == "3"
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        assert conds["Available"]["status"] == "True"
        assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"

    events = (await client.list(EVENTS, namespace))["items"]
    messages = [e["message"] for e in events if e["reason"] == "ScalingReplicaSet"]
    assert f"Scaled up replica set {first['metadata']['name']} to 6" in messages
    assert any(m.startswith("Scaled down replica set") for m in messages)


@pytest.mark.timeout(60)
async def test_pause_and_resume(client, namespace, manager):
    async with PodReadier(client, namespace):
        await client.create(DEPLOYMENTS, deployment("p", 2), namespace)
        await eventually(lambda: rollout_complete(client, namespace, "p"), what="first rollout")
        await client.patch(DEPLOYMENTS, "p", {"spec": {"paused": True}}, namespace)
        await client.patch(DEPLOYMENTS, "p", image_patch("busybox:2"), namespace, patch_type="strategic")

        async def paused_seen():
            d = await client.get(DEPLOYMENTS, "p", namespace)
            conds = {c["type"]: c for c in (d.get("status") or {}).get("conditions") or []}
            observed = d["status"].get("observedGeneration") == d["metadata"]["generation"]
            return observed and conds.get("Progressing", {}).get("reason") == "DeploymentPaused"

        await eventually(paused_seen, what="paused condition")
        assert len(await replica_sets(client, namespace, "p")) == 1  # no rollout while paused

        # Scaling works while paused.
        await client.patch(DEPLOYMENTS, "p", {"spec": {"replicas": 3}}, namespace)

        async def scaled():
            rss = await replica_sets(client, namespace, "p")
            return len(rss) == 1 and next(iter(rss.values()))["spec"]["replicas"] == 3

        await eventually(scaled, what="scaled while paused")

        await client.patch(DEPLOYMENTS, "p", {"spec": {"paused": False}}, namespace)
        d = await eventually(
            lambda: rollout_complete(client, namespace, "p"), timeout=30, what="rollout after resume"
        )
        assert d["metadata"]["annotations"][REVISION] == "2"
        assert len(await replica_sets(client, namespace, "p")) == 2


@pytest.mark.timeout(60)
async def test_recreate_scales_old_down_before_creating_new(client, namespace, manager):
    async with PodReadier(client, namespace):
        await client.create(DEPLOYMENTS, deployment("r", 3, strategy={"type": "Recreate"}), namespace)
        await eventually(lambda: rollout_complete(client, namespace, "r"), what="first rollout")
        old_uids = {p["metadata"]["uid"] for p in (await client.list(PODS, namespace))["items"]}
        overlap = []

        async def watch_overlap():
            async for _etype, _pod in client.watch(PODS, namespace):
                pass  # the list below is what we check; the watch keeps the connection busy only

        await client.patch(DEPLOYMENTS, "r", image_patch("busybox:2"), namespace, patch_type="strategic")

        async def check():
            pods = (await client.list(PODS, namespace))["items"]
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            old = [p for p in live if p["metadata"]["uid"] in old_uids]
            new = [p for p in live if p["metadata"]["uid"] not in old_uids]
            if old and new:
                overlap.append(len(old))
            return not old and len(new) == 3 and await rollout_complete(client, namespace, "r")

        await eventually(check, timeout=30, interval=0.02, what="recreate")
        assert overlap == []
        del watch_overlap


@pytest.mark.timeout(60)
async def test_revision_history_limit_cleans_up_old_replica_sets(client, namespace, manager):
    async with PodReadier(client, namespace):
        await client.create(DEPLOYMENTS, deployment("h", 1, revisionHistoryLimit=1), namespace)
        for image in ("busybox:2", "busybox:3", "busybox:4"):
            await eventually(lambda: rollout_complete(client, namespace, "h"), what="rollout")
            await client.patch(DEPLOYMENTS, "h", image_patch(image), namespace, patch_type="strategic")
        await eventually(lambda: rollout_complete(client, namespace, "h"), what="last rollout")

        async def pruned():
            rss = await replica_sets(client, namespace, "h")
            return len(rss) == 2 and rss

        rss = await eventually(pruned, what="history pruned to 1 old ReplicaSet")
        revisions = sorted(int(rs["metadata"]["annotations"][REVISION]) for rs in rss.values())
        assert revisions == [3, 4]


@pytest.mark.timeout(60)
async def test_progress_deadline_exceeded(client, namespace, manager):
    # No stand-in kubelet: the pods never become ready, so the rollout cannot progress.
    await client.create(DEPLOYMENTS, deployment("stuck", 2, progressDeadlineSeconds=2), namespace)

    async def timed_out():
        d = await client.get(DEPLOYMENTS, "stuck", namespace)
        conds = {c["type"]: c for c in (d.get("status") or {}).get("conditions") or []}
        p = conds.get("Progressing", {})
        return p.get("status") == "False" and p.get("reason") == "ProgressDeadlineExceeded" and conds

    conds = await eventually(timed_out, timeout=20, what="ProgressDeadlineExceeded")
    assert conds["Available"]["status"] == "False"
    assert conds["Available"]["reason"] == "MinimumReplicasUnavailable"


async def kubectl(apiserver, cache_dir, *args, timeout=40):
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--kubeconfig",
        str(apiserver.admin_kubeconfig),
        "--cache-dir",
        str(cache_dir),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, out.decode()
    return out.decode()


@pytest.mark.kubectl
@pytest.mark.skipif(KUBECTL is None, reason=f"kubectl is not installed ({INSTALL_HINT})")
@pytest.mark.timeout(90)
async def test_kubectl_rollout_status_and_undo(client, namespace, manager, apiserver, tmp_path):
    async with PodReadier(client, namespace, delay=0.1):
        await client.create(DEPLOYMENTS, deployment("kc", 3, image="busybox:1"), namespace)
        out = await kubectl(
            apiserver, tmp_path, "-n", namespace, "rollout", "status", "deploy/kc", "--timeout=40s"
        )
        assert 'deployment "kc" successfully rolled out' in out
        await kubectl(apiserver, tmp_path, "-n", namespace, "set", "image", "deploy/kc", "c=busybox:2")
        out = await kubectl(
            apiserver, tmp_path, "-n", namespace, "rollout", "status", "deploy/kc", "--timeout=40s"
        )
        assert "successfully rolled out" in out
        await kubectl(apiserver, tmp_path, "-n", namespace, "rollout", "undo", "deploy/kc")
        out = await kubectl(
            apiserver, tmp_path, "-n", namespace, "rollout", "status", "deploy/kc", "--timeout=40s"
        )
        assert "successfully rolled out" in out
        d = await client.get(DEPLOYMENTS, "kc", namespace)
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"
        assert d["metadata"]["annotations"][REVISION] == "3"
        history = await kubectl(apiserver, tmp_path, "-n", namespace, "rollout", "history", "deploy/kc")
        assert "2" in history and "3" in history


@pytest.mark.timeout(60)
async def test_kctl_rollout_undo(client, namespace, manager, apiserver, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / "config", apiserver)

    async def kctl(*args):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli.main",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
            cwd=REPO,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out.decode()
        return out.decode()

    async with PodReadier(client, namespace):
        await client.create(DEPLOYMENTS, deployment("kt", 2, image="busybox:1"), namespace)
        await eventually(lambda: rollout_complete(client, namespace, "kt"), what="first rollout")
        await client.patch(DEPLOYMENTS, "kt", image_patch("busybox:2"), namespace, patch_type="strategic")
        await eventually(lambda: _at_revision(client, namespace, "kt", "2"), what="rollout to v2")
        await kctl("rollout", "undo", "deployment/kt", "-n", namespace)
        d = await eventually(lambda: _at_revision(client, namespace, "kt", "3"), what="rolled back")
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"
        assert len(await replica_sets(client, namespace, "kt")) == 2


async def _at_revision(client, ns, name, revision):
    d = await rollout_complete(client, ns, name)
    return d if d and d["metadata"]["annotations"].get(REVISION) == revision else None
