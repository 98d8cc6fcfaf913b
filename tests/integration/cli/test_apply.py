"""create -f, apply -f (client-side three-way merge and --server-side), delete -f: files, directories,
stdin and multi-document YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests import factories

pytestmark = pytest.mark.etcd

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def write(path: Path, *docs: dict) -> Path:
    path.write_text(yaml.safe_dump_all(docs))
    return path


def cm(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_create_multi_document_and_stdin(kctl, api, ns, tmp_path):
    f = write(tmp_path / "two.yaml", cm("c-one", {"a": "1"}), cm("c-two", {"b": "2"}))
    r = kctl("create", "-f", str(f))
    assert (r.code, r.out) == (0, "configmap/c-one created\nconfigmap/c-two created\n"), r
    r = kctl("create", "-f", "-", input=json.dumps(cm("c-stdin", {"c": "3"})))
    assert r.out == "configmap/c-stdin created\n", r
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/c-stdin")["data"] == {"c": "3"}


def test_apply_three_way_merge(kctl, api, ns, tmp_path):
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    manifest = factories.deployment("web", replicas=2, container="web", ports=[80])
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    f = write(tmp_path / "web.yaml", manifest)

    assert kctl("apply", "-f", str(f)).out == "deployment.apps/web created\n"
    live = api.get(path)
    assert json.loads(live["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 2

    assert kctl("apply", "-f", str(f)).out == "deployment.apps/web unchanged\n"

    # Someone else sets a field that is not in the manifest: apply keeps it.
    api.patch(path, {"metadata": {"labels": {"owner": "ops"}}})
    manifest["spec"]["replicas"] = 3
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    del manifest["spec"]["template"]["spec"]["containers"][0]["env"]  # removed from the manifest: deleted
    write(f, manifest)
    assert kctl("apply", "-f", str(f)).out == "deployment.apps/web configured\n"
    live = api.get(path)
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert live["spec"]["replicas"] == 3
    assert container["image"] == "nginx:1.26"
    assert "env" not in container
    assert live["metadata"]["labels"] == {"app": "web", "owner": "ops"}


def test_apply_directory_recursive(kctl, api, ns, tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "a.yaml", cm("dir-a", {"x": "1"}))
    write(tmp_path / "sub" / "b.yml", cm("dir-b", {"x": "2"}))
    (tmp_path / "notes.txt").write_text("not a manifest")
    r = kctl("apply", "-f", str(tmp_path))
    assert r.out == "configmap/dir-a created\n", r
    r = kctl("apply", "-f", str(tmp_path), "-R")
    assert r.out == "configmap/dir-a unchanged\nconfigmap/dir-b created\n", r


def test_apply_server_side(kctl, api, ns, tmp_path):
    f = write(tmp_path / "ssa.yaml", cm("ssa", {"k": "v1"}))
    assert kctl("apply", "--server-side", "-f", str(f)).out == "configmap/ssa serverside-applied\n"
    write(f, cm("ssa", {"k": "v2"}))
    assert kctl("apply", "--server-side", "-f", str(f)).out == "configmap/ssa serverside-applied\n"
    assert api.get(f"/api/v1/namespaces/{ns}/configmaps/ssa")["data"] == {"k": "v2"}


def test_namespace_mismatch_is_refused(kctl, tmp_path):
    obj = cm("elsewhere", {})
    obj["metadata"]["namespace"] = "other"
    f = write(tmp_path / "ns.yaml", obj)
    r = kctl("apply", "-f", str(f), "-n", "mine")
    assert r.code == 1
    assert 'does not match the namespace "mine"' in r.err


def test_unknown_kind(kctl, tmp_path):
    f = write(
        tmp_path / "crd.yaml", {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    )
    r = kctl("apply", "-f", str(f))
    assert r.code == 1
    assert 'no matches for kind "Widget" in version "example.com/v1"' in r.err


def test_delete_from_file(kctl, api, ns, tmp_path):
    f = write(tmp_path / "gone.yaml", cm("gone-1", {}), cm("gone-2", {}))
    kctl("create", "-f", str(f))
    r = kctl("delete", "-f", str(f))
    assert r.out == 'configmap "gone-1" deleted\nconfigmap "gone-2" deleted\n', r
    assert api.status(f"/api/v1/namespaces/{ns}/configmaps/gone-1") == 404
    r = kctl("delete", "-f", str(f))
    assert r.code == 1
    assert 'Error from server (NotFound): configmaps "gone-1" not found' in r.err
    assert kctl("delete", "-f", str(f), "--ignore-not-found").code == 0


def _managers(obj):
    return sorted((e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or [])


def test_server_side_conflicts_force_and_migration_as_kubectl(kctl, api, ns, tmp_path):
    f = write(tmp_path / "ssa.yaml", cm("owned", {"k": "v1", "gone": "x"}))
    assert kctl("apply", "-f", str(f)).out == "configmap/owned created\n"  # client-side first
    path = f"/api/v1/namespaces/{ns}/configmaps/owned"
    assert _managers(api.get(path)) == [("kubectl-client-side-apply", "Update")]

    write(f, cm("owned", {"k": "v2", "gone": "x"}))
    r = kctl("apply", "--server-side", "--field-manager=other", "-f", str(f))
    assert r.code == 1
    assert r.err.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.k\n'
        "Please review the fields above--they currently have other managers."
    ), r.err

    # kctl's manager is kubectl's: it takes over its own client-side fields and migrates them, as kubectl does.
    assert kctl("apply", "--server-side", "-f", str(f)).out == "configmap/owned serverside-applied\n"
    assert _managers(api.get(path)) == [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]
    write(f, cm("owned", {"k": "v2"}))
    kctl("apply", "--server-side", "-f", str(f))
    assert api.get(path)["data"] == {"k": "v2"}  # what it no longer applies goes

    write(f, cm("owned", {"k": "v3"}))
    assert kctl("apply", "--server-side", "--field-manager=other", "-f", str(f)).code == 1
    r = kctl("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", str(f))
    assert r.out == "configmap/owned serverside-applied\n", r
    assert api.get(path)["data"] == {"k": "v3"}


def test_get_hides_managed_fields_unless_asked(kctl, ns, tmp_path):
    f = write(tmp_path / "mf.yaml", cm("mf", {"k": "v"}))
    kctl("apply", "--server-side", "-f", str(f))
    assert "managedFields" not in kctl("get", "cm", "mf", "-o", "yaml").out
    shown = kctl("get", "cm", "mf", "-o", "json", "--show-managed-fields").out
    assert '"manager": "kubectl"' in shown and '"f:data"' in shown
