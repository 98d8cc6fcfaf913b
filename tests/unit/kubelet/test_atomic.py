"""The kubelet's AtomicWriter: payloads swapped in through `..data`, unchanged payloads left alone, paths checked
again where they become host paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelet.volumes.atomic import PathError, check_path, check_payload, current_payload, write_atomically


def test_files_are_swapped_in_atomically(tmp_path: Path) -> None:
    vol = tmp_path / "kube-api-access-x"
    assert write_atomically(
        vol, {"token": (b"one", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)}
    )
    assert (vol / "token").read_bytes() == b"one" and os.readlink(vol / "token") == "..data/token"
    first = os.readlink(vol / "..data")
    assert write_atomically(
        vol, {"token": (b"two", 0o644), "ca.crt": (b"CA", 0o644), "dir/inner": (b"x", 0o600)}
    )
    assert (vol / "token").read_bytes() == b"two"
    assert os.readlink(vol / "..data") != first and not (vol / first).exists()  # the old copy is gone
    assert oct((vol / "dir" / "inner").stat().st_mode & 0o777) == oct(0o600)
    assert sorted(p.name for p in vol.iterdir() if not p.name.startswith("..")) == ["ca.crt", "dir", "token"]


def test_an_unchanged_payload_is_not_rewritten_and_dropped_names_go(tmp_path: Path) -> None:
    vol = tmp_path / "cfg"
    assert write_atomically(vol, {"a": (b"1", 0o644), "b": (b"2", 0o644)})
    data = os.readlink(vol / "..data")
    assert not write_atomically(vol, {"a": (b"1", 0o644), "b": (b"2", 0o644)})
    assert os.readlink(vol / "..data") == data
    assert write_atomically(vol, {"a": (b"1", 0o600)})  # a mode change is a change
    assert current_payload(vol) == {"a": (b"1", 0o600)}
    assert not (vol / "b").exists() and not (vol / "b").is_symlink()
    assert write_atomically(vol, {})  # an optional object that went away: an empty volume
    assert [p.name for p in vol.iterdir() if not p.name.startswith("..")] == []


def test_a_planted_top_level_name_is_replaced_by_the_writers_link(tmp_path: Path) -> None:
    vol = tmp_path / "cfg"
    vol.mkdir()
    os.symlink("/etc", vol / "conf")  # as if something had written into the volume directory
    write_atomically(vol, {"conf/app": (b"x", 0o644)})
    assert os.readlink(vol / "conf") == "..data/conf" and (vol / "conf" / "app").read_bytes() == b"x"
    assert Path("/etc/app").exists() is False


def test_a_volume_directory_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "vol")
    with pytest.raises(PathError):
        write_atomically(tmp_path / "vol", {"a": (b"1", 0o644)})
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize(
    "bad", ["/etc/passwd", "../x", "a/../../x", "..data/token", "..x", "", "a\0b", ".", "x" * 256, None]
)
def test_paths_from_the_api_are_checked_again(bad: object) -> None:
    with pytest.raises(PathError):
        check_path(bad)
    assert check_path("token") == "token" and check_path("a/..b/c") == "a/..b/c"


def test_conflicting_paths_are_refused() -> None:
    with pytest.raises(PathError, match="inside file"):
        check_payload({"a": (b"", 0o644), "a/b": (b"", 0o644)})
    with pytest.raises(PathError, match="duplicate"):
        check_payload({"a/b": (b"", 0o644), "a//b": (b"", 0o644)})
