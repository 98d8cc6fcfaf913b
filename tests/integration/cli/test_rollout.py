"""rollout status|history|undo|restart|pause|resume against objects whose status and ReplicaSets the test
writes, as the deployment controller would."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests import factories
from tests.harness import REPO

pytestmark = pytest.mark.etcd


def make_rs(api, ns: str, deploy: dict, revision: int, image: str) -> dict:
    return api.post(
        f"/apis/apps/v1/namespaces/{ns}/replicasets", factories.revision_replicaset(deploy, revision, image)
    )


@pytest.fixture(scope="module")
def deploy(api, ns):
    """Deployment `web` at revision 2 (nginx:1.26), with ReplicaSets for revisions 1 and 2."""
    d = api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        factories.deployment("web", image="nginx:1.26", container="web", ports=[80]),
    )
    make_rs(api, ns, d, 1, "nginx:1.25")
    make_rs(api, ns, d, 2, "nginx:1.26")
    return d


def test_rollout_status_follows_the_status_fields(api, ns, deploy, kubeconfig):
    """A real subprocess, piped: one plain line per stage, exit 0 when the rollout is complete."""
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "rollout", "status", "deployment/web", "--timeout=30s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "Waiting for deployment spec update to be observed...\n"
        gen = api.get(path)["metadata"]["generation"]
        steps = [
            (
                {"observedGeneration": gen, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1},
                'Waiting for deployment "web" rollout to finish: 1 out of 2 new replicas have been updated...\n',
            ),
            (
                {"observedGeneration": gen, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 1},
                'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...\n',
            ),
            (
                {"observedGeneration": gen, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
                'Waiting for deployment "web" rollout to finish: 1 of 2 updated replicas are available...\n',
            ),
            (
                {
                    "observedGeneration": gen,
                    "replicas": 2,
                    "updatedReplicas": 2,
                    "availableReplicas": 2,
                    "readyReplicas": 2,
                },
                'deployment "web" successfully rolled out\n',
            ),
        ]
        for status, line in steps:
            api.write_status(path, status)
            assert proc.stdout.readline() == line
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()


def test_rollout_status_no_watch_and_timeout(kctl, api, ns, deploy):
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        factories.deployment("slow", container="web", ports=[80]),
    )
    r = kctl("rollout", "status", "deploy/slow", "--no-watch")
    assert (r.code, r.out) == (0, "Waiting for deployment spec update to be observed...\n")
    start = time.monotonic()
    r = kctl("rollout", "status", "deploy/slow", "--timeout=1s")
    assert r.code == 1 and r.err.strip() == "error: timed out waiting for the condition"
    assert time.monotonic() - start < 5
    r = kctl("rollout", "status", "deploy/missing")
    assert (
        r.code == 1 and r.err.strip() == 'Error from server (NotFound): deployments.apps "missing" not found'
    )


def test_history(kctl, deploy):
    r = kctl("rollout", "history", "deployment/web")
    assert r.out == "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n", r
    r = kctl("rollout", "history", "deployment/web", "--revision=1")
    assert r.out.startswith("deployment.apps/web with revision #1\nPod Template:\n")
    assert "nginx:1.25" in r.out and "pod-template-hash" not in r.out


def test_undo_copies_the_replicasets_template(kctl, api, ns, deploy):
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    r = kctl("rollout", "undo", "deployment/web")
    assert r.out == "deployment.apps/web rolled back\n", r
    tmpl = api.get(path)["spec"]["template"]
    assert tmpl["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert tmpl["metadata"]["labels"] == {"app": "web"}
    r = kctl("rollout", "undo", "deployment/web", "--to-revision=1")
    assert r.out == "deployment.apps/web skipped rollback (current template already matches revision 1)\n"
    assert kctl("rollout", "undo", "deployment/web", "--to-revision=2").code == 0
    assert api.get(path)["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    r = kctl("rollout", "undo", "deployment/web", "--to-revision=9")
    assert r.code == 1 and r.err.strip() == "error: unable to find specified revision 9 in history"


def test_restart_pause_resume(kctl, api, ns, deploy):
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    assert kctl("rollout", "restart", "deploy/web").out == "deployment.apps/web restarted\n"
    annotations = api.get(path)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kubectl.kubernetes.io/restartedAt"].endswith("Z")

    assert kctl("rollout", "pause", "deploy/web").out == "deployment.apps/web paused\n"
    assert api.get(path)["spec"]["paused"] is True
    r = kctl("rollout", "pause", "deploy/web")
    assert r.code == 1 and r.err.strip() == 'error: deployments.apps "web" is already paused'
    r = kctl("rollout", "restart", "deploy/web")
    assert r.code == 1 and "can't restart paused deployment" in r.err
    r = kctl("rollout", "undo", "deploy/web")
    assert r.code == 1 and "cannot rollback a paused deployment" in r.err
    assert kctl("rollout", "resume", "deploy/web").out == "deployment.apps/web resumed\n"
    assert not api.get(path)["spec"].get("paused")
    r = kctl("rollout", "resume", "deploy/web")
    assert r.code == 1 and r.err.strip() == 'error: deployments.apps "web" is not paused'


def test_rollout_of_a_pod_is_refused(kctl):
    r = kctl("rollout", "status", "pod/x")
    assert r.code == 1 and "only deployments" in r.err
