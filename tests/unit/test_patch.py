"""The four PATCH types: RFC 7386 and RFC 6902 appendix examples, strategic merge cases, server-side apply."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apimachinery.errors import StatusError
from apiserver.patch import (
    APPLY,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    apply_patch,
    json_patch,
    merge_patch,
    patch_type,
)


def smp(original: dict[str, Any], patch: dict[str, Any], kind: str = "Deployment") -> dict[str, Any]:
    before = copy.deepcopy(original)
    result = apply_patch(STRATEGIC, original, json.dumps(patch).encode(), kind=kind)
    assert original == before, "the original must not be mutated"
    return result


def make_deployment(containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a", "b", "c"]},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"note": "x"}},
                "spec": {
                    "containers": containers
                    or [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "args": ["-a", "-b"],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "tolerations": [{"key": "k1", "operator": "Exists"}],
                },
            },
        },
        "status": {"replicas": 2},
    }


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


# --- patch_type -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/merge-patch+json", MERGE),
        ("application/merge-patch+json; charset=utf-8", MERGE),
        ("Application/JSON-Patch+JSON", JSON_PATCH),
        ("application/strategic-merge-patch+json;charset=UTF-8", STRATEGIC),
        ("application/apply-patch+yaml", APPLY),
    ],
)
def test_patch_type_normalises(header: str, expected: str) -> None:
    assert patch_type(header) == expected


@pytest.mark.parametrize("header", ["application/json", "text/plain", "", None])
def test_unknown_patch_type_is_415(header: str | None) -> None:
    with pytest.raises(StatusError) as err:
        patch_type(header)
    assert err.value.code == 415
    assert err.value.reason == "UnsupportedMediaType"
    with pytest.raises(StatusError) as err:
        apply_patch(header or "", {}, b"{}", kind="Pod")
    assert err.value.code == 415


# --- RFC 7386 appendix A --------------------------------------------------------------------------------------

RFC7386 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386)
def test_rfc7386_examples(original: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy(original)
    assert merge_patch(original, patch) == expected
    assert original == before


def test_merge_patch_through_apply_patch() -> None:
    pod = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}, "spec": {"containers": [{"name": "c"}]}}
    body = b'{"metadata":{"labels":{"a":null,"tier":"fe"}},"spec":{"containers":[{"name":"d"}]}}'
    result = apply_patch("application/merge-patch+json; charset=utf-8", pod, body, kind="Pod")
    assert result["metadata"]["labels"] == {"b": "2", "tier": "fe"}
    assert result["spec"]["containers"] == [{"name": "d"}], "merge patch replaces lists"


@pytest.mark.parametrize(
    ("body", "code"), [(b"{not json", 400), (b"null", 400), (b"[1]", 422), (b'"x"', 422)]
)
def test_merge_patch_errors(body: bytes, code: int) -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(MERGE, {"a": 1}, body, kind="Pod")
    assert err.value.code == code


# --- RFC 6902 appendix A --------------------------------------------------------------------------------------

RFC6902_OK = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
        {"foo": "bar", "baz": "qux"},
    ),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    # beyond the appendix: copy, the root, escapes in add
    ({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}], {"a": {"b": 1}, "c": {"b": 1}}),
    ({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
    ({"m": {}}, [{"op": "add", "path": "/m/a~1b~0c", "value": 1}], {"m": {"a/b~c": 1}}),
    ({"n": 1}, [{"op": "test", "path": "/n", "value": 1.0}], {"n": 1}),
    # as kube-apiserver (evanphx/json-patch v4): replacing a missing object member sets it (kubectl rollout undo)
    (
        {"metadata": {}},
        [{"op": "replace", "path": "/metadata/annotations", "value": {}}],
        {"metadata": {"annotations": {}}},
    ),
]


@pytest.mark.parametrize(("original", "patch", "expected"), RFC6902_OK)
def test_rfc6902_examples(original: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    before = copy.deepcopy(original)
    assert json_patch(original, patch) == expected
    assert original == before


RFC6902_FAIL = [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}]),  # A.9
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}]),  # A.12
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}]),  # A.15
    ({"foo": "bar"}, [{"op": "remove", "path": "/nope"}]),
    ({"foo": "bar"}, [{"op": "replace", "path": "/nope/deeper", "value": 1}]),
    ({"foo": [1]}, [{"op": "replace", "path": "/foo/1", "value": 2}]),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/5", "value": 1}]),
    ({"foo": [1]}, [{"op": "add", "path": "/foo/01", "value": 1}]),
    ({"foo": {"a": 1}}, [{"op": "move", "from": "/foo", "path": "/foo/b"}]),
    ({"foo": "bar"}, [{"op": "frobnicate", "path": "/foo"}]),
    ({"foo": "bar"}, [{"op": "add", "path": "/x"}]),
    ({"foo": "bar"}, [{"op": "add", "path": "x", "value": 1}]),
    ({"n": True}, [{"op": "test", "path": "/n", "value": 1}]),
]


@pytest.mark.parametrize(("original", "patch"), RFC6902_FAIL)
def test_rfc6902_failures_are_422(original: Any, patch: list[dict[str, Any]]) -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(JSON_PATCH, original, json.dumps(patch).encode(), kind="Pod")
    assert err.value.code == 422
    assert err.value.reason == "Invalid"
    assert "the server rejected our request" in err.value.message


@pytest.mark.parametrize("body", [b"[{", b'{"op":"add"}', b"[1, 2]", b"null"])
def test_malformed_json_patch_is_400(body: bytes) -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(JSON_PATCH, {}, body, kind="Pod")
    assert err.value.code == 400


def test_json_patch_kubectl_style() -> None:
    deploy = make_deployment()
    body = b'[{"op":"replace","path":"/spec/replicas","value":5},{"op":"add","path":"/metadata/labels/x~1y","value":"z"}]'
    result = apply_patch(JSON_PATCH, deploy, body, kind="Deployment")
    assert result["spec"]["replicas"] == 5
    assert result["metadata"]["labels"]["x/y"] == "z"
    assert deploy["spec"]["replicas"] == 2


def test_json_patch_result_must_be_object() -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(JSON_PATCH, {"a": 1}, b'[{"op":"replace","path":"","value":[1]}]', kind="Pod")
    assert err.value.code == 422


# --- strategic merge patch ------------------------------------------------------------------------------------


def test_smp_set_element_order_with_image_change() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
                    "containers": [{"image": "nginx:1.26", "name": "nginx"}],
                }
            }
        }
    }
    result = smp(make_deployment(), patch)
    nginx, sidecar = containers_of(result)
    assert nginx["image"] == "nginx:1.26"
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}], (
        "fields absent from the patch are kept"
    )
    assert sidecar == {"name": "sidecar", "image": "busybox"}
    assert "$setElementOrder/containers" not in result["spec"]["template"]["spec"]


def test_smp_set_element_order_reorders() -> None:
    containers = [{"name": n, "image": "i"} for n in ("a", "b", "c")]
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                    "containers": [{"name": "a", "image": "j"}],
                }
            }
        }
    }
    result = containers_of(smp(make_deployment(containers), patch))
    assert [c["name"] for c in result] == ["c", "a", "b"]
    assert result[1]["image"] == "j"


def test_smp_new_keyed_items_order_like_upstream() -> None:
    # Upstream's mergeSortedSlice puts patch items that the live list does not know before the server-only ones
    # (kubectl avoids this by sending $setElementOrder); we keep that behaviour.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "z", "image": "z"}, {"name": "y"}]}}}}
    assert [c["name"] for c in containers_of(smp(make_deployment(), patch))] == ["z", "y", "nginx", "sidecar"]
    ordered = dict(patch)
    ordered["spec"]["template"]["spec"]["$setElementOrder/containers"] = [
        {"name": n} for n in ("nginx", "sidecar", "z", "y")
    ]
    assert [c["name"] for c in containers_of(smp(make_deployment(), ordered))] == [
        "nginx",
        "sidecar",
        "z",
        "y",
    ]


def test_smp_env_merges_by_name() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "nginx", "env": [{"name": "B", "value": "3"}, {"name": "C"}]}]
                }
            }
        }
    }
    env = containers_of(smp(make_deployment(), patch))[0]["env"]
    assert env == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C"}]


def test_smp_delete_container() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    assert [c["name"] for c in containers_of(smp(make_deployment(), patch))] == ["nginx"]


def test_smp_replace_list() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "new", "image": "x"}]}}}
    }
    assert containers_of(smp(make_deployment(), patch)) == [{"name": "new", "image": "x"}]


def test_smp_retain_keys() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": None}}}
    assert smp(make_deployment(), patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_smp_retain_keys_must_cover_the_patch() -> None:
    patch = {
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {"maxSurge": 2}}}
    }
    with pytest.raises(StatusError) as err:
        smp(make_deployment(), patch)
    assert err.value.code == 422


def test_smp_finalizers_are_a_set() -> None:
    merged = smp(make_deployment(), {"metadata": {"finalizers": ["b", "d"]}})
    assert merged["metadata"]["finalizers"] == ["a", "b", "d", "c"], "upstream's interleaving order"
    deleted = smp(make_deployment(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}})
    assert deleted["metadata"]["finalizers"] == ["a", "c"]


def test_smp_null_deletes_and_lists_without_key_are_replaced() -> None:
    patch = {
        "metadata": {"labels": {"tier": None}},
        "spec": {
            "template": {
                "spec": {
                    "tolerations": [{"key": "k2", "operator": "Exists"}],
                    "containers": [{"name": "nginx", "args": ["-c"]}],
                }
            }
        },
    }
    result = smp(make_deployment(), patch)
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["spec"]["template"]["spec"]["tolerations"] == [{"key": "k2", "operator": "Exists"}]
    assert containers_of(result)[0]["args"] == ["-c"]


def test_smp_map_directives() -> None:
    replaced = smp(make_deployment(), {"metadata": {"labels": {"$patch": "replace", "only": "me"}}})
    assert replaced["metadata"]["labels"] == {"only": "me"}
    merged = smp(make_deployment(), {"metadata": {"labels": {"$patch": "merge", "new": "1"}}})
    assert merged["metadata"]["labels"] == {"app": "web", "tier": "fe", "new": "1"}
    deleted = smp(
        make_deployment(), {"spec": {"template": {"metadata": {"annotations": {"$patch": "delete"}}}}}
    )
    assert "annotations" not in deleted["spec"]["template"]["metadata"]


def test_smp_service_ports_by_port() -> None:
    svc = {
        "metadata": {"name": "s"},
        "spec": {
            "type": "NodePort",
            "ports": [
                {"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 30080},
                {"port": 443, "targetPort": 8443, "protocol": "TCP", "nodePort": 30443},
            ],
        },
    }
    result = smp(svc, {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}, kind="Service")
    assert result["spec"]["ports"][0] == {
        "port": 80,
        "targetPort": 9090,
        "protocol": "TCP",
        "nodePort": 30080,
    }
    assert result["spec"]["ports"][1]["port"] == 443


def test_smp_pod_conditions_and_owner_references() -> None:
    pod = {
        "metadata": {"name": "p", "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs"}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
        },
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = smp(pod, patch, kind="Pod")
    assert result["metadata"]["ownerReferences"] == [
        {"uid": "u1", "kind": "ReplicaSet", "name": "rs", "controller": True}
    ]
    assert result["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "name": "http"}]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
    ]


def test_smp_kubectl_apply_patch_with_annotation_and_replicas() -> None:
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"replicas": 4},
    }
    result = smp(make_deployment(), patch)
    assert result["spec"]["replicas"] == 4
    assert result["metadata"]["annotations"] == {"kubectl.kubernetes.io/last-applied-configuration": "{}"}
    assert result["status"] == {"replicas": 2}


def test_smp_unknown_kind_merges_maps_and_replaces_lists() -> None:
    obj = {"spec": {"items": [{"name": "a", "v": 1}], "m": {"a": 1}}}
    result = smp(obj, {"spec": {"items": [{"name": "a", "w": 2}], "m": {"b": 2}}}, kind="Widget")
    assert result == {"spec": {"items": [{"name": "a", "w": 2}], "m": {"a": 1, "b": 2}}}


@pytest.mark.parametrize(
    "patch",
    [
        {"metadata": {"labels": {"$patch": "explode"}}},
        {"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}},
        {"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}},
        {"spec": {"template": {"spec": {"$setElementOrder/containers": "nope"}}}},
    ],
)
def test_smp_bad_directives_are_400(patch: dict[str, Any]) -> None:
    with pytest.raises(StatusError) as err:
        smp(make_deployment(), patch)
    assert err.value.code == 400


@pytest.mark.parametrize("body", [b"[1]", b"{bad", b'"s"'])
def test_smp_malformed_is_400(body: bytes) -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(STRATEGIC, {}, body, kind="Pod")
    assert err.value.code == 400


# --- server-side apply ----------------------------------------------------------------------------------------

APPLIED_YAML = b"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 3
  template:
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
"""


