"""emptyDir sizeLimit on disk (kubelet.volumes.limits): usage as `du` counts it, and which pod is over its limit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kubelet.volumes.limits import EMPTY_DIR, disk_usage, exceeded, sized_empty_dirs

MiB = 2**20


def write(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())


def pod(*volumes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"uid": "u-1", "name": "p"}, "spec": {"volumes": list(volumes)}}


def test_usage_counts_allocated_blocks_and_follows_no_symlink(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    write(vol / "a", 2 * MiB)
    write(vol / "sub" / "b", MiB)
    big_outside = tmp_path / "outside"
    write(big_outside, 8 * MiB)
    os.symlink(big_outside, vol / "link")
    with open(vol / "sparse", "wb") as f:
        f.truncate(64 * MiB)  # a hole: no blocks
    used = disk_usage(vol)
    assert 3 * MiB <= used < 4 * MiB
    assert disk_usage(tmp_path / "missing") == 0


def test_only_on_disk_empty_dirs_with_a_limit_are_measured() -> None:
    p = pod(
        {"name": "a", "emptyDir": {"sizeLimit": "1Mi"}},
        {"name": "b", "emptyDir": {}},
        {"name": "c", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "d", "hostPath": {"path": "/tmp"}},
    )
    assert sized_empty_dirs(p) == {"a": "1Mi"}


def test_a_pod_over_its_limit_gets_the_kubelets_message(tmp_path: Path) -> None:
    p = pod(
        {"name": "small", "emptyDir": {"sizeLimit": "1Mi"}}, {"name": "big", "emptyDir": {"sizeLimit": "8Mi"}}
    )
    base = tmp_path / "pods" / "u-1" / "volumes" / EMPTY_DIR
    write(base / "big" / "f", 2 * MiB)
    assert exceeded(tmp_path, p) is None  # within limits (and "small" not even made yet)
    write(base / "small" / "f", 2 * MiB)
    assert exceeded(tmp_path, p) == 'Usage of EmptyDir volume "small" exceeds the limit "1Mi".'


def test_a_limit_that_is_no_quantity_is_not_enforced(tmp_path: Path) -> None:
    p = pod({"name": "x", "emptyDir": {"sizeLimit": "lots"}})
    write(tmp_path / "pods" / "u-1" / "volumes" / EMPTY_DIR / "x" / "f", MiB)
    assert exceeded(tmp_path, p) is None
