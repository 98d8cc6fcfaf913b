"""Local images, built offline from Debian's busybox-static (no registry needed): the pod sandbox image every
kubelet needs, and a busybox image for examples and tests.

    kubelite/busybox:1   /bin/busybox plus the applet symlinks (sh, httpd, sleep, nc, wget, ...), CMD ["sh"]
    kubelite/pause:1     the same rootfs with CMD sleeping forever: the pod sandbox

`ensure_images()` is idempotent and returns at once when both images are present.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

BUSYBOX_IMAGE = "kubelite/busybox:1"
PAUSE_IMAGE = "kubelite/pause:1"
BUSYBOX_BINARY = Path("/bin/busybox")


def _image_present(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def _rootfs_tar(workdir: Path) -> Path:
    """A tar of a minimal rootfs: busybox, its applet symlinks made by `busybox --install -s`, /tmp, /etc."""
    if not BUSYBOX_BINARY.exists():
        raise RuntimeError("busybox-static is not installed (apt-get install busybox-static)")
    root = workdir / "rootfs"
    for sub in ("bin", "sbin", "usr/bin", "usr/sbin", "tmp", "etc", "proc", "sys", "dev", "root", "var/www"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "tmp").chmod(0o1777)
    shutil.copy2(BUSYBOX_BINARY, root / "bin/busybox")
    # `--install -s DIR` writes absolute symlinks to /bin/busybox, which is where it lives in the image.
    subprocess.run([str(root / "bin/busybox"), "--install", "-s", str(root / "bin")], check=True)
    for link in (root / "bin").iterdir():
        if link.is_symlink():
            link.unlink()
            link.symlink_to("busybox")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    tar_path = workdir / "rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        for item in sorted(root.iterdir()):
            tar.add(item, arcname=item.name)
    return tar_path


def _import(tar_path: Path, name: str, cmd: str) -> None:
    subprocess.run(
        ["docker", "import", "--change", f"CMD {cmd}", str(tar_path), name],
        check=True,
        capture_output=True,
    )


def ensure_images() -> None:
    """Build kubelite/busybox:1 and kubelite/pause:1 unless both exist already."""
    missing = [name for name in (BUSYBOX_IMAGE, PAUSE_IMAGE) if not _image_present(name)]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="kubelite-images-") as tmp:
        tar_path = _rootfs_tar(Path(tmp))
        if BUSYBOX_IMAGE in missing:
            _import(tar_path, BUSYBOX_IMAGE, '["sh"]')
        if PAUSE_IMAGE in missing:
            _import(tar_path, PAUSE_IMAGE, '["sleep", "2147483647"]')


if __name__ == "__main__":
    ensure_images()
    print(BUSYBOX_IMAGE, PAUSE_IMAGE)
