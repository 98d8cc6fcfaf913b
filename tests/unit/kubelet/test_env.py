"""A container's environment: envFrom with prefixes, valueFrom of every kind, optional references, $(VAR)
expansion, the service variables, and the kubelet's messages when a reference is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kubelet.env import container_env, expand
from kubelet.volumes.sources import ConfigError, ObjectCache
from tests.unit.kubelet.apifake import objects_client, secret

POD = {
    "metadata": {"name": "web", "namespace": "prod", "uid": "u-1", "labels": {"app": "web"},
                 "annotations": {"team": "a"}},
    "spec": {"nodeName": "n1", "serviceAccountName": "robot"},
}  # fmt: skip
STORE = {
    ("configmaps", "prod", "cfg"): {"data": {"mode": "fast", "level": "3"}},
    ("secrets", "prod", "db"): secret(password="s3cret", user="admin"),
}
SERVICE = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


@pytest.fixture
async def objects() -> AsyncIterator[ObjectCache]:
    client = objects_client(STORE)
    try:
        yield ObjectCache(client)
    finally:
        await client.aclose()


async def _env(objects: ObjectCache, container: dict, warnings: list | None = None) -> dict[str, str]:
    return await container_env(
        POD, {"name": "c", **container}, objects, service_env=SERVICE, pod_ip="10.244.1.5", host_ip="10.0.0.1",
        allocatable={"cpu": "2", "memory": "1Gi"},
        warn=lambda reason, message: (warnings if warnings is not None else []).append((reason, message)),
    )  # fmt: skip


async def test_env_from_configmaps_secrets_and_the_downward_api(objects: ObjectCache) -> None:
    env = await _env(objects, {
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}, {"secretRef": {"name": "db"}}],
        "env": [
            {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "DSN", "value": "$(user):$(PASS)@$(KUBERNETES_SERVICE_HOST)/$$(PASS)/$(NOPE)"},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "TEAM", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['team']"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}},
            {"name": "KUBERNETES_SERVICE_PORT", "value": "8443"},
        ],
        "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}},
    })  # fmt: skip
    assert env == {
        **SERVICE, "KUBERNETES_SERVICE_PORT": "8443", "CFG_mode": "fast", "CFG_level": "3",
        "password": "s3cret", "user": "admin", "MODE": "fast", "PASS": "s3cret",
        "DSN": "admin:s3cret@10.96.0.1/$(PASS)/$(NOPE)", "POD": "web", "NS": "prod", "UID": "u-1",
        "APP": "web", "TEAM": "a", "NODE": "n1", "SA": "robot", "IP": "10.244.1.5", "HOST": "10.0.0.1",
        "MEM": "64", "CPU": "2000", "REQ": "1",  # no cpu limit: the node's allocatable; 250m rounds up to 1
    }  # fmt: skip


async def test_later_entries_override_and_valuefrom_is_not_expanded(objects: ObjectCache) -> None:
    STORE[("configmaps", "prod", "raw")] = {"data": {"v": "$(A)"}}
    try:
        env = await _env(objects, {"envFrom": [{"configMapRef": {"name": "cfg"}}], "env": [
            {"name": "A", "value": "a"}, {"name": "mode", "value": "slow"},
            {"name": "R", "valueFrom": {"configMapKeyRef": {"name": "raw", "key": "v"}}},
        ]})  # fmt: skip
    finally:
        del STORE[("configmaps", "prod", "raw")]
    assert env["mode"] == "slow" and env["R"] == "$(A)"


async def test_optional_references_leave_the_variable_out(objects: ObjectCache) -> None:
    env = await _env(objects, {
        "envFrom": [{"configMapRef": {"name": "absent", "optional": True}}, {"secretRef": {"name": "gone",
                                                                                           "optional": True}}],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k", "optional": True}}},
            {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nokey", "optional": True}}},
            {"name": "C", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nokey", "optional": True}}},
            {"name": "D", "value": "$(A)"},
        ],
    })  # fmt: skip
    assert env == {**SERVICE, "D": "$(A)"}


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]},
         'configmap "absent" not found'),
        ({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nokey"}}}]},
         "couldn't find key nokey in ConfigMap prod/cfg"),
        ({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}]},
         'secret "absent" not found'),
        ({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nokey"}}}]},
         "couldn't find key nokey in Secret prod/db"),
        ({"envFrom": [{"secretRef": {"name": "absent"}}]}, 'secret "absent" not found'),
        ({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.containers"}}}]},
         "unsupported fieldPath: spec.containers"),
    ],
)  # fmt: skip
async def test_missing_references_fail_with_the_kubelets_message(
    objects: ObjectCache, container: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        await _env(objects, container)
    assert str(exc.value) == message


async def test_env_from_keys_that_are_no_variable_names_are_skipped_with_an_event(
    objects: ObjectCache,
) -> None:
    STORE[("configmaps", "prod", "odd")] = {"data": {"ok": "1", "bad=name": "2"}}
    warnings: list = []
    try:
        env = await _env(objects, {"envFrom": [{"configMapRef": {"name": "odd"}}]}, warnings)
    finally:
        del STORE[("configmaps", "prod", "odd")]
    assert env == {**SERVICE, "ok": "1"}
    assert warnings == [("InvalidEnvironmentVariableNames", "Keys [bad=name] from the EnvFrom configMap prod/odd "
                         "were skipped since they are considered invalid environment variable names.")]  # fmt: skip


def test_expansion_rules() -> None:
    env = {"A": "x", "B": "y"}
    assert expand("echo $(A) $$HOME $$(A) $(B)$(C) $(A", env) == "echo x $HOME $(A) y$(C) $(A"
    assert expand("$(A)", {}, env) == "x"  # the later env is looked at when the first lacks the name
