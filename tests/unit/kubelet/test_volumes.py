"""configMap, secret, downwardAPI and projected volumes as the kubelet writes them: items and modes, optional
references, the kubelet's messages for what is missing, updates reaching the files, paths checked again."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelet.runtime.mounts import resolve_binds
from kubelet.runtime.spec import volume_paths
from kubelet.volumes.manager import ApiVolumes
from tests.unit.kubelet.apifake import objects_client, secret

STORE: dict = {}


def _pod(*volumes: dict, labels: dict | None = None) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-1", "labels": labels or {"app": "web"},
                     "annotations": {"note": 'say "hi"'}},
        "spec": {"containers": [{"name": "c", "image": "b", "resources": {"limits": {"memory": "32Mi"}}}],
                 "volumes": list(volumes)},
    }  # fmt: skip


@pytest.fixture
async def volumes(tmp_path: Path) -> AsyncIterator[ApiVolumes]:
    STORE.clear()
    STORE[("configmaps", "ns", "cfg")] = {
        "data": {"app.conf": "a=1", "other": "o"},
        "binaryData": {"bin": "AAE="},
    }
    STORE[("secrets", "ns", "db")] = secret(password="s3cret")
    client = objects_client(STORE)
    manager = ApiVolumes(client, tmp_path, tmpfs=False)
    manager.objects.ttl = 0  # every sync reads the API: these tests change objects between syncs
    try:
        yield manager
    finally:
        await client.aclose()


def _dir(manager: ApiVolumes, plugin: str, name: str) -> Path:
    return manager.root_dir / "pods" / "uid-1" / "volumes" / plugin / name


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_configmap_volume_all_keys_then_items_with_modes(volumes: ApiVolumes) -> None:
    assert await volumes.set_up(_pod({"name": "all", "configMap": {"name": "cfg"}})) == []
    d = _dir(volumes, "kubernetes.io~configmap", "all")
    assert (d / "app.conf").read_text() == "a=1" and (d / "bin").read_bytes() == b"\x00\x01"
    assert _mode(d / "app.conf") == 0o644 and os.readlink(d / "app.conf") == "..data/app.conf"
    items = {"name": "some", "configMap": {"name": "cfg", "defaultMode": 0o640, "items": [
        {"key": "app.conf", "path": "etc/app.conf", "mode": 0o400}, {"key": "other", "path": "o.txt"}]}}  # fmt: skip
    assert await volumes.set_up(_pod(items)) == []
    d = _dir(volumes, "kubernetes.io~configmap", "some")
    assert (d / "etc" / "app.conf").read_text() == "a=1" and _mode(d / "etc" / "app.conf") == 0o400
    assert _mode(d / "o.txt") == 0o640 and not (d / "other").exists()


async def test_a_changed_configmap_reaches_the_volume_at_the_next_sync(volumes: ApiVolumes) -> None:
    pod = _pod({"name": "cfg", "configMap": {"name": "cfg"}})
    await volumes.set_up(pod)
    d = _dir(volumes, "kubernetes.io~configmap", "cfg")
    before = os.readlink(d / "..data")
    await volumes.set_up(pod)
    assert os.readlink(d / "..data") == before  # unchanged: not rewritten
    STORE[("configmaps", "ns", "cfg")] = {"data": {"app.conf": "a=2"}}
    assert await volumes.set_up(pod) == []
    assert (d / "app.conf").read_text() == "a=2" and not (d / "other").exists()
    assert os.readlink(d / "..data") != before and not (d / before).exists()


async def test_secret_volume_is_private_on_the_host(volumes: ApiVolumes) -> None:
    assert (
        await volumes.set_up(_pod({"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}}))
        == []
    )
    d = _dir(volumes, "kubernetes.io~secret", "creds")
    assert (d / "password").read_text() == "s3cret" and _mode(d / "password") == 0o400
    assert _mode(d.parent) == 0o700  # no other user of the host reaches any secret volume


async def test_missing_objects_and_keys(volumes: ApiVolumes) -> None:
    failures = await volumes.set_up(_pod(
        {"name": "a", "configMap": {"name": "absent"}},
        {"name": "b", "secret": {"secretName": "absent"}},
        {"name": "c", "configMap": {"name": "cfg", "items": [{"key": "nokey", "path": "x"}]}},
        {"name": "d", "secret": {"secretName": "db", "items": [{"key": "nokey", "path": "x"}]}},
        {"name": "e", "configMap": {"name": "absent", "optional": True}},
        {"name": "f", "secret": {"secretName": "db", "optional": True, "items": [{"key": "nokey", "path": "x"},
                                                                                 {"key": "password", "path": "p"}]}},
    ))  # fmt: skip
    assert [f.message() for f in failures] == [
        'MountVolume.SetUp failed for volume "a" : configmap "absent" not found',
        'MountVolume.SetUp failed for volume "b" : secret "absent" not found',
        'MountVolume.SetUp failed for volume "c" : configmap references non-existent config key: nokey',
        'MountVolume.SetUp failed for volume "d" : references non-existent secret key: nokey',
    ]
    empty = _dir(volumes, "kubernetes.io~configmap", "e")
    assert [p.name for p in empty.iterdir() if not p.name.startswith("..")] == []  # optional: an empty volume
    assert [
        p.name for p in _dir(volumes, "kubernetes.io~secret", "f").iterdir() if not p.name.startswith("..")
    ] == ["p"]


@pytest.mark.parametrize("path", ["../../../../etc/cron.d/x", "/etc/passwd", "..data/x", "a/../../x"])
async def test_item_paths_that_leave_the_volume_are_refused_at_the_kubelet(
    volumes: ApiVolumes, tmp_path: Path, path: str
) -> None:
    # The API refuses these; a pod written to storage past it must not make the kubelet write outside.
    pod = _pod({"name": "evil", "configMap": {"name": "cfg", "items": [{"key": "other", "path": path}]}})
    (failure,) = await volumes.set_up(pod)
    assert failure.volume == "evil" and "invalid path" in failure.reason
    assert _files(tmp_path) == []


async def test_downward_api_volume_follows_the_labels(volumes: ApiVolumes) -> None:
    volume = {"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o600},
        {"path": "app", "fieldRef": {"fieldPath": "metadata.labels['app']"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
    ]}}  # fmt: skip
    assert await volumes.set_up(_pod(volume, labels={"b": "2", "app": "web"})) == []
    d = _dir(volumes, "kubernetes.io~downward-api", "info")
    assert (d / "labels").read_text() == 'app="web"\nb="2"'
    assert (d / "annotations").read_text() == 'note="say \\"hi\\""'
    assert (d / "name").read_text() == "p" and _mode(d / "name") == 0o600
    assert (d / "app").read_text() == "web" and (d / "mem").read_text() == "32"
    assert await volumes.set_up(_pod(volume, labels={"app": "api"})) == []
    assert (d / "labels").read_text() == 'app="api"' and (d / "app").read_text() == "api"


async def test_projected_sources_together_and_duplicate_paths_refused(volumes: ApiVolumes) -> None:
    volume = {"name": "all", "projected": {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "cfg/app.conf"}]}},
        {"secret": {"name": "db"}},
        {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"configMap": {"name": "absent", "optional": True}},
    ]}}  # fmt: skip
    assert await volumes.set_up(_pod(volume)) == []
    d = _dir(volumes, "kubernetes.io~projected", "all")
    assert (d / "cfg" / "app.conf").read_text() == "a=1" and (d / "password").read_text() == "s3cret"
    assert (d / "labels").read_text() == 'app="web"' and _mode(d / "password") == 0o440
    clash = {
        "name": "clash",
        "projected": {"sources": [{"secret": {"name": "db"}}, {"secret": {"name": "db"}}]},
    }
    (failure,) = await volumes.set_up(_pod(clash))
    assert "conflicting duplicate paths 'password'" in failure.reason


def test_api_volumes_are_bound_read_only(tmp_path: Path) -> None:
    pod = _pod({"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "scratch", "emptyDir": {}})
    paths = volume_paths(tmp_path, pod)
    assert paths["cfg"][0] == str(tmp_path / "pods/uid-1/volumes/kubernetes.io~configmap/cfg")
    container = {
        "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "scratch", "mountPath": "/s"}]
    }
    assert [b.read_only for b in resolve_binds(container, paths, create=False)] == [True, False]
