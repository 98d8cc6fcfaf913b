"""The kubelet's volume kinds added with persistent storage: persistentVolumeClaim volumes (a link the claim module
makes, readOnly forcing every mount read-only, subPaths confined to the directory the link points to) and emptyDir
medium Memory (a Docker tmpfs volume per pod, sizeLimit as its size, no subPath)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kubelet.claims import _relink, link_path
from kubelet.runtime.docker import LABEL_POD_UID
from kubelet.runtime.mounts import MountError
from kubelet.runtime.spec import container_args, sandbox_mounts, volume_paths

UID = "0b8b1d7c-2a11-4c1e-9f5e-3f0c9a528f7e"


def pod(volumes: list[dict[str, Any]], mounts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": UID},
        "spec": {
            "containers": [{"name": "c", "image": "busybox", "volumeMounts": mounts}],
            "volumes": volumes,
        },
    }


def args(root: Path, p: dict[str, Any]) -> dict[str, Any]:
    return container_args(p, p["spec"]["containers"][0], sandbox_id="s", restart_count=0, init=False,
                          root_dir=root, env={})  # fmt: skip


def test_claim_volume_follows_its_link_and_confines_subpaths(tmp_path: Path) -> None:
    data = tmp_path / "local" / "pv1"
    data.mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    p = pod(
        [{"name": "d", "persistentVolumeClaim": {"claimName": "c", "readOnly": True}}],
        [{"name": "d", "mountPath": "/data"}, {"name": "d", "mountPath": "/sub", "subPath": "s"}],
    )
    root = tmp_path / "kubelet"
    _relink(link_path(root, p, "d"), str(data))
    assert volume_paths(root, p)["d"][1] == "ReadOnly"
    mounts = args(root, p)["mounts"]
    assert [(m["Target"], m["Source"], m["ReadOnly"]) for m in mounts] == [
        ("/data", str(data), True),
        ("/sub", str(data / "s"), True),  # readOnly claim: every mount read-only; the subPath made inside
    ]
    os.symlink(tmp_path / "secret", data / "out")
    bad = pod(p["spec"]["volumes"], [{"name": "d", "mountPath": "/x", "subPath": "out"}])
    with pytest.raises(MountError, match="outside its volume"):
        args(root, bad)
    # Relinking to another directory replaces the link; the data behind the old one is untouched.
    other = tmp_path / "local" / "pv2"
    other.mkdir()
    _relink(link_path(root, p, "d"), str(other))
    assert os.readlink(link_path(root, p, "d")) == str(other) and data.is_dir()


def test_memory_empty_dir_is_a_sized_tmpfs_volume(tmp_path: Path) -> None:
    p = pod(
        [
            {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "disk", "emptyDir": {}},
        ],
        [{"name": "cache", "mountPath": "/cache"}, {"name": "disk", "mountPath": "/disk"}],
    )
    mounts = {m["Target"]: m for m in args(tmp_path, p)["mounts"]}
    cache = mounts["/cache"]
    assert cache["Type"] == "volume" and cache["Source"] == f"kubelite-memory-{UID}-cache"
    config = cache["VolumeOptions"]["DriverConfig"]
    assert config == {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs", "o": "size=67108864"}}
    assert cache["VolumeOptions"]["Labels"] == {LABEL_POD_UID: UID}
    assert mounts["/disk"]["Type"] == "bind"
    # The pause container holds the tmpfs for the pod's life (Docker empties it when nothing mounts it).
    held = sandbox_mounts(p)
    assert [(m["Target"], m["Source"]) for m in held] == [("/kubelite-memory/cache", cache["Source"])]
    with pytest.raises(MountError, match="subPath"):
        args(tmp_path, pod(p["spec"]["volumes"], [{"name": "cache", "mountPath": "/c", "subPath": "x"}]))
