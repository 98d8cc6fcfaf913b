"""The real helm 3.17 on a `kctl up` cluster: the chart `helm create` makes (tests/helm.py says what the test
changes in it) installed with --wait and its hooks, upgraded with a rolling update, rolled back, tested and
uninstalled leaving nothing behind; a chart that ships a CRD and a custom object; --wait-for-jobs; --wait for a
PersistentVolumeClaim (until Bound) and uninstall --wait removing it and its volume."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from apimachinery import storage
from tests.binaries import KUBECTL
from tests.e2e.cluster.cluster import SECOND_IMAGE, ensure_second_tag
from tests.e2e.up.helpers import UpCluster
from tests.helm import Helm, crd_chart, demo_chart, needs_helm
from tests.images import BUSYBOX_IMAGE
from tests.polling import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.e2e, pytest.mark.slow, needs_helm]

REPOSITORY, TAG = BUSYBOX_IMAGE.rsplit(":", 1)
SECOND_TAG = SECOND_IMAGE.rsplit(":", 1)[1]
# What a release may leave in its namespace once uninstalled: what the namespace had before it.
BASELINE = {("serviceaccounts", "default"), ("configmaps", "kube-root-ca.crt")}
COLLECTIONS = {
    "pods": "/api/v1/namespaces/{ns}/pods",
    "services": "/api/v1/namespaces/{ns}/services",
    "serviceaccounts": "/api/v1/namespaces/{ns}/serviceaccounts",
    "secrets": "/api/v1/namespaces/{ns}/secrets",
    "configmaps": "/api/v1/namespaces/{ns}/configmaps",
    "endpoints": "/api/v1/namespaces/{ns}/endpoints",
    "deployments": "/apis/apps/v1/namespaces/{ns}/deployments",
    "replicasets": "/apis/apps/v1/namespaces/{ns}/replicasets",
    "jobs": "/apis/batch/v1/namespaces/{ns}/jobs",
    "endpointslices": "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
}


def items(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    reply = api.get(path, params=params)
    assert reply.status_code == 200, reply.text
    result: list[dict[str, Any]] = reply.json()["items"]
    return result


def leftovers(api: httpx.Client, ns: str) -> set[tuple[str, str]]:
    found = {
        (resource, obj["metadata"]["name"])
        for resource, path in COLLECTIONS.items()
        for obj in items(api, path.format(ns=ns))
    }
    return found - BASELINE


def release_secrets(api: httpx.Client, ns: str, release: str) -> dict[str, dict[str, Any]]:
    """helm's storage: one Secret of type helm.sh/release.v1 per revision, found by label as helm finds them."""
    found = items(api, f"/api/v1/namespaces/{ns}/secrets", labelSelector=f"owner=helm,name={release}")
    assert all(s["type"] == "helm.sh/release.v1" for s in found)
    return {s["metadata"]["name"]: s for s in found}


def stored_release(secret: dict[str, Any]) -> dict[str, Any]:
    """The release record in a release Secret: base64 (the Secret's) of base64 of gzipped JSON."""
    raw = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    result: dict[str, Any] = json.loads(gzip.decompress(raw))
    return result


