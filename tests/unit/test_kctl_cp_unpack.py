"""kctl cp's unpacking, with and without Python's tar extraction filters (Debian 12's Python 3.11.2 has none)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from cli import cp
from cli.errors import CLIError


def _archive(*members: tuple[str, bytes | None, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, link, data in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf


@pytest.fixture(params=["filters", "no filters"])
def python(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "no filters":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return str(request.param)


def test_a_file_is_unpacked(python: str, tmp_path: Path) -> None:
    cp.unpack(_archive(("etc/hostname", None, b"web\n")), "/etc/hostname", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"web\n"


@pytest.mark.parametrize("member", [("../evil", None, b"x"), ("etc/link", b"/etc/shadow", b"")])
def test_nothing_leaves_the_target(
    python: str, tmp_path: Path, member: tuple[str, bytes | None, bytes]
) -> None:
    with pytest.raises(CLIError):
        cp.unpack(_archive(member), "/etc/link", tmp_path / "out")
    assert not (tmp_path.parent / "evil").exists()
