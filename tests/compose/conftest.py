"""The compose deployment under test: images built once per run before the first test (deploy/build.sh, offline;
tests/prebuild.py), one compose project per module with its own name, host ports and out folder, and `down -v`
afterwards even when a test fails.

Skipped where docker or docker-compose is missing (scripts/test installs Debian's docker-compose 1.29).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.helpers import Compose, nodes_ready
from tests.polling import wait_until
from tests.prebuild import COMPOSE_BUILD, build_compose_images, compose_available


@pytest.fixture(scope="session")
def compose_images(request: pytest.FixtureRequest) -> None:
    """The images, built once per test run before the first test (tests/prebuild.py), outside the tests' time
    limits; a failed build is every compose test's error."""
    if not compose_available():
        pytest.skip(
            "docker and docker-compose are needed for the compose tests (scripts/install installs them)"
        )
    build = request.config.stash.get(COMPOSE_BUILD, None)
    if build is None:  # the plugin did not run (e.g. -p no:tests.prebuild): build here, inside the timeout
        build = build_compose_images()
    if not build.ok:
        raise AssertionError(f"deploy/build.sh failed after {build.seconds:.0f}s:\n{build.output[-4000:]}")


@pytest.fixture(scope="module")
def compose_cluster(compose_images: None) -> Iterator[Compose]:
    """A running two-node compose cluster; `figures` holds what the README reports."""
    out = Path(tempfile.mkdtemp(prefix="kubelite-compose-"))
    compose = Compose(f"kltest{uuid.uuid4().hex[:8]}", out)
    try:
        start = time.monotonic()
        compose.run("up", "-d", timeout=600)
        wait_until(lambda: nodes_ready(compose, 2), timeout=180, interval=1, what="2 Ready nodes")
        compose.figures = {"up_to_ready_seconds": round(time.monotonic() - start, 1)}  # type: ignore[attr-defined]
        yield compose
    finally:
        compose.down()
        shutil.rmtree(out, ignore_errors=True)
