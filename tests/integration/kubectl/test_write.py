"""kubectl create, apply (client- and server-side), diff, patch, label, annotate, scale, set image, expose, run
and delete; every command's output is checked and then the stored object is read back over HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from tests import factories
from tests.integration.kubectl.kube import MARKS, Api, Kubectl
from tests.namespaces import purge_namespace

pytestmark = MARKS

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _manifest(tmp_path: Path, obj: dict, name: str = "manifest.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(obj))
    return path


def test_create_from_file(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, factories.pod("nginx", {"app": "web"}, image="nginx:1.25"))
    assert kubectl("create", "-f", str(manifest)).strip() == "pod/nginx created"

    stored = api.get(f"/api/v1/namespaces/{ns}/pods/nginx")
    assert stored["metadata"]["namespace"] == ns
    assert stored["metadata"]["labels"] == {"app": "web"}
    assert stored["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert stored["status"]["phase"] == "Pending"

    err = kubectl.fails("create", "-f", str(manifest))
    assert "Error from server (AlreadyExists)" in err and 'pods "nginx" already exists' in err


def test_create_rejects_unknown_fields(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    bad = factories.pod("strict", image="nginx:1.25")
    bad["spec"]["containers"][0]["imagee"] = "typo"
    err = kubectl.fails("create", "-f", str(_manifest(tmp_path, bad)))
    assert "imagee" in err and "unknown field" in err
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/strict") == 404


def test_apply_new_unchanged_changed(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    obj = factories.deployment("web", replicas=2)
    manifest = _manifest(tmp_path, obj)
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"

    assert kubectl("apply", "-f", str(manifest)).strip() == "deployment.apps/web created"
    first = api.get(path)
    assert first["spec"]["replicas"] == 2
    assert json.loads(first["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 2

    assert kubectl("apply", "-f", str(manifest)).strip() == "deployment.apps/web unchanged"
    assert api.get(path)["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    obj["spec"]["replicas"] = 3
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    _manifest(tmp_path, obj)
    assert kubectl("apply", "-f", str(manifest)).strip() == "deployment.apps/web configured"
    changed = api.get(path)
    assert changed["spec"]["replicas"] == 3
    assert [c["image"] for c in changed["spec"]["template"]["spec"]["containers"]] == ["nginx:1.26"]
    assert changed["metadata"]["generation"] == first["metadata"]["generation"] + 1
    assert json.loads(changed["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 3

    # Removing a field from the manifest removes it from the object (a three-way merge with last-applied).
    obj["metadata"]["labels"] = {}
    _manifest(tmp_path, obj)
    assert kubectl("apply", "-f", str(manifest)).strip() == "deployment.apps/web configured"
    assert "app" not in (api.get(path)["metadata"].get("labels") or {})


def test_apply_server_side(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
    manifest = _manifest(tmp_path, cm)
    assert (
        kubectl("apply", "--server-side", "-f", str(manifest)).strip() == "configmap/cfg serverside-applied"
    )
    path = f"/api/v1/namespaces/{ns}/configmaps/cfg"
    assert api.get(path)["data"] == {"a": "1"}

    cm["data"] = {"a": "2", "b": "3"}
    _manifest(tmp_path, cm)
    assert (
        kubectl("apply", "--server-side", "-f", str(manifest)).strip() == "configmap/cfg serverside-applied"
    )
    assert api.get(path)["data"] == {"a": "2", "b": "3"}

    # An object created by client-side apply can be taken over by server-side apply.
    obj = factories.deployment("ssa", replicas=1)
    dmanifest = _manifest(tmp_path, obj, "deploy.yaml")
    kubectl("apply", "-f", str(dmanifest))
    obj["spec"]["replicas"] = 4
    _manifest(tmp_path, obj, "deploy.yaml")
    assert (
        kubectl("apply", "--server-side", "-f", str(dmanifest)).strip()
        == "deployment.apps/ssa serverside-applied"
    )
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/ssa")["spec"]["replicas"] == 4


def test_diff(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    obj = factories.deployment("web", replicas=3)
    manifest = _manifest(tmp_path, obj)
    kubectl("apply", "-f", str(manifest))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    before = api.get(path)

    same = kubectl.run("diff", "-f", str(manifest))
    assert (same.returncode, same.stdout) == (0, ""), same.stderr

    obj["spec"]["replicas"] = 5
    _manifest(tmp_path, obj)
    changed = kubectl.run("diff", "-f", str(manifest))
    assert changed.returncode == 1, changed.stderr  # 1 = differences found, >1 = error
    lines = changed.stdout.splitlines()
    assert "-  replicas: 3" in lines and "+  replicas: 5" in lines
    # diff is a dry run: nothing was written
    after = api.get(path)
    assert after["spec"]["replicas"] == 3
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_diff_shows_only_real_changes(kubectl: Kubectl, tmp_path: Path) -> None:
    obj = factories.deployment("web", replicas=3)
    manifest = _manifest(tmp_path, obj)
    kubectl("apply", "-f", str(manifest))
    obj["spec"]["replicas"] = 5
    _manifest(tmp_path, obj)
    changed = kubectl.run("diff", "-f", str(manifest))
    assert changed.returncode == 1, changed.stderr
    # The dry-run PATCH answer keeps the live resourceVersion, as kube-apiserver's does.
    assert "resourceVersion" not in changed.stdout


def test_diff_server_side_new_object(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fresh"}, "data": {"a": "1"}}
    result = kubectl.run("diff", "--server-side", "-f", str(_manifest(tmp_path, cm)))
    assert result.returncode == 1, result.stderr
    assert '+  a: "1"' in result.stdout.splitlines()
    assert api.status_code(f"/api/v1/namespaces/{ns}/configmaps/fresh") == 404


def test_server_dry_run_writes_nothing(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, factories.pod("dry", image="nginx:1.25"))
    assert (
        kubectl("apply", "-f", str(manifest), "--dry-run=server").strip()
        == "pod/dry created (server dry run)"
    )
    created = json.loads(kubectl("create", "-f", str(manifest), "--dry-run=server", "-o", "json"))
    assert created["metadata"]["name"] == "dry" and created["metadata"]["namespace"] == ns
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/dry") == 404

    kubectl("create", "-f", str(manifest))
    assert (
        kubectl("label", "pod", "dry", "x=y", "--dry-run=server").strip()
        == "pod/dry labeled (server dry run)"
    )
    assert "x" not in (api.get(f"/api/v1/namespaces/{ns}/pods/dry")["metadata"].get("labels") or {})


def test_create_generators(kubectl: Kubectl, api: Api, ns: str) -> None:
    assert kubectl("create", "configmap", "gen", "--from-literal=k=v").strip() == "configmap/gen created"
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/gen")["data"] == {"k": "v"}
    out = kubectl("create", "deployment", "gen", "--image=nginx:1.25", "--replicas=2")
    assert out.strip() == "deployment.apps/gen created"
    assert api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/gen")["spec"]["replicas"] == 2


def test_patch_merge_json_strategic(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web", replicas=1))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"

    out = kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    assert out.strip() == "deployment.apps/web patched"
    assert api.get(path)["spec"]["replicas"] == 2

    out = kubectl(
        "patch", "deploy", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":3}]'
    )
    assert out.strip() == "deployment.apps/web patched"
    assert api.get(path)["spec"]["replicas"] == 3

    # strategic (the default): containers are merged by name, not replaced
    sidecar = '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}'
    assert kubectl("patch", "deploy", "web", "-p", sidecar).strip() == "deployment.apps/web patched"
    containers = {c["name"]: c["image"] for c in api.get(path)["spec"]["template"]["spec"]["containers"]}
    assert containers == {"app": "nginx:1.25", "sidecar": "busybox:1.36"}

    # $patch: delete removes one element by its merge key
    remove = '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}'
    kubectl("patch", "deploy", "web", "--type=strategic", "-p", remove)
    assert [c["name"] for c in api.get(path)["spec"]["template"]["spec"]["containers"]] == ["app"]

    # a merge patch replaces lists wholesale
    kubectl("patch", "deploy", "web", "--type=merge", "-p", sidecar)
    assert [c["name"] for c in api.get(path)["spec"]["template"]["spec"]["containers"]] == ["sidecar"]

    before = api.get(path)["metadata"]["resourceVersion"]
    out = kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":3}}')
    assert out.strip() == "deployment.apps/web patched (no change)"
    assert api.get(path)["metadata"]["resourceVersion"] == before

    err = kubectl.fails(
        "patch", "deploy", "web", "--type=json", "-p", '[{"op":"test","path":"/spec/replicas","value":9}]'
    )
    assert "The request is invalid" in err and "/spec/replicas" in err  # 422, as kube-apiserver answers
    assert api.get(path)["spec"]["replicas"] == 3


def test_label_and_annotate(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("p", {"app": "web"}, image="nginx:1.25"))
    path = f"/api/v1/namespaces/{ns}/pods/p"

    assert kubectl("label", "pod", "p", "env=prod", "tier=fe").strip() == "pod/p labeled"
    assert api.get(path)["metadata"]["labels"] == {"app": "web", "env": "prod", "tier": "fe"}

    err = kubectl.fails("label", "pod", "p", "env=dev")
    assert "already has a value (prod)" in err
    kubectl("label", "pod", "p", "env=dev", "--overwrite")
    kubectl("label", "pod", "p", "tier-")
    assert api.get(path)["metadata"]["labels"] == {"app": "web", "env": "dev"}

    assert kubectl("annotate", "pod", "p", "owner=team-a", "note=hello world").strip() == "pod/p annotated"
    assert api.get(path)["metadata"]["annotations"] == {"owner": "team-a", "note": "hello world"}
    kubectl("annotate", "pod", "p", "owner-")
    assert api.get(path)["metadata"]["annotations"] == {"note": "hello world"}

    # label by selector, over several objects
    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("q", {"app": "web"}, image="nginx:1.25"))
    out = kubectl("label", "pods", "-l", "app=web", "batch=1")
    assert sorted(out.split("\n")[:2]) == ["pod/p labeled", "pod/q labeled"]
    assert api.get(f"/api/v1/namespaces/{ns}/pods/q")["metadata"]["labels"]["batch"] == "1"


def test_scale(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web", replicas=1))
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"

    assert kubectl("scale", "deploy/web", "--replicas=3").strip() == "deployment.apps/web scaled"
    assert api.get(path)["spec"]["replicas"] == 3
    scale = api.get(path + "/scale")
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == ("Scale", "autoscaling/v1", 3)
    assert scale["status"]["selector"] == "app=web"

    # --current-replicas makes kubectl GET and PUT the Scale with its resourceVersion as a precondition
    assert (
        kubectl("scale", "deploy/web", "--current-replicas=3", "--replicas=5").strip()
        == "deployment.apps/web scaled"
    )
    assert api.get(path)["spec"]["replicas"] == 5
    err = kubectl.fails("scale", "deploy/web", "--current-replicas=3", "--replicas=7")
    assert "Expected replicas to be 3, was 5" in err
    assert api.get(path)["spec"]["replicas"] == 5


def test_set_image(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web"))
    out = kubectl("set", "image", "deploy/web", "app=nginx:1.27")
    assert out.strip() == "deployment.apps/web image updated"
    stored = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert stored["metadata"]["generation"] == 2


def test_expose_deployment(kubectl: Kubectl, api: Api, ns: str) -> None:
    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web"))
    assert (
        kubectl("expose", "deploy", "web", "--port=80", "--target-port=8080").strip() == "service/web exposed"
    )
    svc = api.get(f"/api/v1/namespaces/{ns}/services/web")
    assert svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["clusterIP"].count(".") == 3
    port = svc["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")


def test_run(kubectl: Kubectl, api: Api, ns: str) -> None:
    assert kubectl("run", "x", "--image=busybox:1.36", "--labels=team=a", "--", "sleep", "60").strip() == (
        "pod/x created"
    )
    stored = api.get(f"/api/v1/namespaces/{ns}/pods/x")
    assert stored["metadata"]["labels"] == {"team": "a"}
    container = stored["spec"]["containers"][0]
    assert (container["name"], container["image"], container["args"]) == (
        "x",
        "busybox:1.36",
        ["sleep", "60"],
    )
    assert stored["spec"]["restartPolicy"] == "Always"

    kubectl("run", "y", "--image=busybox:1.36")
    assert api.get(f"/api/v1/namespaces/{ns}/pods/y")["metadata"]["labels"] == {"run": "y"}


def test_delete_from_file_and_by_name(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, factories.pod("gone", image="nginx:1.25"))
    kubectl("create", "-f", str(manifest))
    assert kubectl("delete", "-f", str(manifest)).strip() == 'pod "gone" deleted'
    assert api.status_code(f"/api/v1/namespaces/{ns}/pods/gone") == 404

    for name in ("a", "b"):
        api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod(name, image="nginx:1.25"))
    out = kubectl("delete", "pod", "a", "b")
    assert out.splitlines() == ['pod "a" deleted', 'pod "b" deleted']
    assert api.get(f"/api/v1/namespaces/{ns}/pods")["items"] == []

    api.create(f"/apis/apps/v1/namespaces/{ns}/deployments", factories.deployment("web"))
    assert kubectl("delete", "deploy", "web").strip() == 'deployment.apps "web" deleted'
    assert api.status_code(f"/apis/apps/v1/namespaces/{ns}/deployments/web") == 404

    err = kubectl.fails("delete", "pod", "never")
    assert 'Error from server (NotFound): pods "never" not found' in err
    assert kubectl.run("delete", "pod", "never", "--ignore-not-found").returncode == 0

    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("l1", {"del": "yes"}, image="nginx:1.25"))
    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("l2", {"del": "no"}, image="nginx:1.25"))
    assert kubectl("delete", "pods", "-l", "del=yes").strip() == 'pod "l1" deleted'
    assert [p["metadata"]["name"] for p in api.get(f"/api/v1/namespaces/{ns}/pods")["items"]] == ["l2"]


def test_multi_document_apply_and_delete(kube: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    target = ns + "-m"
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}},
        {**factories.deployment("web"), "metadata": {"name": "web", "namespace": target}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": target},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    ]
    manifest = tmp_path / "stack.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))
    try:
        out = kube("apply", "-f", str(manifest)).splitlines()
        assert out == [f"namespace/{target} created", "deployment.apps/web created", "service/web created"]
        assert kube("apply", "-f", str(manifest)).splitlines() == [
            f"namespace/{target} unchanged",
            "deployment.apps/web unchanged",
            "service/web unchanged",
        ]
        assert api.get(f"/api/v1/namespaces/{target}/services/web")["spec"]["ports"][0]["targetPort"] == 80

        # delete -f without waiting: nothing finalizes a namespace here (no namespace controller)
        out = kube("delete", "-f", str(manifest), "--wait=false").splitlines()
        assert out == [
            f'namespace "{target}" deleted',
            'deployment.apps "web" deleted',
            'service "web" deleted',
        ]
        assert api.status_code(f"/apis/apps/v1/namespaces/{target}/deployments/web") == 404
        assert api.status_code(f"/api/v1/namespaces/{target}/services/web") == 404
        assert api.get(f"/api/v1/namespaces/{target}")["status"]["phase"] == "Terminating"
    finally:
        purge_namespace(api.http, target)


def test_edit_replace_and_node_commands(
    kube: Kubectl, kubectl: Kubectl, api: Api, ns: str, tmp_path: Path
) -> None:
    api.create(f"/api/v1/namespaces/{ns}/pods", factories.pod("e", image="nginx:1.25"))
    # kubectl edit runs $EDITOR on a temp file and PATCHes the difference
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/nginx:1.25/nginx:1.27/' \"$1\"\n")
    editor.chmod(0o755)
    done = subprocess.run(
        kubectl.argv("edit", "pod", "e"),
        env={**kubectl.env(), "EDITOR": str(editor)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and done.stdout.strip() == "pod/e edited", done.stderr
    assert api.get(f"/api/v1/namespaces/{ns}/pods/e")["spec"]["containers"][0]["image"] == "nginx:1.27"

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "r"}, "data": {"a": "1"}}
    kubectl("create", "-f", str(_manifest(tmp_path, cm)))
    cm["data"] = {"b": "2"}
    assert kubectl("replace", "-f", str(_manifest(tmp_path, cm))).strip() == "configmap/r replaced"
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/r")["data"] == {"b": "2"}

    node = f"node-{ns}"
    api.create("/api/v1/nodes", {"metadata": {"name": node}})
    try:
        assert kube("cordon", node).strip() == f"node/{node} cordoned"
        assert api.get(f"/api/v1/nodes/{node}")["spec"]["unschedulable"] is True
        assert kube("taint", "node", node, "gpu=yes:NoSchedule").strip() == f"node/{node} tainted"
        taints = api.get(f"/api/v1/nodes/{node}")["spec"]["taints"]
        assert taints == [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]
        assert kube("uncordon", node).strip() == f"node/{node} uncordoned"
        assert not api.get(f"/api/v1/nodes/{node}")["spec"].get("unschedulable")
    finally:
        api.delete(f"/api/v1/nodes/{node}")
