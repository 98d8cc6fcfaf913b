"""Fixtures for the kctl tests: a kubeconfig for the module's apiserver, a namespace of the module's own,
kctl run in-process (fast) or as a real subprocess, and a small HTTP helper to set up objects and write the
status a controller would write."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import run as kctl_run
from tests.harness import ApiServer, Etcd, running_apiserver
from tests.integration.cli.helpers import Api, Result, kctl_subprocess
from tests.kube import write_kubeconfig
from tests.namespaces import temporary_namespace


@pytest.fixture(scope="package")
def apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    """One apiserver for all kctl test modules (each module still has its own namespace): starting one per
    module would cost more than the tests themselves."""
    with running_apiserver(etcd.url) as server:
        yield server


@pytest.fixture(scope="module")
def api(apiserver: ApiServer) -> Iterator[Api]:
    a = Api(apiserver.url)
    yield a
    a.http.close()


@pytest.fixture(scope="module")
def ns(api: Api) -> Iterator[str]:
    """A namespace of the module's own (the etcd is shared by the whole session)."""
    with temporary_namespace(api.http, "kctl-") as name:
        yield name


@pytest.fixture(scope="module")
def kubeconfig(apiserver: ApiServer, ns: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig whose current context points at the module's apiserver and namespace."""
    return write_kubeconfig(tmp_path_factory.mktemp("kubeconfig") / "config", apiserver, ns)


@pytest.fixture
def kctl(kubeconfig: Path):
    """Run kctl in-process (typer's CliRunner isolation): `kctl("get", "pods", input=...)` -> Result."""

    def call(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        with runner.isolation(input=input, env={"KUBECONFIG": str(kubeconfig), **(env or {})}) as (
            out,
            err,
            _,
        ):
            code = kctl_run(list(args))
            sys.stdout.flush()
            sys.stderr.flush()
            return Result(code, out.getvalue().decode(), err.getvalue().decode())

    return call


@pytest.fixture
def kctl_proc(kubeconfig: Path):
    def call(
        *args: str, input: str | None = None, timeout: float = 30, env: dict[str, str] | None = None
    ) -> Result:
        return kctl_subprocess(*args, kubeconfig=kubeconfig, input=input, timeout=timeout, env=env)

    return call
