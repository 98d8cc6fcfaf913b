"""Custom resources against their structural schema: pruning, defaults and kube-apiserver's 422 wording."""

from __future__ import annotations

import copy
from typing import Any

from apiserver.crd import structural
from tests import factories

SCHEMA: dict[str, Any] = factories.crontab_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def crontab(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "stable.example.com/v1",
        "kind": "CronTab",
        "metadata": {"name": "c", "namespace": "default", "colour": "red"},
        "spec": {"cronSpec": "* * * * */5", **spec},
    }


def test_prune_drops_undeclared_fields_but_keeps_preserved_and_embedded_ones() -> None:
    obj = crontab(
        unknown=1,
        extra={"anything": {"goes": [1]}},
        template={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}},
        note=None,
        image=None,
    )
    obj["top"] = True
    structural.prune(obj, SCHEMA)
    assert "top" not in obj and "colour" not in obj["metadata"]
    assert "unknown" not in obj["spec"]
    assert obj["spec"]["extra"] == {"anything": {"goes": [1]}}
    assert obj["spec"]["template"]["kind"] == "Pod" and obj["spec"]["template"]["spec"] == {"x": 1}
    assert obj["spec"]["note"] is None, "nullable: kept"
    assert "image" not in obj["spec"], "a null where null is not allowed is dropped"


def test_defaults_fill_missing_fields_only() -> None:
    obj = crontab(replicas=3)
    structural.default(obj, SCHEMA)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["policy"] == "Allow"
    bare = crontab()
    structural.default(bare, SCHEMA)
    assert bare["spec"]["replicas"] == 1
    defaults = copy.deepcopy(bare)
    structural.default(bare, SCHEMA)
    assert bare == defaults, "defaulting twice changes nothing"


def test_valid_objects_have_no_causes() -> None:
    assert structural.validate(crontab(replicas=0, timeout="5m", note=None), SCHEMA) == []
    assert structural.validate(crontab(timeout=30, replicas=2.0), SCHEMA) == [], "2.0 is an integer in JSON"


def test_causes_are_worded_as_kube_apiserver_words_them() -> None:
    obj = crontab(cronSpec="nope", replicas="three", policy="Maybe", timeout=True)
    obj["spec"]["image"] = 5
    obj["status"] = {"replicas": -1.5}
    causes = structural.validate(obj, SCHEMA)
    by_field = {c["field"]: c for c in causes}
    assert by_field["spec.replicas"] == {
        "reason": "FieldValueTypeInvalid",
        "message": 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
        "field": "spec.replicas",
    }
    assert by_field["spec.cronSpec"]["message"] == (
        'Invalid value: "nope": spec.cronSpec in body should match '
        "'^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'"
    )
    assert (
        by_field["spec.policy"]["message"]
        == 'Unsupported value: "Maybe": supported values: "Allow", "Forbid"'
    )
    assert by_field["spec.policy"]["reason"] == "FieldValueNotSupported"
    assert by_field["spec.image"]["message"].endswith('spec.image in body must be of type string: "integer"')
    assert by_field["spec.timeout"]["message"].endswith('must be of type integer,string: "boolean"')
    assert by_field["status.replicas"]["message"].endswith('must be of type integer: "number"')


def test_required_minimum_and_lengths() -> None:
    obj = crontab(replicas=-1)
    del obj["spec"]["cronSpec"]
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["spec"]["properties"]["image"].update(maxLength=3)
    schema["properties"]["spec"]["properties"]["tags"] = {
        "type": "array",
        "maxItems": 1,
        "items": {"type": "string"},
    }
    obj["spec"]["image"] = "toolong"
    obj["spec"]["tags"] = ["a", "b"]
    causes = structural.validate(obj, schema)
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.cronSpec"} in causes
    assert {
        "reason": "FieldValueInvalid",
        "message": "Invalid value: -1: spec.replicas in body should be greater than or equal to 0",
        "field": "spec.replicas",
    } in causes
    assert any(c["field"] == "spec.image" and c["reason"] == "FieldValueTooLong" for c in causes)
    assert {
        "reason": "FieldValueTooMany",
        "message": "Too many: 2: must have at most 1 items",
        "field": "spec.tags",
    } in causes


def test_list_items_are_addressed_by_index() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string"}},
                        },
                    }
                },
            }
        },
    }
    causes = structural.validate({"spec": {"items": [{"name": "a"}, {}]}}, schema)
    assert causes == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.items[1].name"}
    ]
