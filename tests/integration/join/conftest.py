"""Fixtures for joining machines: the shared apiserver, and a controller-manager running only the CSR and
bootstrap-token controllers, with the test CA as its signing CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.components import Component
from tests.harness import (
    CONTROLLER_MANAGER,
    ApiServer,
    free_port,
)

pytestmark = pytest.mark.etcd

CONTROLLERS = "csrapproving,csrsigning,bootstrapsigner,tokencleaner"


@pytest.fixture(scope="module")
def signer(apiserver: ApiServer) -> Iterator[Path]:
    """The controller-manager (CSR approver and signer, bootstrap signer, token cleaner); yields its log path."""
    pki = apiserver.pki.dir
    port = free_port()
    m = Component(
        ["controller_manager", *apiserver.component_args(*CONTROLLER_MANAGER), "--port", str(port),
         "--controllers", CONTROLLERS, "--cluster-signing-cert-file", str(pki / "ca.crt"),
         "--cluster-signing-key-file", str(pki / "ca.key"), "--cluster-signing-duration", "2h"],
        "controller-manager",
        port,
    )  # fmt: skip
    try:
        m.wait_healthy()
        yield m.log_path
        m.stop()
        m.assert_never_forbidden()
    finally:
        m.cleanup()


@pytest.fixture(scope="module")
def admin(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.client() as client:
        yield client
