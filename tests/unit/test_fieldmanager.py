"""Field ownership and server-side apply (apiserver.fieldmanager), with the semantics of structured-merge-diff and
kube-apiserver's field manager."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apimachinery import errors
from apimachinery import fieldpath as fp
from apiserver.fieldmanager import Conflicts, FieldManager, schema, typed
from apiserver.fieldmanager import managed as mf
from tests import factories

DEPLOYMENT = schema.root("Deployment")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def deployment(replicas: int = 1, image: str = "nginx", **extra: Any) -> dict[str, Any]:
    return {**factories.deployment("web", replicas, image, "nginx", [80], namespace="default"), **extra}


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as the store keeps it after a create: with identity."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z")
    return out


def fields_of(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    entry = next(e for e in obj["metadata"]["managedFields"] if e["manager"] == manager)
    return entry["fieldsV1"]


def managers(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or []]


FM = FieldManager("Deployment", "apps/v1", status_subresource=True)


# ---- the field set of an object ----------------------------------------------------------------------------------


def test_field_set_of_a_deployment_follows_its_schema() -> None:
    paths = typed.to_field_set(deployment(), DEPLOYMENT)
    container = (*fp.path("spec", "template", "spec", "containers"), fp.key({"name": "nginx"}))
    assert fp.path("spec", "selector") in paths  # a LabelSelector is atomic
    assert fp.path("spec", "selector", "matchLabels") not in paths
    assert container in paths and (*container, fp.field("image")) in paths
    # container ports are keyed by containerPort and protocol, TCP when left out
    port = (*container, fp.field("ports"), fp.key({"containerPort": 80, "protocol": "TCP"}))
    assert (*port, fp.field("containerPort")) in paths
    assert fp.path("spec", "template") not in paths  # a struct is not a member, only its fields


def test_lists_without_keys_are_atomic_and_sets_hold_values() -> None:
    pod = {
        "metadata": {"finalizers": ["a", "b"]},
        "spec": {"containers": [{"name": "c", "args": ["x", "y"]}]},
    }
    paths = typed.to_field_set(pod, schema.root("Pod"))
    assert (*fp.path("metadata", "finalizers"), fp.value("a")) in paths
    args = (*fp.path("spec", "containers"), fp.key({"name": "c"}), fp.field("args"))
    assert args in paths and (*args, fp.index(0)) not in paths


# ---- update -----------------------------------------------------------------------------------------------------


def test_a_create_owns_what_it_wrote_as_kube_apiserver_records_it() -> None:
    obj = deployment()
    obj["metadata"]["annotations"] = {LAST_APPLIED: "{}"}
    FM.update(None, obj, "kubectl-client-side-apply")
    [entry] = obj["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k not in ("time", "fieldsV1")} == {
        "manager": "kubectl-client-side-apply",
        "operation": "Update",
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
    }
    # Maps that appear are members ("."); structs that Go's zero value holds (spec, template) are not.
    assert entry["fieldsV1"] == {
        "f:metadata": {
            "f:annotations": {".": {}, f"f:{LAST_APPLIED}": {}},
            "f:labels": {".": {}, "f:app": {}},
        },
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"nginx"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                ".": {},
                                'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}},
                            },
                        }
                    }
                },
            },
        },
    }


def test_an_update_takes_the_fields_it_changes_from_their_owner() -> None:
    live = stored(deployment())
    FM.update(None, live, "creator")
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 5
    FM.update(live, new, "scaler")
    assert managers(new) == [("creator", "Update"), ("scaler", "Update")]
    assert fields_of(new, "scaler") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields_of(new, "creator")["f:spec"]


def test_an_update_that_changes_nothing_changes_no_entry() -> None:
    live = stored(deployment())
    FM.update(None, live, "creator")
    new = copy.deepcopy(live)
    FM.update(live, new, "someone")
    assert new["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_objects_without_managed_fields_are_not_tracked_until_applied() -> None:
    live = stored(deployment())
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 2
    FM.update(live, new, "someone")
    assert "managedFields" not in new["metadata"]


def test_managed_fields_sent_by_a_client_win_and_an_empty_entry_resets_them() -> None:
    live = stored(deployment())
    FM.update(None, live, "creator")
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{}]
    FM.update(live, new, "someone")
    assert "managedFields" not in new["metadata"]


def test_status_is_not_owned_through_the_main_resource_but_through_status() -> None:
    obj = deployment(status={"replicas": 1})
    FM.update(None, obj, "creator")
    assert "f:status" not in fields_of(obj, "creator")
    live = stored(obj)
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 2}
    FieldManager("Deployment", "apps/v1", "status", status_subresource=True).update(live, new, "controller")
    [entry] = [e for e in new["metadata"]["managedFields"] if e["manager"] == "controller"]
    assert entry["subresource"] == "status" and entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}


def test_update_managers_are_capped_at_ten() -> None:
    live = stored(deployment())
    FM.update(None, live, "m00")
    for i in range(1, 12):
        new = copy.deepcopy(live)
        new["metadata"]["labels"] = {**new["metadata"]["labels"], f"k{i}": "v"}
        FM.update(live, new, f"m{i:02d}")
        live = new
    names = [m for m, _ in managers(live)]
    assert len(names) == 10 and "ancient-changes" in names


# ---- apply ------------------------------------------------------------------------------------------------------


def applied(manager: str = "kubectl-client-side-apply") -> dict[str, Any]:
    live = stored(deployment())
    FM.update(None, live, manager)
    return live


def test_apply_of_a_changed_field_owned_by_another_manager_conflicts() -> None:
    live = applied()
    with pytest.raises(Conflicts) as caught:
        FM.apply(live, deployment(replicas=3), "other", force=False)
    err = caught.value.status_error()
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert err.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }


def test_several_conflicts_are_listed_per_manager() -> None:
    live = applied()
    with pytest.raises(Conflicts) as caught:
        FM.apply(live, deployment(replicas=3, image="nginx:2"), "other", force=False)
    assert caught.value.status_error().message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image'
    )


def test_applying_the_same_values_shares_ownership_without_conflict() -> None:
    live = applied()
    out = FM.apply(live, deployment(), "other", force=False)
    assert managers(out) == [("other", "Apply"), ("kubectl-client-side-apply", "Update")]
    assert fields_of(out, "other")["f:spec"]["f:replicas"] == {}
    assert fields_of(out, "kubectl-client-side-apply")["f:spec"]["f:replicas"] == {}


def test_force_takes_the_fields() -> None:
    out = FM.apply(applied(), deployment(replicas=3), "other", force=True)
    assert out["spec"]["replicas"] == 3
    assert "f:replicas" in fields_of(out, "other")["f:spec"]
    assert "f:replicas" not in fields_of(out, "kubectl-client-side-apply")["f:spec"]


def test_a_field_no_longer_applied_is_removed_unless_another_manager_owns_it() -> None:
    cfg = deployment()
    cfg["metadata"]["labels"]["tier"] = "web"
    cfg["spec"]["minReadySeconds"] = 5
    live = stored(FM.apply(None, cfg, "a", force=False))
    # Another manager co-owns minReadySeconds (same value): it stays; the label only "a" owned goes.
    shared = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"minReadySeconds": 5},
    }
    live = stored(FM.apply(live, shared, "b", force=False))
    out = FM.apply(live, deployment(), "a", force=False)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert out["spec"]["minReadySeconds"] == 5
    # Once "b" drops it too, it goes.
    empty = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    out = FM.apply(stored(out), empty, "b", force=False)
    assert "minReadySeconds" not in out["spec"]


def test_list_map_elements_merge_by_key_in_the_applied_order() -> None:
    live = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}}
    cfg = {"spec": {"containers": [{"name": "c", "image": "2"}, {"name": "b", "image": "2"}]}}
    merged = typed.merge(live, cfg, schema.root("Pod"))
    assert merged["spec"]["containers"] == [
        {"name": "a", "image": "1"},
        {"name": "c", "image": "2"},
        {"name": "b", "image": "2"},
    ]


def test_sets_merge_as_unions_and_atomic_lists_are_replaced() -> None:
    live = {"metadata": {"finalizers": ["x"]}, "spec": {"containers": [{"name": "a", "args": ["1", "2"]}]}}
    cfg = {"metadata": {"finalizers": ["y"]}, "spec": {"containers": [{"name": "a", "args": ["3"]}]}}
    merged = typed.merge(live, cfg, schema.root("Pod"))
    assert merged["metadata"]["finalizers"] == ["x", "y"]
    assert merged["spec"]["containers"][0]["args"] == ["3"]


def test_apply_creates_with_only_the_applier_as_manager() -> None:
    out = FM.apply(None, deployment(), "kubectl", force=False)
    assert managers(out) == [("kubectl", "Apply")]
    assert "f:metadata" in fields_of(out, "kubectl")  # the label; name and namespace belong to nobody
    assert fields_of(out, "kubectl")["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_the_first_apply_to_an_untracked_object_gives_its_fields_to_before_first_apply() -> None:
    live = stored(deployment())
    out = FM.apply(live, deployment(replicas=1), "a", force=False)
    assert ("before-first-apply", "Update") in managers(out)


def test_an_applied_configuration_may_not_carry_managed_fields_nor_break_its_keys() -> None:
    cfg = deployment()
    cfg["metadata"]["managedFields"] = []
    with pytest.raises(errors.StatusError) as caught:
        FM.apply(None, cfg, "a", force=False)
    assert (caught.value.code, caught.value.message) == (400, "metadata.managedFields must be nil")
    cfg = deployment()
    cfg["spec"]["template"]["spec"]["containers"].append({"name": "nginx", "image": "x"})
    with pytest.raises(errors.StatusError) as caught:
        FM.apply(None, cfg, "a", force=False)
    assert caught.value.code == 400 and "duplicate entries" in caught.value.message


def test_kubectl_takes_over_fields_whose_values_match_its_last_applied_configuration() -> None:
    cfg = deployment()
    live = stored(deployment())
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(cfg)}
    FM.update(None, live, "kubectl-client-side-apply")
    # Another manager conflicts; kubectl (upgrading from client-side apply) does not, and refreshes the annotation.
    with pytest.raises(Conflicts):
        FM.apply(live, deployment(replicas=4), "other", force=False)
    out = FM.apply(live, deployment(replicas=4), "kubectl", force=False)
    assert out["spec"]["replicas"] == 4
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 4
    # A field changed since the last client-side apply is still a conflict for kubectl.
    drifted = copy.deepcopy(live)
    drifted["spec"]["template"]["spec"]["containers"][0]["image"] = "changed"
    with pytest.raises(Conflicts) as caught:
        FM.apply(drifted, deployment(replicas=4, image="nginx:2"), "kubectl", force=False)
    assert [fp.path_string(p) for _, p in caught.value.conflicts] == [
        '.spec.template.spec.containers[name="nginx"].image'
    ]


def test_managed_entries_are_written_sorted_by_operation_time_and_manager() -> None:
    managed: mf.Managed = {}
    for name, op, time in (
        ("b", "Update", "2026-01-02T00:00:00Z"),
        ("a", "Update", "2026-01-03T00:00:00Z"),
        ("z", "Apply", None),
    ):
        entry = mf.Entry(name, op, "apps/v1", {fp.path("spec", name)}, time)
        managed[entry.identity] = entry
    assert [e["manager"] for e in mf.encode(managed) or []] == ["z", "b", "a"]


POD = schema.root("Pod")


@pytest.mark.parametrize(
    "spec",
    [
        {"containers": [{"image": "nginx"}]},  # a list-map element without its key
        {"containers": [{"name": "a", "ports": [{"name": "http"}]}]},  # deeper: a port without containerPort
        {
            "containers": [{"name": "a", "image": "x"}],
            "x": {"y": [1]},
            "volumes": [7],
        },  # a list-map of scalars
    ],
)
def test_an_unchanged_subtree_still_raises_the_schema_error_of_the_walk(spec: dict[str, Any]) -> None:
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": spec,
        "status": {"phase": "A"},
    }
    new = {**copy.deepcopy(old), "status": {"phase": "B"}}
    with pytest.raises(typed.SchemaError):
        typed.compare(old, new, POD)
    with pytest.raises(typed.SchemaError):
        typed.compare(old, copy.deepcopy(old), POD)


@pytest.mark.parametrize(
    ("old_value", "new_value", "changed"),
    [
        ([1, 2], [1, 2], False),
        ({"a": True}, {"a": 1}, True),  # a boolean is not a number, though Python says True == 1
        ({"a": 1}, {"a": 1.0}, False),  # numbers by value
        ({"a": None}, {"a": None}, False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),  # key order does not matter
    ],
)
def test_compare_of_same_looking_values(old_value: Any, new_value: Any, changed: bool) -> None:
    old = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"overhead": old_value}}
    new = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"overhead": new_value}}
    cmp = typed.compare(old, new, POD)
    assert bool(cmp.modified) is changed
    assert not cmp.added and not cmp.removed


def test_a_status_write_over_a_spec_the_walk_refuses_keeps_the_managed_fields() -> None:
    """A stored pod whose container lacks its key: the status writer takes nothing (the live entries stay)."""
    live = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "uid": "u", "managedFields": [_entry("creator", {"f:spec": {"f:x": {}}})]},
        "spec": {"containers": [{"image": "nginx"}]},
        "status": {"phase": "Pending"},
    }
    new = copy.deepcopy(live)
    new["status"] = {"phase": "Running"}
    FieldManager("Pod", "v1", subresource="status", status_subresource=True).update(live, new, "kubelet")
    assert managers(new) == [("creator", "Update")]


def _entry(manager: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z",
            "fieldsType": "FieldsV1", "fieldsV1": fields}  # fmt: skip
