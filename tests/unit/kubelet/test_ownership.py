"""fsGroup volume ownership (kubelet.volumes.ownership): group, group permissions and setgid over a volume, the
OnRootMismatch shortcut, symlinks never followed; the container's groups (runtime.spec); the API volumes' files
(atomic); the tmpfs options of emptyDir medium Memory."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kubelet.runtime.mounts import MountError
from kubelet.runtime.spec import identity_args, memory_mounts, pod_memory_limit
from kubelet.volumes import ownership
from kubelet.volumes.atomic import current_payload, write_atomically

GROUP = 4321
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another group needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@needs_root
def test_a_volume_becomes_the_groups_with_setgid_dirs_and_group_rw(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    (vol / "sub").mkdir(parents=True)
    (vol / "f").write_text("x")
    os.chmod(vol / "f", 0o600)
    (vol / "sub" / "g").write_text("y")
    os.chmod(vol, 0o755)
    assert ownership.set_volume_ownership(str(vol), GROUP)
    for p in (vol, vol / "sub", vol / "f", vol / "sub" / "g"):
        assert os.lstat(p).st_gid == GROUP, p
    assert mode(vol) == 0o2775 and mode(vol / "sub") & 0o2770 == 0o2770
    assert mode(vol / "f") == 0o660  # the owner's bits kept, the group's added, no others
    assert ownership.root_matches(str(vol), GROUP)


@needs_root
def test_read_only_volumes_get_group_read_only(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    os.chmod(tmp_path / "f", 0o400)
    ownership.set_volume_ownership(str(tmp_path), GROUP, read_only=True)
    assert mode(tmp_path / "f") == 0o440


@needs_root
def test_on_root_mismatch_walks_only_when_the_root_is_not_right(tmp_path: Path) -> None:
    ownership.set_volume_ownership(str(tmp_path), GROUP)
    (tmp_path / "later").write_text("x")
    os.chown(tmp_path / "later", -1, 0)  # e.g. given to root's group later
    assert not ownership.set_volume_ownership(str(tmp_path), GROUP, ownership.ON_ROOT_MISMATCH)
    assert os.lstat(tmp_path / "later").st_gid != GROUP
    assert ownership.set_volume_ownership(str(tmp_path), GROUP, ownership.ALWAYS)
    assert os.lstat(tmp_path / "later").st_gid == GROUP


@needs_root
def test_symlinks_out_of_the_volume_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host file")
    os.chmod(outside / "secret", 0o600)
    vol = tmp_path / "vol"
    vol.mkdir()
    os.symlink(outside, vol / "dir-link")
    os.symlink(outside / "secret", vol / "file-link")
    os.mkfifo(vol / "fifo")  # never opened (it would block)
    ownership.set_volume_ownership(str(vol), GROUP)
    assert os.lstat(outside).st_gid != GROUP and os.lstat(outside / "secret").st_gid != GROUP
    assert mode(outside / "secret") == 0o600 and mode(outside) != 0o2775
    assert os.lstat(vol / "file-link").st_gid == GROUP  # the link itself
    assert os.lstat(vol / "fifo").st_gid != GROUP


def test_bad_fs_group_or_policy_never_reach_the_host() -> None:
    def pod(sc: dict[str, Any]) -> dict[str, Any]:
        return {"spec": {"securityContext": sc}}

    assert ownership.fs_group(pod({})) is None and ownership.fs_group(pod({"fsGroup": 7})) == 7
    for bad in (-1, 2**31, "7", True, 1.5):
        with pytest.raises(ownership.OwnershipError):
            ownership.fs_group(pod({"fsGroup": bad}))
    assert ownership.change_policy(pod({})) == "Always"
    with pytest.raises(ownership.OwnershipError):
        ownership.change_policy(pod({"fsGroupChangePolicy": "Sometimes"}))


@needs_root
def test_api_volume_files_are_the_groups_and_not_rewritten_for_it(tmp_path: Path) -> None:
    vol = tmp_path / "secret-vol"
    assert write_atomically(vol, {"key": (b"v", 0o400), "d/inner": (b"w", 0o400)}, group=GROUP)
    assert os.stat(vol / "key").st_gid == GROUP and stat.S_IMODE(os.stat(vol / "key").st_mode) == 0o440
    assert os.stat(vol / "d").st_gid == GROUP and os.stat(vol / "d").st_mode & stat.S_ISGID
    assert os.stat(vol).st_gid == GROUP
    # The group's read bit is part of what is written: the next sync sees no change.
    assert not write_atomically(vol, {"key": (b"v", 0o400), "d/inner": (b"w", 0o400)}, group=GROUP)
    assert current_payload(vol) == {"key": (b"v", 0o440), "d/inner": (b"w", 0o440)}


def test_the_container_runs_with_the_pods_user_and_groups() -> None:
    pod = {
        "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000,
                                     "supplementalGroups": [4000, 2000]}}
    }  # fmt: skip
    assert identity_args(pod, {}) == {"user": "1000:3000", "group_add": ["2000", "4000"]}
    own = {"securityContext": {"runAsUser": 5}}
    assert identity_args(pod, own)["user"] == "5:3000"  # the container's own user wins
    assert identity_args({"spec": {}}, {}) == {}
    with pytest.raises(MountError):
        identity_args({"spec": {"securityContext": {"supplementalGroups": [-1]}}}, {})


def memory_pod(
    size_limit: str | None, limits: list[str | None], fs_group: int | None = None
) -> dict[str, Any]:
    empty_dir: dict[str, Any] = {"medium": "Memory"}
    if size_limit:
        empty_dir["sizeLimit"] = size_limit
    containers = [
        {"name": f"c{i}", "volumeMounts": [{"name": "m", "mountPath": "/m"}],
         "resources": {"limits": {"memory": lim}} if lim else {}}
        for i, lim in enumerate(limits)
    ]  # fmt: skip
    sc = {"fsGroup": fs_group} if fs_group is not None else {}
    return {
        "metadata": {"uid": "u1", "name": "p"},
        "spec": {
            "securityContext": sc,
            "containers": containers,
            "volumes": [{"name": "m", "emptyDir": empty_dir}],
        },
    }


def tmpfs_options(pod: dict[str, Any]) -> str | None:
    mount = memory_mounts(pod, pod["spec"]["containers"][0])[0]
    return mount["VolumeOptions"]["DriverConfig"]["Options"].get("o")


def test_memory_empty_dir_size_is_size_limit_or_the_pods_memory_limit() -> None:
    assert tmpfs_options(memory_pod("16Mi", [None])) == f"size={16 * 2**20}"
    assert tmpfs_options(memory_pod(None, ["32Mi", "32Mi"])) == f"size={64 * 2**20}"
    assert tmpfs_options(memory_pod("128Mi", ["32Mi"])) == f"size={32 * 2**20}"  # the smaller of the two
    assert tmpfs_options(memory_pod(None, ["32Mi", None])) is None  # no pod limit: tmpfs's default
    assert pod_memory_limit(memory_pod(None, ["10Mi"])) == 10 * 2**20


def test_memory_empty_dir_of_an_fs_group_pod_is_the_groups() -> None:
    assert tmpfs_options(memory_pod("16Mi", [None], fs_group=2000)) == f"size={16 * 2**20},gid=2000,mode=3777"
