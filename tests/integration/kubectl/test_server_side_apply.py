"""Server-side apply through the real kubectl: field managers, conflicts and --force-conflicts, fields removed when
no manager applies them any more, the migration of client-side-applied objects, and managedFields as kubectl shows
(and by default hides) them. The server's answers are kube-apiserver's: the conflict message kubectl prints is the
one internal.NewConflictError builds (k8s.io/apimachinery pkg/util/managedfields/internal/conflict.go)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests import factories
from tests.factories import Obj
from tests.integration.kubectl.kube import MARKS, Api, Kubectl

pytestmark = MARKS


def _write(tmp_path: Path, obj: Obj, name: str = "deploy.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(obj))
    return str(path)


def _managers(obj: Obj) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or []]


def _fields(obj: Obj, manager: str) -> Obj:
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_two_managers_conflict_until_one_forces(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    obj = factories.deployment("web", replicas=2)
    manifest = _write(tmp_path, obj)
    out = kubectl("apply", "--server-side", "--field-manager=alice", "-f", manifest)
    assert out.strip() == "deployment.apps/web serverside-applied"
    assert _managers(api.get(path)) == [("alice", "Apply")]

    obj["spec"]["replicas"] = 5
    manifest = _write(tmp_path, obj)
    err = kubectl.fails("apply", "--server-side", "--field-manager=bob", "-f", manifest)
    assert err.startswith('error: Apply failed with 1 conflict: conflict with "alice": .spec.replicas\n'), err
    assert "--force-conflicts" in err
    assert api.get(path)["spec"]["replicas"] == 2

    # Applying the value alice has is no conflict: bob co-owns it.
    obj["spec"]["replicas"] = 2
    kubectl("apply", "--server-side", "--field-manager=bob", "-f", _write(tmp_path, obj))
    assert "f:replicas" in _fields(api.get(path), "bob")["f:spec"]

    obj["spec"]["replicas"] = 5
    out = kubectl(
        "apply", "--server-side", "--field-manager=bob", "--force-conflicts", "-f", _write(tmp_path, obj)
    )
    assert out.strip() == "deployment.apps/web serverside-applied"
    stored = api.get(path)
    assert stored["spec"]["replicas"] == 5
    assert "f:replicas" in _fields(stored, "bob")["f:spec"]
    assert "f:replicas" not in _fields(stored, "alice")["f:spec"]


def test_a_field_one_manager_drops_goes_unless_another_owns_it(
    kubectl: Kubectl, api: Api, ns: str, tmp_path: Path
) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    obj = factories.deployment("web")
    obj["metadata"]["labels"] = {"app": "web", "tier": "front", "team": "a"}
    kubectl("apply", "--server-side", "--field-manager=alice", "-f", _write(tmp_path, obj))
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"team": "a"}},
    }
    kubectl("apply", "--server-side", "--field-manager=bob", "-f", _write(tmp_path, other, "bob.yaml"))

    obj["metadata"]["labels"] = {"app": "web"}
    kubectl("apply", "--server-side", "--field-manager=alice", "-f", _write(tmp_path, obj))
    assert api.get(path)["metadata"]["labels"] == {"app": "web", "team": "a"}  # bob still applies team


def test_conflict_with_a_client_side_apply_and_its_migration(
    kubectl: Kubectl, api: Api, ns: str, tmp_path: Path
) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    obj = factories.deployment("web", replicas=1)
    kubectl("apply", "-f", _write(tmp_path, obj))
    assert ("kubectl-client-side-apply", "Update") in _managers(api.get(path))

    obj["spec"]["replicas"] = 3
    manifest = _write(tmp_path, obj)
    err = kubectl.fails("apply", "--server-side", "--field-manager=other", "-f", manifest)
    assert err.startswith(
        'error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: '
        ".spec.replicas\n"
    ), err

    # kubectl's own manager takes over what it applied client-side (the values still match the annotation), and
    # kubectl then folds the client-side manager into its Apply entry.
    out = kubectl("apply", "--server-side", "-f", manifest)
    assert out.strip() == "deployment.apps/web serverside-applied"
    stored = api.get(path)
    assert stored["spec"]["replicas"] == 3
    assert sorted(_managers(stored)) == [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]
    last = json.loads(stored["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["spec"]["replicas"] == 3

    # Now a field left out of the manifest goes, as server-side apply removes what its manager stopped applying.
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    kubectl("apply", "--server-side", "-f", _write(tmp_path, obj))
    del obj["spec"]["template"]["spec"]["containers"][0]["env"]
    kubectl("apply", "--server-side", "-f", _write(tmp_path, obj))
    assert "env" not in api.get(path)["spec"]["template"]["spec"]["containers"][0]


def test_get_hides_managed_fields_unless_asked(kubectl: Kubectl, ns: str, tmp_path: Path) -> None:
    kubectl(
        "apply", "--server-side", "--field-manager=alice", "-f", _write(tmp_path, factories.deployment("web"))
    )
    assert "managedFields" not in yaml.safe_load(kubectl("get", "deploy", "web", "-o", "yaml"))["metadata"]
    shown = yaml.safe_load(kubectl("get", "deploy", "web", "-o", "yaml", "--show-managed-fields"))
    [entry] = shown["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["fieldsType"]) == (
        "alice",
        "Apply",
        "apps/v1",
        "FieldsV1",
    )
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(containers) == ['k:{"name":"app"}'] and "." in containers['k:{"name":"app"}']


def test_writes_record_their_manager(kubectl: Kubectl, api: Api, ns: str, tmp_path: Path) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/web"
    kubectl("create", "-f", _write(tmp_path, factories.deployment("web")))
    kubectl("scale", "deploy/web", "--replicas=4")
    kubectl("label", "deploy/web", "extra=yes")
    entries = {
        (e["manager"], e.get("subresource", "")): e for e in api.get(path)["metadata"]["managedFields"]
    }
    assert entries[("kubectl-create", "")]["operation"] == "Update"
    assert entries[("kubectl", "scale")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert entries[("kubectl-label", "")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:extra": {}}}}
