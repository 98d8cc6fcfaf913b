"""Bind mounts stay inside their volume: subPath checks, symlinks, bad names and uids (on a real filesystem)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelet.runtime.mounts import Bind, MountError, resolve_binds
from kubelet.runtime.spec import pod_problem, valid_uid, volume_paths


def _volumes(tmp_path: Path) -> dict[str, tuple[str, str | None]]:
    (tmp_path / "vol").mkdir()
    return {"data": (str(tmp_path / "vol"), "DirectoryOrCreate")}


def _mount(sub_path: object = None, target: object = "/data") -> dict[str, object]:
    mount: dict[str, object] = {"name": "data", "mountPath": target}
    if sub_path is not None:
        mount["subPath"] = sub_path
    return {"volumeMounts": [mount]}


def test_plain_mount_and_created_sub_path(tmp_path: Path) -> None:
    volumes = _volumes(tmp_path)
    assert resolve_binds(_mount(), volumes) == [Bind(str(tmp_path / "vol"), "/data", False)]
    (bind,) = resolve_binds(_mount("a/b"), volumes)
    assert bind.source == str(tmp_path / "vol" / "a" / "b") and (tmp_path / "vol" / "a" / "b").is_dir()


@pytest.mark.parametrize("sub_path", ["../../..", "/etc", "a/../../x", "a\0b", 7])
def test_sub_paths_that_leave_the_volume_are_refused(tmp_path: Path, sub_path: object) -> None:
    with pytest.raises(MountError):
        resolve_binds(_mount(sub_path), _volumes(tmp_path))
    assert not (tmp_path / "x").exists()


def test_a_symlink_inside_the_volume_cannot_lead_out(tmp_path: Path) -> None:
    volumes = _volumes(tmp_path)
    (tmp_path / "outside").mkdir()
    os.symlink("/", tmp_path / "vol" / "root")
    os.symlink(tmp_path / "outside", tmp_path / "vol" / "out")
    os.symlink("sub", tmp_path / "vol" / "inner")
    (tmp_path / "vol" / "sub").mkdir()
    for escape in ("root", "root/etc", "out", "out/new"):
        with pytest.raises(MountError, match="outside its volume"):
            resolve_binds(_mount(escape), volumes)
    assert not (tmp_path / "outside" / "new").exists()
    (bind,) = resolve_binds(_mount("inner"), volumes)  # a link that stays inside is followed
    assert bind.source == str(tmp_path / "vol" / "sub")


@pytest.mark.parametrize("target", ["relative", "/a/../b", None, "/x\0"])
def test_mount_paths_must_be_absolute(tmp_path: Path, target: object) -> None:
    with pytest.raises(MountError, match="mountPath"):
        resolve_binds(_mount(target=target), _volumes(tmp_path))


def test_unknown_volume_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MountError, match="names no volume"):
        resolve_binds({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]}, _volumes(tmp_path))


def _pod(uid: str = "u-1", **spec: object) -> dict[str, object]:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": uid}, "spec": spec}


def test_volume_names_and_host_paths_are_checked(tmp_path: Path) -> None:
    with pytest.raises(MountError):
        volume_paths(tmp_path, _pod(volumes=[{"name": "../../etc", "emptyDir": {}}]))
    with pytest.raises(MountError):
        volume_paths(tmp_path, _pod(volumes=[{"name": "h", "hostPath": {"path": "/var/../etc"}}]))
    with pytest.raises(MountError):
        volume_paths(tmp_path, _pod(uid="../../x", volumes=[{"name": "e", "emptyDir": {}}]))


def test_pod_problem() -> None:
    assert pod_problem(_pod(containers=[{"name": "c"}])) is None
    assert "uid" in (pod_problem(_pod(uid="a/../b")) or "")
    assert "container name" in (pod_problem(_pod(containers=[{"name": "c;rm -rf"}])) or "")
    bad_name = {"metadata": {"name": "p\n", "namespace": "ns", "uid": "u"}, "spec": {}}
    assert "pod name" in (pod_problem(bad_name) or "")
    assert not valid_uid("") and not valid_uid("a b") and valid_uid("0f8e2b44-1c1a-4bb8-9f0f-8a3b6c1f0a11")
