"""Images are built before the first test starts, outside every test's timeout (a pytest plugin, from conftest.py).

After collection, and only for what the selected tests need: the local busybox and pause images (a few seconds)
when a Docker test is selected, and the compose deployment's images (`deploy/build.sh`; several minutes on a fresh
machine, where it debootstraps the base image, then seconds) when a compose test is. Each build has its own time
limit. A failed compose build is kept, and reported by the `compose_images` fixture as the error of every compose
test, instead of stopping the other tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

from tests.harness import REPO, docker_ok

BUILD_SH = REPO / "deploy" / "build.sh"
COMPOSE_BUILD_TIMEOUT = 1800.0  # a fresh machine: debootstrap of the base image, then two image builds


@dataclass
class Build:
    ok: bool
    seconds: float
    output: str


COMPOSE_BUILD = pytest.StashKey[Build]()


def compose_available() -> bool:
    return docker_ok() and shutil.which("docker-compose") is not None


def build_compose_images(timeout: float = COMPOSE_BUILD_TIMEOUT) -> Build:
    start = time.monotonic()
    try:
        proc = subprocess.run([str(BUILD_SH)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (
            (exc.stdout or b"").decode(errors="replace")
            if isinstance(exc.stdout, bytes)
            else exc.stdout or ""
        )
        return Build(
            False, time.monotonic() - start, f"deploy/build.sh timed out after {timeout:.0f}s\n{out}"
        )
    return Build(proc.returncode == 0, time.monotonic() - start, proc.stdout + proc.stderr)


def _selected_markers(items: list[pytest.Item]) -> set[str]:
    return {mark.name for item in items for mark in item.iter_markers()}


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or not session.items:
        return
    markers = _selected_markers(session.items)
    if not markers & {"docker", "e2e", "compose"} or not docker_ok():
        return  # the tests say what is missing themselves
    write = session.config.get_terminal_writer().line
    from tests.images import ensure_images

    ensure_images()
    if "compose" in markers and compose_available():
        write(
            "building the compose images (deploy/build.sh): minutes on a fresh machine, seconds once built",
            yellow=True,
        )
        build = build_compose_images()
        session.config.stash[COMPOSE_BUILD] = build
        write(f"compose images {'built' if build.ok else 'FAILED'} in {build.seconds:.0f}s", red=not build.ok)
