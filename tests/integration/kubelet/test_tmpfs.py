"""Secret volumes in memory: the kubelet mounts a tmpfs per volume and unmounts everything below a pod's directory
(deepest first) before the directory goes, so neither values nor mounts outlive the pod."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelet.volumes.atomic import write_atomically
from kubelet.volumes.tmpfs import Mounter, mounts_under, unmount_under

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


def _fstype(point: Path) -> str:
    return _mountinfo(point)[0]


def _mountinfo(point: Path) -> tuple[str, set[str], set[str]]:
    """The file system type, mount options and super options of the mount at `point` ("" when none)."""
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(point):
                sep = fields.index("-")
                return fields[sep + 1], set(fields[5].split(",")), set(fields[sep + 3].split(","))
    return "", set(), set()


async def test_secret_volumes_are_tmpfs_and_go_with_their_pod(tmp_path: Path) -> None:
    pod = tmp_path / "pods" / "uid-1"
    a = pod / "volumes" / "kubernetes.io~secret" / "a"
    b = pod / "volumes" / "kubernetes.io~projected" / "b"
    mounter = Mounter()
    try:
        for d in (a, b):
            d.mkdir(parents=True)
            assert await mounter.ensure(d) and await mounter.ensure(d)  # the second call mounts nothing more
            write_atomically(d, {"password": (b"s3cret", 0o600)})
        nested = a / "inner"
        nested.mkdir()
        assert await mounter.ensure(nested)
        assert _fstype(a) == "tmpfs" and (a / "password").read_bytes() == b"s3cret"
        # What `mount -t tmpfs -o mode=0755,size=32m,nosuid,nodev` makes:
        fstype, options, super_options = _mountinfo(b)
        assert fstype == "tmpfs" and {"nosuid", "nodev"} <= options
        assert {"size=32768k", "mode=755"} <= super_options
        points = mounts_under(pod)
        assert points[0] == str(nested) and sorted(points[1:]) == sorted([str(a), str(b)])  # deepest first
        assert mounts_under(tmp_path / "pods" / "uid") == []  # a prefix of a name is not a parent
        await unmount_under(pod)
        assert mounts_under(tmp_path) == []
        assert not (a / "password").exists()  # the values were in memory only
    finally:
        await unmount_under(tmp_path)


async def test_a_disabled_mounter_leaves_plain_directories(tmp_path: Path) -> None:
    assert not await Mounter(enabled=False).ensure(tmp_path)
    assert mounts_under(tmp_path) == []
