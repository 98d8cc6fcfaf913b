"""One kube-proxy per network namespace: the lock file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from kube_proxy.lock import ProxyLock


def test_second_holder_is_refused_until_the_first_releases(tmp_path: Path) -> None:
    first, second = ProxyLock(tmp_path / "run" / "kp.lock"), ProxyLock(tmp_path / "run" / "kp.lock")
    assert first.acquire() and first.held
    assert not second.acquire() and not second.held
    assert second.holder() == str(os.getpid())
    first.release()
    assert second.acquire()
    second.release()


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "kp.lock"
    code = f"from kube_proxy.lock import ProxyLock; from pathlib import Path; assert ProxyLock(Path({str(path)!r})).acquire()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
    lock = ProxyLock(path)
    assert lock.acquire()
    lock.release()
