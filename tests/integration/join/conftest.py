"""Fixtures for joining machines: the shared apiserver, and a controller-manager running only the CSR and
bootstrap-token controllers, with the test CA as its signing CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import (
    CONTROLLER_MANAGER,
    ApiServer,
    forbidden_lines,
    free_port,
    start_component,
    stop_process,
    wait_until,
)

pytestmark = pytest.mark.etcd

CONTROLLERS = "csrapproving,csrsigning,bootstrapsigner,tokencleaner"


@pytest.fixture(scope="module")
def signer(apiserver: ApiServer) -> Iterator[Path]:
    """The controller-manager (CSR approver and signer, bootstrap signer, token cleaner); yields its log path."""
    port = free_port()
    pki = apiserver.pki.dir
    proc, log = start_component(
        ["controller_manager", *apiserver.component_args(*CONTROLLER_MANAGER), "--port", str(port),
         "--controllers", CONTROLLERS, "--cluster-signing-cert-file", str(pki / "ca.crt"),
         "--cluster-signing-key-file", str(pki / "ca.key"), "--cluster-signing-duration", "2h"],
        "controller-manager",
    )  # fmt: skip
    try:
        try:
            wait_until(
                lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
                20,
                what="controller-manager healthy",
            )
        except TimeoutError as exc:
            raise AssertionError(log.read_text(errors="replace")[-3000:]) from exc
        yield log
    finally:
        stop_process(proc)
        refused = forbidden_lines(log.read_text(errors="replace"))
        log.unlink(missing_ok=True)
    assert not refused, "the controller-manager was refused:\n" + "\n".join(refused[:5])


@pytest.fixture(scope="module")
def admin(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client() as client:
        yield client
