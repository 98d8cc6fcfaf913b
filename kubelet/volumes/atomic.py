"""Kubernetes' AtomicWriter: a volume's files are replaced all at once, so a reader never sees half an update.

Layout of a volume directory (as the kubelet makes it, and as programs that watch ConfigMap volumes expect):

    ..2026_12_05_15_52_26.1234     the current payload (a directory, filled before it becomes visible)
    ..data -> ..2026_12_05_15_52_26.1234
    app.conf -> ..data/app.conf     one symlink per top-level name of the payload

An update fills a new timestamped directory, points `..data_tmp` at it and renames that over `..data` (one
atomic rename), adds the links of new top-level names, removes those of names no longer in the payload, and
removes the old directory. A payload equal to the current one is not written again.

Paths come from the API (item paths) and from object keys; each is checked again here, where it becomes a host
path: relative, no `..` element, not starting with `..` (that prefix is the writer's own), no NUL, no empty or
`.` path, no file that is also a directory. Files are created with O_EXCL|O_NOFOLLOW inside the fresh
directory; the volume directory itself must not be a symlink.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path, PurePosixPath

from kubelet.volumes.ownership import RO_FILE, root_matches, set_volume_ownership

Payload = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)
DATA = "..data"
MAX_PATH = 4096
MAX_NAME = 255


class PathError(ValueError):
    """A payload path that could leave the volume or clash with the writer's own names."""


def check_path(path: object) -> str:
    """A payload path, checked as the kubelet's AtomicWriter checks it; PathError when it is not safe."""
    if not isinstance(path, str) or not path:
        raise PathError(f"invalid path {path!r}: must not be empty")
    if path.startswith("/"):
        raise PathError(f"invalid path {path!r}: must be a relative path")
    if "\0" in path or len(path) > MAX_PATH:
        raise PathError(f"invalid path {path!r}")
    items = path.split("/")
    if ".." in items:
        raise PathError(f"invalid path {path!r}: must not contain '..'")
    if items[0].startswith(".."):
        raise PathError(f"invalid path {path!r}: must not start with '..'")
    if any(len(item) > MAX_NAME for item in items):
        raise PathError(f"invalid path {path!r}: a name is longer than {MAX_NAME}")
    if not PurePosixPath(path).parts or PurePosixPath(path).parts == (".",):
        raise PathError(f"invalid path {path!r}")
    return path


def check_payload(files: Payload) -> Payload:
    """Every path checked, normalised ("a//b" -> "a/b"); no path both a file and a directory."""
    out: Payload = {}
    for path, value in files.items():
        norm = str(PurePosixPath(check_path(path)))
        if norm in out:
            raise PathError(f"conflicting duplicate paths {path!r}")
        out[norm] = value
    for norm in out:
        for parent in PurePosixPath(norm).parents:
            if str(parent) in out:
                raise PathError(f"path {norm!r} is inside file {str(parent)!r}")
    return out


def current_payload(directory: Path) -> Payload | None:
    """What the volume holds now (through `..data`), None when it has not been written or cannot be read."""
    data = directory / DATA
    if not data.is_symlink():
        return None
    base = directory / os.readlink(data)
    out: Payload = {}
    try:
        for root, dirs, names in os.walk(base, followlinks=False):
            for name in names:
                full = Path(root) / name
                st = full.lstat()
                if not stat.S_ISREG(st.st_mode):
                    return None
                out[str(full.relative_to(base))] = (full.read_bytes(), stat.S_IMODE(st.st_mode))
            dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    except OSError:
        return None
    return out


def write_atomically(
    directory: Path, files: Payload, *, dir_mode: int = 0o755, group: int | None = None
) -> bool:
    """Make `directory` hold exactly `files` (see the module doc). True when it wrote, False when unchanged.
    With `group` (the pod's fsGroup) every file and directory is that group's, files group-readable and
    directories setgid (kubelet.volumes.ownership, for a read-only volume)."""
    files = check_payload(files)
    if group is not None:
        files = {p: (c, m | RO_FILE) for p, (c, m) in files.items()}
    if directory.is_symlink():
        raise PathError(f"volume directory {directory} is a symlink")
    directory.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    if group is not None and not root_matches(str(directory), group, read_only=True):
        set_volume_ownership(str(directory), group, read_only=True)
    if current_payload(directory) == {p: (c, m & 0o777) for p, (c, m) in files.items()}:
        return False
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    data_dir = directory / stamp
    data_dir.mkdir(mode=0o755)
    for path, (content, mode) in files.items():
        target = data_dir / path
        for parent in reversed(PurePosixPath(path).parents[:-1]):
            (data_dir / parent).mkdir(mode=0o755, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            if group is not None:
                os.fchown(f.fileno(), -1, group)
            os.fchmod(f.fileno(), mode & 0o777)
    if group is not None:  # the fresh payload's directories (its files are done)
        set_volume_ownership(str(data_dir), group, read_only=True)
    previous = os.readlink(directory / DATA) if (directory / DATA).is_symlink() else None
    tmp_link = directory / "..data_tmp"
    tmp_link.unlink(missing_ok=True)
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, directory / DATA)
    tops = {PurePosixPath(p).parts[0] for p in files}
    for top in tops:
        _link(directory / top, f"{DATA}/{top}")
    for entry in directory.iterdir():
        if not entry.name.startswith("..") and entry.name not in tops:
            _remove(entry)  # a name the new payload no longer has
    if previous and previous != stamp and previous.startswith("..") and "/" not in previous:
        shutil.rmtree(directory / previous, ignore_errors=True)
    return True


def _link(link: Path, target: str) -> None:
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.is_symlink() or link.exists():
        _remove(link)
    os.symlink(target, link)


def _remove(entry: Path) -> None:
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink(missing_ok=True)
    else:
        shutil.rmtree(entry, ignore_errors=True)
