"""Fixtures for scheduler tests: a cluster of our own per module (exact node counts in the messages), a running
kube-scheduler, hollow-node groups started per test (and deleted after it), and a small sync API helper."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import (
    SCHEDULER,
    ApiServer,
    admin_tls,
    free_port,
    own_apiserver,
    start_component,
    stop_process,
)
from tests.polling import wait_until


class Api:
    """Just enough of the REST API for tests, synchronous."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10, verify=admin_tls())

    def create_namespace(self) -> str:
        name = f"t-{uuid.uuid4().hex[:8]}"
        self.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.http.post(path, json=body)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()  # type: ignore[no-any-return]

    def get(self, path: str) -> dict[str, Any] | None:
        resp = self.http.get(path)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]

    def create_pod(self, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
        return self.post(f"/api/v1/namespaces/{namespace}/pods", pod)

    def pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(f"/api/v1/namespaces/{namespace}/pods/{name}")

    def node_of(self, namespace: str, name: str) -> str | None:
        pod = self.pod(namespace, name)
        return (pod or {}).get("spec", {}).get("nodeName")

    def wait_bound(self, namespace: str, name: str, timeout: float = 10) -> str:
        return wait_until(
            lambda: self.node_of(namespace, name), timeout, what=f"pod {namespace}/{name} bound"
        )  # type: ignore[no-any-return]

    def events(self, namespace: str, reason: str | None = None) -> list[dict[str, Any]]:
        items = (self.get(f"/api/v1/namespaces/{namespace}/events") or {}).get("items") or []
        return [e for e in items if reason is None or e.get("reason") == reason]

    def nodes(self) -> list[dict[str, Any]]:
        return (self.get("/api/v1/nodes") or {}).get("items") or []


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    """etcd + apiserver of this module's own: other modules' nodes cannot change where pods land."""
    with own_apiserver() as server:
        yield server


@pytest.fixture(scope="module")
def api(cluster: ApiServer) -> Iterator[Api]:
    client = Api(cluster.url)  # as the admin
    yield client
    client.http.close()


class Component:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, port: int | None = None) -> None:
        self.proc, self.log, self.port = proc, log, port

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.unlink(missing_ok=True)


def start_scheduler(server: ApiServer, *extra: str) -> Component:
    """A scheduler as system:kube-scheduler (its bootstrap role is all it may do)."""
    port = free_port()
    args = ["scheduler", *server.component_args(*SCHEDULER), "--port", str(port), *extra]
    proc, log = start_component(args, "scheduler")
    comp = Component(proc, log, port)
    wait_until(
        lambda: (
            proc.poll() is None
            and httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        ),
        15,
        what="scheduler /healthz",
    )
    return comp


@pytest.fixture(scope="module")
def scheduler(cluster: ApiServer) -> Iterator[Component]:
    comp = start_scheduler(cluster)
    yield comp
    comp.stop()


@pytest.fixture
def hollow(api: Api, cluster: ApiServer) -> Iterator[Any]:
    """`hollow(count, prefix, *args)` starts a group of hollow nodes and waits until they are Ready; every group
    is stopped and its nodes deleted when the test ends."""
    started: list[tuple[Component, list[str]]] = []

    def start(count: int, prefix: str, *args: str) -> list[str]:
        proc, log = start_component(
            [
                "kubelet.hollow",
                # Hollow nodes stand for many kubelets at once: they run as the admin, not as one node.
                "--kubeconfig",
                str(cluster.admin_kubeconfig),
                "--count",
                str(count),
                "--name-prefix",
                prefix,
                "--delete-on-exit",
                *args,
            ],
            "hollow",
        )
        names = [f"{prefix}{i}" for i in range(count)]
        started.append((Component(proc, log), names))

        def ready() -> bool:
            assert proc.poll() is None, log.read_text()
            seen = {
                n["metadata"]["name"]
                for n in api.nodes()
                if any(
                    c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", [])
                )
            }
            return set(names) <= seen

        wait_until(ready, 15, what=f"hollow nodes {prefix}*")
        return names

    yield start
    for comp, names in started:
        comp.stop()
        for name in names:  # in case the group died before it could clean up
            with contextlib.suppress(httpx.HTTPError):
                api.http.delete(f"/api/v1/nodes/{name}")
    wait_until(
        lambda: (
            not any(
                n in {x for _, ns in started for x in ns}
                for n in (x["metadata"]["name"] for x in api.nodes())
            )
        ),
        10,
        what="hollow nodes deleted",
    )


@pytest.fixture
def ns(api: Api) -> Iterator[str]:
    """A namespace for one test; its pods are deleted afterwards, so pending ones cannot land on later nodes."""
    name = api.create_namespace()
    yield name
    for pod in (api.get(f"/api/v1/namespaces/{name}/pods") or {}).get("items") or []:
        api.http.request(
            "DELETE",
            f"/api/v1/namespaces/{name}/pods/{pod['metadata']['name']}",
            json={"gracePeriodSeconds": 0},
        )


def make_pod(name: str, cpu: str | None = "100m", **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    ports = spec.pop("host_port", None)
    if ports:
        container["ports"] = [{"containerPort": 80, "hostPort": ports}]
    meta = spec.pop("metadata", {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **meta},
        "spec": {"containers": [container], **spec},
    }
