"""CustomResourceDefinitions: what is refused, the status they get, and the declarations made from them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from apiserver import printers
from apiserver.crd.info import infos_from_crd
from apiserver.crd.lifecycle import CLEANUP_FINALIZER, CRDStrategy, desired_status, established, set_defaults
from apiserver.crd.validation import validate_crd
from apiserver.resourcetable import ResourceTable, version_priority
from tests import factories


def fields(causes: list[dict[str, str]]) -> dict[str, str]:
    return {c["field"]: c["message"] for c in causes}


def test_a_valid_crd_has_no_causes() -> None:
    crd = factories.crontab_crd()
    set_defaults(crd)
    assert validate_crd(crd) == []
    assert crd["spec"]["names"]["listKind"] == "CronTabList"
    assert crd["spec"]["conversion"] == {"strategy": "None"}


def test_names_scope_and_versions_are_checked() -> None:
    crd = factories.crontab_crd()
    crd["metadata"]["name"] = "wrong.example.com"
    crd["spec"]["group"] = "nodots"
    crd["spec"]["scope"] = "Galaxy"
    crd["spec"]["names"]["plural"] = "Cron_Tabs"
    crd["spec"]["versions"][1]["storage"] = True
    del crd["spec"]["versions"][0]["schema"]
    crd["spec"]["versions"][1]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["bad"] = {}
    crd["spec"]["versions"][1]["subresources"]["scale"]["specReplicasPath"] = ".status.replicas"
    crd["spec"]["versions"][1]["additionalPrinterColumns"][0]["type"] = "colour"
    found = fields(validate_crd(crd))
    assert found["spec.group"] == 'Invalid value: "nodots": should be a domain with at least one dot'
    assert found["metadata.name"].endswith('must be spec.names.plural+"."+spec.group')
    assert found["spec.scope"] == 'Unsupported value: "Galaxy": supported values: "Cluster", "Namespaced"'
    assert "spec.names.plural" in found
    assert found["spec.versions"].endswith("must have exactly one version marked as storage version")
    assert found["spec.versions[0].schema.openAPIV3Schema"] == "Required value: schemas are required"
    assert found["spec.versions[1].schema.openAPIV3Schema.properties[spec].properties[bad].type"] == (
        "Required value: must not be empty for specified object fields"
    )
    assert found["spec.versions[1].subresources.scale.specReplicasPath"].endswith(
        "should be a json path under .spec"
    )
    assert "spec.versions[1].additionalPrinterColumns[0].type" in found


def test_group_and_scope_are_immutable() -> None:
    old = factories.crontab_crd()
    new = copy.deepcopy(old)
    new["spec"]["scope"] = "Cluster"
    assert "spec.scope" in fields(validate_crd(new, old))


def test_status_accepts_names_and_establishes() -> None:
    crd = factories.crontab_crd()
    status = desired_status(crd, [], set())
    assert status["acceptedNames"]["plural"] == "crontabs"
    assert status["storedVersions"] == ["v1"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {
        "NamesAccepted": ("True", "NoConflicts"),
        "Established": ("True", "InitialNamesAccepted"),
    }
    crd["status"] = status
    assert established(crd)
    assert desired_status(crd, [], set()) == status, "unchanged: nothing to write"


def test_conflicting_names_are_not_accepted() -> None:
    first = factories.crontab_crd()
    first["status"] = desired_status(first, [], set())
    second = factories.crontab_crd(plural="crontabs2", kind="CronTab", short_names=())
    status = desired_status(second, [first], set())
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {"NamesAccepted": ("False", "KindConflict"), "Established": ("False", "NotAccepted")}
    builtin = desired_status(
        factories.crontab_crd(group="apps", plural="deployments"), [], {("apps", "deployments")}
    )
    assert builtin["conditions"][0]["reason"] == "PluralConflict"


def test_deletion_adds_the_cleanup_finalizer_and_a_terminating_condition() -> None:
    crd = factories.crontab_crd()
    strategy = CRDStrategy()
    assert not strategy.finalized(crd), "not before it is marked"
    strategy.prepare_for_delete(crd)
    assert crd["metadata"]["finalizers"] == [CLEANUP_FINALIZER]
    assert crd["status"]["conditions"][0]["type"] == "Terminating"
    crd["metadata"]["deletionTimestamp"] = "2026-11-27T12:00:00Z"
    assert strategy.finalized(crd)


def test_infos_declare_every_served_version() -> None:
    crd = factories.crontab_crd(scope="Cluster")
    crd["spec"]["versions"].append({**crd["spec"]["versions"][1], "name": "v2alpha1", "served": False})
    set_defaults(crd)
    infos = infos_from_crd(crd)
    assert [i.version for i in infos] == ["v1", "v1beta1"]
    v1 = infos[0]
    assert (v1.resource, v1.kind, v1.group, v1.namespaced) == (
        "crontabs",
        "CronTab",
        "stable.example.com",
        False,
    )
    assert (v1.short_names, v1.subresources, v1.list_kind_name, v1.singular) == (
        ("ct",),
        ("status", "scale"),
        "CronTabList",
        "crontab",
    )
    assert v1.storage_version == "v1" and v1.storage_prefix == "/registry/stable.example.com/crontabs/"
    assert v1.scale is not None and v1.scale.spec_replicas == ".spec.replicas"
    changed = copy.deepcopy(crd)
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = "changed"
    assert infos_from_crd(changed)[0].fingerprint != v1.fingerprint
    assert infos_from_crd(changed)[1].fingerprint == infos[1].fingerprint


def test_table_serves_custom_versions_in_priority_order() -> None:
    table = ResourceTable()
    builtin_generation = table.generation
    crd = factories.crontab_crd()
    table.set_custom("crontabs.stable.example.com", infos_from_crd(crd))
    assert table.generation > builtin_generation
    assert table.versions("stable.example.com") == ["v1", "v1beta1"]
    assert table.lookup("stable.example.com", "v1beta1", "crontabs") is not None
    generation = table.generation
    table.set_custom("crontabs.stable.example.com", infos_from_crd(crd))
    assert table.generation == generation, "the same declaration: no change"
    table.remove_custom("crontabs.stable.example.com")
    assert table.lookup("stable.example.com", "v1", "crontabs") is None
    assert sorted(["v1alpha1", "v2", "v1beta2", "v1", "v1beta1", "foo"], key=version_priority) == [
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v1alpha1",
        "foo",
    ]


def test_printer_columns_of_a_custom_resource() -> None:
    info = infos_from_crd(factories.crontab_crd())[0]
    obj: dict[str, Any] = {
        "metadata": {"name": "c", "creationTimestamp": "2026-11-27T12:00:00Z"},
        "spec": {"cronSpec": "* * * * */5", "replicas": 2.0},
    }
    table = printers.to_table(info, [obj], now=datetime(2026, 11, 27, 12, 5, tzinfo=UTC))
    assert [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", 0),
        ("Spec", "string", 0),
        ("Replicas", "integer", 0),
        ("Image", "string", 1),
        ("Age", "date", 0),
    ]
    assert table["rows"][0]["cells"] == ["c", "* * * * */5", 2, None, "5m"]
    bare = copy.deepcopy(factories.crontab_crd())
    for version in bare["spec"]["versions"]:
        del version["additionalPrinterColumns"]
    plain = printers.to_table(infos_from_crd(bare)[0], [obj], now=datetime(2026, 11, 27, 12, 5, tzinfo=UTC))
    assert [c["name"] for c in plain["columnDefinitions"]] == ["Name", "Age"]


def test_schema_keywords_are_checked() -> None:
    crd = factories.crontab_crd()
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec["replicas"]["minimum"] = "zero"
    found = fields(validate_crd(crd))
    assert found["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].minimum"] == (
        "Invalid value: \"zero\": 'zero' is not of type 'number'"
    )
    crd = factories.crontab_crd()
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    spec["image"]["pattern"] = "(unclosed"
    found = fields(validate_crd(crd))
    path = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[image].pattern"
    assert found[path].startswith('Invalid value: "(unclosed": ')


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(spec="x"),
        lambda c: c["spec"].update(names=[]),
        lambda c: c["spec"]["names"].update(shortNames="ct", kind=5),
        lambda c: c["spec"].update(versions="v1"),
        lambda c: c["spec"]["versions"][0].update(name=1, schema=[]),
        lambda c: c["spec"]["versions"][0].update(schema={"openAPIV3Schema": "x"}),
        lambda c: c["spec"]["versions"][0].update(subresources="x", additionalPrinterColumns=["x"]),
        lambda c: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].update(properties={"a": 1}),
        lambda c: c["spec"]["versions"][0]["subresources"].update(scale={"specReplicasPath": 5}),
    ],
)
def test_malformed_crds_are_causes_not_crashes(change: Any) -> None:
    crd = factories.crontab_crd()
    change(crd)
    assert validate_crd(crd)