def deployment_images(api: httpx.Client, ns: str, name: str) -> tuple[str, set[str]]:
    """The Deployment's template image and the images of its live pods."""
    deploy = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").json()
    selector = ",".join(f"{k}={v}" for k, v in deploy["spec"]["selector"]["matchLabels"].items())
    pods = items(api, f"/api/v1/namespaces/{ns}/pods", labelSelector=selector)
    live = {
        c["image"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        for c in p["spec"]["containers"]
    }
    return deploy["spec"]["template"]["spec"]["containers"][0]["image"], live


def ready_replicasets(api: httpx.Client, ns: str) -> dict[str, tuple[int, str]]:
    """Each ReplicaSet's (spec.replicas, image)."""
    return {
        rs["metadata"]["name"]: (
            rs["spec"]["replicas"],
            rs["spec"]["template"]["spec"]["containers"][0]["image"],
        )
        for rs in items(api, f"/apis/apps/v1/namespaces/{ns}/replicasets")
    }


def test_demo_chart_install_upgrade_rollback_test_uninstall(
    cluster: UpCluster, api: httpx.Client, helm: Helm, ns: str, tmp_path: Path
) -> None:
    ensure_second_tag()
    chart, values = demo_chart(helm, tmp_path, REPOSITORY, TAG)
    name = "d1-demo"

    out = helm("install", "d1", str(chart), "-f", str(values), "--wait", "--timeout", "180s")
    assert "STATUS: deployed" in out
    # --wait returned: both replicas are ready (helm read the Deployment, its new ReplicaSet and the Service).
    deploy = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").json()
    assert deploy["status"].get("readyReplicas") == 2
    assert api.get(f"/api/v1/namespaces/{ns}/services/{name}").json()["spec"]["clusterIP"]
    # Both hooks ran to completion (helm watched the Jobs), then helm deleted them (hook-succeeded).
    hooks = {h["name"]: h["last_run"] for h in helm.status("d1")["hooks"] if h["kind"] == "Job"}
    assert {n: h["phase"] for n, h in hooks.items()} == {
        f"{name}-pre-install": "Succeeded",
        f"{name}-post-install": "Succeeded",
    }
    assert hooks[f"{name}-pre-install"]["completed_at"] <= hooks[f"{name}-post-install"]["started_at"]
    assert not items(api, f"/apis/batch/v1/namespaces/{ns}/jobs")
    secrets = release_secrets(api, ns, "d1")
    assert list(secrets) == ["sh.helm.release.v1.d1.v1"]
    labels = secrets["sh.helm.release.v1.d1.v1"]["metadata"]["labels"]
    assert {k: labels[k] for k in ("owner", "name", "status", "version")} == {
        "owner": "helm", "name": "d1", "status": "deployed", "version": "1",
    }  # fmt: skip
    assert stored_release(secrets["sh.helm.release.v1.d1.v1"])["info"]["status"] == "deployed"
    assert deployment_images(api, ns, name) == (BUSYBOX_IMAGE, {BUSYBOX_IMAGE})

    # A change made outside helm, to a field the chart does not set: the three-way merge keeps it.
    assert KUBECTL is not None
    subprocess.run(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "-n", ns, "annotate", f"deploy/{name}", "team=ops"],
        check=True, capture_output=True, env=helm.env(),
    )  # fmt: skip
    helm("upgrade", "d1", str(chart), "-f", str(values), "--set", f"image.tag={SECOND_TAG}", "--wait",
         "--timeout", "180s")  # fmt: skip
    assert deployment_images(api, ns, name) == (SECOND_IMAGE, {SECOND_IMAGE})
    replicasets = ready_replicasets(api, ns)
    assert sorted(replicasets.values()) == [(0, BUSYBOX_IMAGE), (2, SECOND_IMAGE)], "a rolling update"
    deploy = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}").json()
    assert deploy["metadata"]["annotations"]["team"] == "ops"
    statuses = {n: s["metadata"]["labels"]["status"] for n, s in release_secrets(api, ns, "d1").items()}
    assert statuses == {"sh.helm.release.v1.d1.v1": "superseded", "sh.helm.release.v1.d1.v2": "deployed"}

    helm("rollback", "d1", "1", "--wait", "--timeout", "180s")
    assert deployment_images(api, ns, name) == (BUSYBOX_IMAGE, {BUSYBOX_IMAGE})
    history = json.loads(helm("history", "d1", "-o", "json"))
    assert [(h["revision"], h["status"]) for h in history] == [
        (1, "superseded"), (2, "superseded"), (3, "deployed"),
    ]  # fmt: skip
    assert history[2]["description"] == "Rollback to 1"

    tested = helm("test", "d1", "--logs", "--timeout", "120s")
    assert f"TEST SUITE:     {name}-test-connection" in tested
    assert "Phase:          Succeeded" in tested
    # The stock `wget d1-demo:80` found the Service by its name (cluster DNS) and saved the page.
    cluster_ip = api.get(f"/api/v1/namespaces/{ns}/services/{name}").json()["spec"]["clusterIP"]
    assert f"Connecting to {name}:80 ({cluster_ip}:80)" in tested
    assert "'index.html' saved" in tested

    helm("uninstall", "d1", "--wait", "--timeout", "120s")
    assert helm("list", "-a", "-q").strip() == ""
    # helm keeps test pods (the chart sets no hook-delete-policy on it); the garbage collector removes the hook
    # Jobs' pods after helm deleted the Jobs.
    kept = {("pods", f"{name}-test-connection")}
    wait_until(lambda: leftovers(api, ns) == kept, 60, 0.5, what="only the test pod left")
    helm_test_pod = f"/api/v1/namespaces/{ns}/pods/{name}-test-connection"
    assert api.delete(helm_test_pod).status_code == 200


def test_chart_with_a_crd_and_a_custom_object(api: httpx.Client, helm: Helm, ns: str, tmp_path: Path) -> None:
    group = f"h{uuid.uuid4().hex[:6]}.example.com"
    chart = crd_chart(tmp_path, group)
    widget = f"/apis/{group}/v1/namespaces/{ns}/widgets/w1-widget"
    crd = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{group}"
    try:
        helm("install", "w1", str(chart), "--wait", "--timeout", "60s")
        assert api.get(widget).json()["spec"] == {"size": 3, "color": "blue"}

        # helm validates against the CRD's schema too (the server answers 422 for a size below minimum).
        refused = helm.run("upgrade", "w1", str(chart), "--set", "size=0")
        assert refused.returncode != 0 and "spec.size" in refused.stderr

        helm("upgrade", "w1", str(chart), "--set", "size=5", "--set", "color=red", "--wait")
        assert api.get(widget).json()["spec"] == {"size": 5, "color": "red"}
        helm("rollback", "w1", "1", "--wait")
        assert api.get(widget).json()["spec"] == {"size": 3, "color": "blue"}

        helm("uninstall", "w1", "--wait")
        assert api.get(widget).status_code == 404
        assert not release_secrets(api, ns, "w1")
        assert api.get(crd).status_code == 200, "helm never deletes what crds/ installed"
    finally:
        api.delete(crd)


