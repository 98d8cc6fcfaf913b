"""The kubelet's projected volume files: atomic swaps through `..data`, paths checked, downward API values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelet.projected import VolumeError, check_path, field_value, write_atomically


def test_files_are_swapped_in_atomically(tmp_path: Path) -> None:
    vol = tmp_path / "kube-api-access-x"
    write_atomically(vol, {"token": (b"one", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)})
    assert (vol / "token").read_bytes() == b"one" and os.readlink(vol / "token") == "..data/token"
    first = os.readlink(vol / "..data")
    write_atomically(vol, {"token": (b"two", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)})
    assert (vol / "token").read_bytes() == b"two"
    assert os.readlink(vol / "..data") != first and not (vol / first).exists()  # the old copy is gone
    assert oct((vol / "dir" / "inner").stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in vol.iterdir() if not p.name.startswith("..")) == ["ca.crt", "dir", "token"]


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", "..data/token", ""])
def test_paths_from_the_api_are_checked_again(bad: str) -> None:
    with pytest.raises(VolumeError):
        check_path(bad)
    assert check_path("token") == "token"


def test_downward_api_fields() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"b": "2", "a": "1"}}}
    assert field_value(pod, "metadata.namespace") == "ns"
    assert field_value(pod, "metadata.labels") == 'a="1"\nb="2"'
    assert field_value(pod, "metadata.labels['b']") == "2"
    with pytest.raises(VolumeError):
        field_value(pod, "spec.nodeName")
