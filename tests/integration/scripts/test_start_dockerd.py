"""scripts/lib/dockerd.sh (what scripts/test and scripts/up start Docker with): a dockerd that does not come up
fails the script with the end of its log; one that does is waited for. Stand-ins for `docker` and `dockerd` on PATH
play the engine, so the host's own engine is not touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.harness import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="scripts start dockerd only as root")


def _run(tmp_path: Path, dockerd_body: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # `docker info` answers once the stand-in dockerd has written its "ready" file
    (bin_dir / "docker").write_text(f'#!/bin/sh\n[ "$1" = info ] && [ -e {tmp_path}/ready ]\n')
    (bin_dir / "dockerd").write_text(f"#!/bin/sh\n{dockerd_body}\n")
    for tool in ("docker", "dockerd"):
        (bin_dir / tool).chmod(0o755)
    script = f'. {REPO}/scripts/lib/dockerd.sh; start_dockerd {tmp_path}/dockerd.log; echo "rc=$? pid=$DOCKERD_PID"'
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    return done


def test_a_dockerd_that_dies_fails_with_the_end_of_its_log(tmp_path: Path) -> None:
    done = _run(tmp_path, "echo 'failed to start daemon: Devices cgroup is not mounted' >&2; exit 1")
    assert "rc=1" in done.stdout
    assert "dockerd did not come up; the end of" in done.stderr
    assert "    failed to start daemon: Devices cgroup is not mounted" in done.stderr


def test_a_dockerd_that_comes_up_is_waited_for(tmp_path: Path) -> None:
    done = _run(tmp_path, f"sleep 0.5; touch {tmp_path}/ready; exec sleep 30")
    try:
        assert "starting dockerd" in done.stdout and "rc=0 pid=" in done.stdout, done.stderr
    finally:
        pid = done.stdout.rsplit("pid=", 1)[-1].strip()
        if pid.isdigit():
            os.kill(int(pid), 9)  # the stand-in we started