def test_wait_for_jobs_returns_once_the_job_completed(
    api: httpx.Client, helm: Helm, ns: str, tmp_path: Path
) -> None:
    chart = tmp_path / "batch"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: batch\nversion: 0.1.0\n")
    (chart / "templates" / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-once\nspec:\n"
        "  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n"
        f"        - name: once\n          image: {BUSYBOX_IMAGE}\n"
        "          command: ['sh', '-c', 'sleep 2; echo done']\n"
    )
    helm("install", "b1", str(chart), "--wait", "--wait-for-jobs", "--timeout", "90s")
    job = api.get(f"/apis/batch/v1/namespaces/{ns}/jobs/b1-once").json()
    assert {c["type"]: c["status"] for c in job["status"].get("conditions") or []}.get("Complete") == "True"
    assert job["status"]["succeeded"] == 1
    helm("uninstall", "b1", "--wait")
    assert api.get(f"/apis/batch/v1/namespaces/{ns}/jobs/b1-once").status_code == 404


# A Deployment whose pod writes the release's token into its claim and is Ready once it reads it back.
_STORE_CHART = {
    "pvc.yaml": """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .Release.Name }}-data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 10Mi
""",
    "deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-store
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector:
    matchLabels: {app: {{ .Release.Name }}-store}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-store}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: store
          image: {{ .Values.image }}
          command: ["sh", "-c", "echo {{ .Values.token }} > /data/note; trap 'exit 0' TERM; sleep 3600 & wait"]
          readinessProbe:
            exec: {command: ["cat", "/data/note"]}
            periodSeconds: 1
          volumeMounts:
            - {name: data, mountPath: /data}
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: {{ .Release.Name }}-data}
""",
}


def test_wait_returns_once_the_claim_is_bound_and_uninstall_deletes_the_volume(
    cluster: UpCluster, api: httpx.Client, helm: Helm, ns: str, tmp_path: Path
) -> None:
    chart = tmp_path / "store"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: store\nversion: 0.1.0\n")
    for name, text in _STORE_CHART.items():
        (chart / "templates" / name).write_text(text)
    token = uuid.uuid4().hex
    assert KUBECTL is not None

    def kubectl(*args: str) -> str:
        done = subprocess.run([KUBECTL, "--kubeconfig", str(cluster.kubeconfig), "-n", ns, *args],
                              capture_output=True, text=True, timeout=60, env=helm.env())  # fmt: skip
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    values = ["--set", f"image={BUSYBOX_IMAGE}", "--set-string", f"token={token}"]
    installed = helm.run("install", "p1", str(chart), *values, "--wait", "--timeout", "90s", "--debug")
    assert installed.returncode == 0, installed.stderr
    # The claim waits for its first consumer (the class is WaitForFirstConsumer), so helm's first readiness
    # check found it unbound and helm went on polling until it was Bound.
    assert f"PersistentVolumeClaim is not bound: {ns}/p1-data" in installed.stderr
    row = kubectl("get", "pvc", "p1-data", "--no-headers").split()
    claim = json.loads(kubectl("get", "pvc", "p1-data", "-o", "json"))
    pv_name = claim["spec"]["volumeName"]
    assert row[:6] == ["p1-data", "Bound", pv_name, "10Mi", "RWO", storage.LOCAL_PATH_CLASS], row
    pv = json.loads(kubectl("get", "pv", pv_name, "-o", "json"))
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    (pod,) = items(api, f"/api/v1/namespaces/{ns}/pods", labelSelector="app=p1-store")
    assert pod["spec"]["nodeName"] == cluster.node
    assert storage.node_of(pv) == cluster.node  # pinned to the node the pod landed on
    assert kubectl("exec", "deploy/p1-store", "--", "cat", "/data/note").strip() == token
    volume_dir = Path(pv["spec"]["local"]["path"])
    assert (volume_dir / "note").read_text().strip() == token  # on the node, in the volume's directory

    helm("uninstall", "p1", "--wait", "--timeout", "90s")
    # helm waited for the claim itself to go (its protection finalizer holds it until the pod is gone) ...
    assert api.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/p1-data").status_code == 404
    # ... and the reclaim policy Delete then removes the volume and its directory.
    wait_until(lambda: api.get(f"/api/v1/persistentvolumes/{pv_name}").status_code == 404, 60, 0.5,
               what=f"{pv_name} deleted")  # fmt: skip
    assert not volume_dir.exists()
