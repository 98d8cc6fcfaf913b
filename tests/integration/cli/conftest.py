"""Fixtures for the kctl tests: a kubeconfig for the module's apiserver, a namespace of the module's own,
kctl run in-process (fast) or as a real subprocess, and a small HTTP helper to set up objects and write the
status a controller would write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from cli.main import run as kctl_run
from tests.factories import deployment, pod
from tests.harness import REPO, ApiServer, Etcd, admin_tls, running_apiserver
from tests.kube import write_kubeconfig


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:  # shows up in assertion messages
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


class Api:
    """Direct REST calls for test setup and for checking resulting state."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10, verify=admin_tls())

    def _check(self, resp: httpx.Response) -> Any:
        assert resp.is_success, f"{resp.request.method} {resp.request.url}: {resp.status_code} {resp.text}"
        return resp.json()

    def get(self, path: str) -> Any:
        return self._check(self.http.get(path))

    def status(self, path: str) -> int:
        return self.http.get(path).status_code

    def post(self, path: str, body: Any) -> Any:
        return self._check(self.http.post(path, json=body))

    def put(self, path: str, body: Any) -> Any:
        return self._check(self.http.put(path, json=body))

    def patch(self, path: str, body: Any) -> Any:
        return self._check(
            self.http.patch(
                path, content=json.dumps(body), headers={"Content-Type": "application/merge-patch+json"}
            )
        )

    def write_status(self, path: str, status: dict[str, Any]) -> Any:
        """PUT `status` on `path`/status, as a controller would."""
        obj = self.get(path)
        obj["status"] = status
        return self.put(path + "/status", obj)


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
    name = f"kctl-{uuid.uuid4().hex[:8]}"
    api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    api.http.delete(f"/api/v1/namespaces/{name}")


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


def kctl_subprocess(
    *args: str,
    kubeconfig: Path | None = None,
    input: str | None = None,
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> Result:
    """Run the real `kctl` entry point as a separate process."""
    full_env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    full_env["PYTHONUNBUFFERED"] = "1"
    if kubeconfig is not None:
        full_env["KUBECONFIG"] = str(kubeconfig)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=full_env,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kctl_proc(kubeconfig: Path):
    def call(
        *args: str, input: str | None = None, timeout: float = 30, env: dict[str, str] | None = None
    ) -> Result:
        return kctl_subprocess(*args, kubeconfig=kubeconfig, input=input, timeout=timeout, env=env)

    return call


def pod_manifest(name: str, labels: dict[str, str] | None = None, image: str = "busybox") -> dict[str, Any]:
    return pod(name, labels, image, container="main")


def deployment_manifest(name: str, replicas: int = 2, image: str = "nginx:1.25") -> dict[str, Any]:
    return deployment(name, replicas, image, container="web", ports=[80])