def test_apply_creates_from_nothing() -> None:
    result = apply_patch(APPLY, {}, APPLIED_YAML, kind="Deployment")
    assert result["metadata"] == {"name": "web", "labels": {"app": "web"}}
    assert containers_of(result) == [{"name": "nginx", "image": "nginx:1.27"}]


def test_apply_merges_into_live_object() -> None:
    result = apply_patch(APPLY, make_deployment(), APPLIED_YAML, kind="Deployment")
    assert result["spec"]["replicas"] == 3
    assert result["metadata"]["labels"] == {"app": "web", "tier": "fe"}, (
        "fields absent from the config are kept"
    )
    nginx, sidecar = containers_of(result)
    assert nginx["image"] == "nginx:1.27"
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert sidecar["name"] == "sidecar"
    assert result["status"] == {"replicas": 2}


def test_apply_accepts_json_body() -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}).encode()
    assert apply_patch(APPLY, {}, body, kind="Pod") == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
    }


@pytest.mark.parametrize("body", [b"- a\n- b\n", b"key: [unclosed", b""])
def test_apply_rejects_non_objects(body: bytes) -> None:
    with pytest.raises(StatusError) as err:
        apply_patch(APPLY, {}, body, kind="Pod")
    assert err.value.code == 400


@pytest.mark.parametrize("content_type", [STRATEGIC, MERGE])
def test_a_patch_of_the_callers_own_copy_gives_the_same_object(content_type: str) -> None:
    """`owned=True` (an update's transform, which gets a fresh copy) only saves the copy."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]},
    }
    body = json.dumps(
        {
            "metadata": {"labels": {"a": None, "b": "2"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }
    ).encode()
    expected = apply_patch(content_type, pod, body, kind="Pod")
    assert apply_patch(content_type, copy.deepcopy(pod), body, kind="Pod", owned=True) == expected
