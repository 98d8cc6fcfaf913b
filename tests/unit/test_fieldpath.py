"""Field paths and FieldsV1, as structured-merge-diff writes them (fieldpath/serialize.go, element.go)."""

from __future__ import annotations

import pytest

from apimachinery import fieldpath as fp

CONTAINER = fp.key({"name": "nginx"})
PORT = fp.key({"protocol": "TCP", "containerPort": 80})


def test_a_set_round_trips_through_fields_v1() -> None:
    paths = {
        fp.path("spec", "replicas"),
        (*fp.path("spec", "template", "spec", "containers"), CONTAINER),
        (*fp.path("spec", "template", "spec", "containers"), CONTAINER, fp.field("image")),
        (*fp.path("spec", "template", "spec", "containers"), CONTAINER, fp.field("ports"), PORT),
        (*fp.path("metadata", "finalizers"), fp.value("example.com/x")),
    }
    doc = fp.to_fields_v1(paths)
    assert doc == {
        "f:metadata": {"f:finalizers": {'v:"example.com/x"': {}}},
        "f:spec": {
            "f:replicas": {},
            "f:template": {
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"nginx"}': {
                            ".": {},
                            "f:image": {},
                            "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}},
                        }
                    }
                }
            },
        },
    }
    assert fp.from_fields_v1(doc) == paths


def test_elements_are_ordered_fields_keys_values_indices_and_dot_first() -> None:
    paths = {
        (fp.index(0),),
        (fp.value("b"),),
        (fp.value(2),),
        (fp.key({"name": "a"}),),
        (fp.field("z"),),
        (fp.field("a"),),
        (fp.field("a"), fp.field("b")),
    }
    assert list(fp.to_fields_v1(paths)) == ["f:a", "f:z", 'k:{"name":"a"}', "v:2", 'v:"b"', "i:0"]
    assert list(fp.to_fields_v1(paths)["f:a"]) == [".", "f:b"]


def test_key_values_are_written_as_go_writes_json() -> None:
    # The keys of k: are sorted by name; HTML characters escaped as Go's encoder does.
    assert fp.element_string(fp.key({"port": 80, "name": "a<b"})) == 'k:{"name":"a\\u003cb","port":80}'


def test_paths_print_as_conflict_messages_print_them() -> None:
    p = (*fp.path("spec", "template", "spec", "containers"), CONTAINER, fp.field("image"))
    assert fp.path_string(p) == '.spec.template.spec.containers[name="nginx"].image'
    assert fp.path_string((fp.field("ports"), PORT)) == '.ports[containerPort=80,protocol="TCP"]'
    assert fp.path_string((fp.field("finalizers"), fp.value("x"))) == '.finalizers[="x"]'
    assert fp.path_string((fp.field("args"), fp.index(3))) == ".args[3]"


def test_unknown_element_kinds_are_skipped_and_malformed_ones_refused() -> None:
    assert fp.from_fields_v1({"f:a": {}, "x:future": {}}) == {(fp.field("a"),)}
    with pytest.raises(ValueError):
        fp.from_fields_v1({"fa": {}})
    with pytest.raises(ValueError):
        fp.from_fields_v1({"f:a": []})
    with pytest.raises(ValueError):
        fp.from_fields_v1(["f:a"])


def test_prefix_operations() -> None:
    s = {fp.path("a", "b"), fp.path("a", "c", "d"), fp.path("e")}
    assert fp.with_prefix(s, fp.path("a")) == {fp.path("b"), fp.path("c", "d")}
    assert fp.recursive_difference(s, {fp.path("a", "c")}) == {fp.path("a", "b"), fp.path("e")}
    assert fp.under(s, fp.path("a")) == {fp.path("a", "b"), fp.path("a", "c", "d")}
