"""run, expose, scale, label, annotate, edit, delete (names, -l, --all, --wait), wait, api-resources, version,
cluster-info: the output and the state they leave."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from tests import factories

pytestmark = pytest.mark.etcd


def test_run_builds_kubectls_pod(kctl, api, ns):
    r = kctl(
        "run",
        "box",
        "--image=busybox",
        "--port=8080",
        "--env=A=1",
        "--labels=app=box,tier=x",
        "--restart=Never",
        "--command",
        "--",
        "sh",
        "-c",
        "echo hi -n",
    )
    assert (r.code, r.out) == (0, "pod/box created\n"), r
    pod = api.get(f"/api/v1/namespaces/{ns}/pods/box")
    c = pod["spec"]["containers"][0]
    assert pod["metadata"]["labels"] == {"app": "box", "tier": "x"}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert c["command"] == ["sh", "-c", "echo hi -n"]
    assert c["env"] == [{"name": "A", "value": "1"}]
    assert c["ports"][0]["containerPort"] == 8080
    r = kctl("run", "plain", "--image=busybox", "--", "sleep", "1")
    assert api.get(f"/api/v1/namespaces/{ns}/pods/plain")["spec"]["containers"][0]["args"] == ["sleep", "1"]
    assert api.get(f"/api/v1/namespaces/{ns}/pods/plain")["metadata"]["labels"] == {"run": "plain"}


def test_run_dry_run_prints_yaml(kctl, api, ns):
    r = kctl("run", "dry", "--image=busybox", "--dry-run=client", "-o", "yaml")
    assert "kind: Pod" in r.out and "image: busybox" in r.out
    assert api.status(f"/api/v1/namespaces/{ns}/pods/dry") == 404


def test_expose_and_scale(kctl, api, ns):
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("exp", container="web", ports=[80])
    )
    r = kctl("expose", "deployment/exp", "--port=8080", "--target-port=80", "--type=NodePort")
    assert (r.code, r.out) == (0, "service/exp exposed\n"), r
    svc = api.get(f"/api/v1/namespaces/{ns}/services/exp")
    assert svc["spec"]["selector"] == {"app": "exp"}
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0]["port"] == 8080 and svc["spec"]["ports"][0]["targetPort"] == 80
    r = kctl("expose", "deploy", "exp", "--name=exp-default")  # the port comes from the container
    assert api.get(f"/api/v1/namespaces/{ns}/services/exp-default")["spec"]["ports"][0]["port"] == 80
    r = kctl("expose", "deployment/exp", "--port=1")
    assert r.code == 1 and "Error from server (AlreadyExists)" in r.err and '"exp" already exists' in r.err

    r = kctl("scale", "deploy/exp", "--replicas=5")
    assert r.out == "deployment.apps/exp scaled\n", r
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/exp")["spec"]["replicas"] == 5
    r = kctl("scale", "deploy", "exp", "--replicas=1", "--current-replicas=3")
    assert r.code == 1 and "Expected replicas to be 3, was 5" in r.err
    r = kctl("scale", "pod/whatever", "--replicas=1")
    assert r.code == 1 and "cannot scale pods" in r.err


def test_label_and_annotate(kctl, api, ns):
    api.post(
        f"/api/v1/namespaces/{ns}/pods",
        factories.pod("lab", {"app": "lab"}, image="busybox", container="main"),
    )
    path = f"/api/v1/namespaces/{ns}/pods/lab"
    assert kctl("label", "pod", "lab", "tier=fe", "env=dev").out == "pod/lab labeled\n"
    r = kctl("label", "pod/lab", "tier=be")
    assert r.code == 1
    assert r.err.strip() == "error: 'tier' already has a value (fe), and --overwrite is false"
    assert kctl("label", "pod/lab", "tier=be", "--overwrite").out == "pod/lab labeled\n"
    assert kctl("label", "pod/lab", "env-").out == "pod/lab unlabeled\n"
    assert api.get(path)["metadata"]["labels"] == {"app": "lab", "tier": "be"}
    r = kctl("label", "pod/lab", "bad key=x")
    assert r.code == 1 and "invalid label" in r.err
    assert kctl("label", "pods", "-l", "app=lab", "sel=yes").out == "pod/lab labeled\n"

    assert kctl("annotate", "pod/lab", "note=hello world").out == "pod/lab annotated\n"
    assert api.get(path)["metadata"]["annotations"]["note"] == "hello world"
    assert kctl("annotate", "pod/lab", "note-").out == "pod/lab annotated\n"
    assert "note" not in (api.get(path)["metadata"].get("annotations") or {})


def test_edit_applies_the_editors_change(kctl, api, ns, tmp_path: Path):
    api.post(
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        factories.deployment("ed", replicas=2, container="web", ports=[80]),
    )
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, re\n"
        "p = sys.argv[1]\n"
        "t = open(p).read()\n"
        "open(p, 'w').write(re.sub(r'replicas: 2', 'replicas: 7', t, count=1))\n"
    )
    r = kctl("edit", "deploy/ed", env={"KUBE_EDITOR": f"{sys.executable} {editor}"})
    assert (r.code, r.out) == (0, "deployment.apps/ed edited\n"), r
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/ed")["spec"]["replicas"] == 7
    r = kctl("edit", "deploy/ed", env={"KUBE_EDITOR": "true"})
    assert r.out == "Edit cancelled, no changes made.\n", r


def test_delete_by_name_selector_and_all(kctl, api, ns):
    for n, app in (("d1", "x"), ("d2", "x"), ("d3", "y")):
        api.post(
            f"/api/v1/namespaces/{ns}/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": {"del": app}}},
        )
    assert kctl("delete", "cm", "d1").out == 'configmap "d1" deleted\n'
    assert kctl("delete", "cm", "-l", "del=x").out == 'configmap "d2" deleted\n'
    r = kctl("delete", "cm")
    assert r.code == 1 and "no name was specified" in r.err
    r = kctl("delete", "cm", "-l", "del", "--all")
    assert r.out == 'configmap "d3" deleted\n'
    r = kctl("delete", "cm", "d1")
    assert r.code == 1 and r.err.strip() == 'Error from server (NotFound): configmaps "d1" not found'


def test_wait_for_condition_and_delete(kctl, api, ns):
    api.post(f"/api/v1/namespaces/{ns}/pods", factories.pod("waiter", image="busybox", container="main"))
    path = f"/api/v1/namespaces/{ns}/pods/waiter"

    def later() -> None:
        time.sleep(0.5)  # let kctl start waiting first; the result does not depend on it
        api.write_status(path, {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})

    t = threading.Thread(target=later)
    t.start()
    r = kctl("wait", "--for=condition=Ready", "pod/waiter", "--timeout=20s")
    t.join()
    assert (r.code, r.out) == (0, "pod/waiter condition met\n"), r
    r = kctl("wait", "--for=jsonpath={.status.phase}=Running", "pod/waiter", "--timeout=5s")
    assert r.out == "pod/waiter condition met\n", r
    r = kctl("wait", "--for=condition=Ready=false", "pod/waiter", "--timeout=1s")
    assert r.code == 1 and r.err.strip().endswith("error: timed out waiting for the condition on pods/waiter")

    t = threading.Thread(target=lambda: (time.sleep(0.5), api.http.delete(path)))
    t.start()
    r = kctl("wait", "--for=delete", "pod/waiter", "--timeout=20s")
    t.join()
    assert r.out == "pod/waiter condition met\n", r
    r = kctl("wait", "--for=condition=Ready", "pod/never", "--timeout=2s")
    assert r.code == 1 and 'pods "never" not found' in r.err
    r = kctl("wait", "--for=bogus", "pod/x")
    assert r.code == 1 and "unrecognized condition" in r.err


def test_api_resources_version_cluster_info(kctl, apiserver):
    r = kctl("api-resources")
    lines = r.out.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert any(line.split() == ["pods", "po", "v1", "true", "Pod"] for line in lines)
    assert any(line.split() == ["deployments", "deploy", "apps/v1", "true", "Deployment"] for line in lines)
    assert kctl("api-resources", "--namespaced=false", "-o", "name").out.splitlines().count("nodes") == 1

    r = kctl("version")
    assert r.out.splitlines()[1] == "Server Version: v1.32.0-kubelite"
    r = kctl("cluster-info")
    assert r.out.splitlines()[0] == f"Kubernetes control plane is running at {apiserver.url}"


def test_help_on_every_command(kctl):
    for cmd in (
        ["get"],
        ["describe"],
        ["apply"],
        ["rollout", "status"],
        ["config", "view"],
        ["drain"],
        ["logs"],
        ["wait"],
        ["edit"],
    ):
        r = kctl(*cmd, "--help")
        assert r.code == 0 and "Usage: kctl " + " ".join(cmd) in r.out, (cmd, r)
