"""Validation of configuration in pods (configMap/secret/downwardAPI/projected volumes, valueFrom, envFrom) and of
ConfigMap and Secret keys, with Kubernetes' field paths and messages."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.validation import validate
from tests.factories import Obj


def _pod(volumes: list[Obj] | None = None, **container: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": [{"name": "c", "image": "busybox", **container}], "volumes": volumes or []},
    }


def causes(obj: Obj, old: Obj | None = None) -> list[tuple[str, str]]:
    return [(c["field"], c["message"]) for c in validate(obj, old)]


def test_valid_configuration_passes() -> None:
    pod = _pod(
        [
            {"name": "a", "configMap": {"name": "cfg", "defaultMode": 0o644, "items": [{"key": "k", "path": "d/f",
                                                                                          "mode": 0o400}]}},
            {"name": "b", "secret": {"secretName": "s", "optional": True}},
            {"name": "c", "downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
                {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
            ]}},
            {"name": "d", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {"configMap": {"name": "cfg", "items": [{"key": "k", "path": "k"}]}},
                {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            ]}},
        ],
        env=[
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": True}}},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
            {"name": "C", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
        ],
        envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "s", "optional": True}}],
    )  # fmt: skip
    assert causes(pod) == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../../etc/passwd", "Invalid value: \"../../etc/passwd\": must not contain '..'"),
        ("/etc/passwd", 'Invalid value: "/etc/passwd": must be a relative path'),
        ("..data/x", "Invalid value: \"..data/x\": must not start with '..'"),
        ("a/../../b", "Invalid value: \"a/../../b\": must not contain '..'"),
    ],
)
def test_item_paths_that_leave_the_volume_are_refused(path: str, message: str) -> None:
    pod = _pod([{"name": "v", "configMap": {"name": "cfg", "items": [{"key": "k", "path": path}]}}])
    assert causes(pod) == [("spec.volumes[0].configMap.items[0].path", message)]
    pod = _pod([{"name": "v", "secret": {"secretName": "s", "items": [{"key": "k", "path": path}]}}])
    assert causes(pod) == [("spec.volumes[0].secret.items[0].path", message)]
    pod = _pod(
        [
            {
                "name": "v",
                "downwardAPI": {"items": [{"path": path, "fieldRef": {"fieldPath": "metadata.name"}}]},
            }
        ]
    )
    assert causes(pod) == [("spec.volumes[0].downwardAPI.path", message)]  # upstream reports no index here
    pod = _pod(
        [
            {
                "name": "v",
                "projected": {"sources": [{"secret": {"name": "s", "items": [{"key": "k", "path": path}]}}]},
            }
        ]
    )
    assert causes(pod) == [("spec.volumes[0].projected.sources[0].secret.items[0].path", message)]


def test_volume_sources_are_checked() -> None:
    pod = _pod([
        {"name": "a", "configMap": {"defaultMode": 0o1777, "items": [{"path": "x", "mode": -1}]}},
        {"name": "b", "secret": {}},
        {"name": "c", "downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}},
                                                 {"path": "y"}]}},
        {"name": "d", "projected": {"sources": [
            {"secret": {"name": "s", "items": [{"key": "k", "path": "same"}]},
             "configMap": {"name": "c"}},
            {"configMap": {"name": "c", "items": [{"key": "k", "path": "same"}]}},
            {"serviceAccountToken": {"path": "t", "expirationSeconds": 60}},
        ]}},
    ])  # fmt: skip
    assert causes(pod) == [
        ("spec.volumes[0].configMap.name", "Required value"),
        ("spec.volumes[0].configMap.defaultMode",
         "Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive"),
        ("spec.volumes[0].configMap.items[0].key", "Required value"),
        ("spec.volumes[0].configMap.items[0].mode",
         "Invalid value: -1: must be a number between 0 and 0777 (octal), both inclusive"),
        ("spec.volumes[1].secret.secretName", "Required value"),
        ("spec.volumes[2].downwardAPI.fieldRef.fieldPath",
         'Unsupported value: "spec.nodeName": supported values: "metadata.annotations", "metadata.labels", '
         '"metadata.name", "metadata.namespace", "metadata.uid"'),
        ("spec.volumes[2].downwardAPI", "Required value: one of fieldRef and resourceFieldRef is required"),
        ("spec.volumes[3].projected.sources[0]", "Forbidden: may not specify more than 1 volume type per source"),
        ("spec.volumes[3].projected", 'Invalid value: "c": conflicting duplicate paths'),
        ("spec.volumes[3].projected.sources[2].serviceAccountToken.expirationSeconds",
         "Invalid value: 60: may not specify a duration less than 10 minutes"),
    ]  # fmt: skip


def test_env_sources_are_checked() -> None:
    pod = _pod(
        env=[
            {"name": "A", "valueFrom": {}},
            {"name": "B", "value": "x", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
            {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"},
                                        "secretKeyRef": {"name": "s", "key": "k"}}},
            {"name": "D", "valueFrom": {"secretKeyRef": {"name": "S", "key": "../k"}}},
            {"name": "E", "valueFrom": {"configMapKeyRef": {"name": "c"}}},
            {"name": "F", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1Mi"}}},
        ],
        envFrom=[{}, {"configMapRef": {"name": "c"}, "secretRef": {"name": "s"}}, {"secretRef": {}}],
    )  # fmt: skip
    got = causes(pod)
    assert got[:3] == [
        ("spec.containers[0].env[0].valueFrom",
         'Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'),
        ("spec.containers[0].env[1].valueFrom", 'Invalid value: "": may not be specified when `value` is not empty'),
        ("spec.containers[0].env[2].valueFrom",
         'Invalid value: "": may not have more than one field specified at a time'),
    ]  # fmt: skip
    fields = [f for f, _ in got]
    assert "spec.containers[0].env[3].valueFrom.secretKeyRef.name" in fields
    assert ("spec.containers[0].env[3].valueFrom.secretKeyRef.key", "Invalid value: \"../k\": a valid config key "
            "must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
            "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')") in got  # fmt: skip
    assert ("spec.containers[0].env[4].valueFrom.configMapKeyRef.key", "Required value") in got
    assert ("spec.containers[0].env[5].valueFrom.resourceFieldRef.divisor", 'Invalid value: "1Mi": only divisor\'s '
            "values 1m and 1 are supported with the cpu resource") in got  # fmt: skip
    assert got[-3:] == [
        (
            "spec.containers[0].envFrom",
            'Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
        ),
        ("spec.containers[0].envFrom[1]", "Forbidden: may not have more than one field specified at a time"),
        ("spec.containers[0].envFrom[2].secretRef.name", "Required value"),
    ]


def test_configmap_and_secret_keys_are_file_names() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
          "data": {"../../x": "1", "ok": "2", "dup": "3"}, "binaryData": {"dup": "AA==", "..y": "AA=="}}  # fmt: skip
    got = causes(cm)
    assert ("data[../../x]", "Invalid value: \"../../x\": a valid config key must consist of alphanumeric "
            "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
            "validation is '[-._a-zA-Z0-9]+')") in got  # fmt: skip
    assert ("data[dup]", 'Invalid value: "dup": duplicate of key present in binaryData') in got
    assert ("binaryData[..y]", "Invalid value: \"..y\": must not start with '..'") in got
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
              "data": {"..data": "AA==", "bad": "not base64!"}}  # fmt: skip
    assert causes(secret) == [
        ("data[..data]", "Invalid value: \"..data\": must not start with '..'"),
        ("data[bad]", 'Invalid value: "<secret contents redacted>": must be base64-encoded'),
    ]


def test_an_immutable_configmap_keeps_its_data() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d",
           "resourceVersion": "1"}, "data": {"k": "1"}, "immutable": True}  # fmt: skip
    new = {**old, "data": {"k": "2"}}
    assert ("data", "Forbidden: field is immutable when `immutable` is set") in causes(new, old)
    assert causes({**old}, old) == []
