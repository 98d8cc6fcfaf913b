"""What the integration workloads tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx

from apimachinery.client import Client
from apimachinery.errors import StatusError
from apimachinery.resources import ResourceInfo
from tests.harness import (
    CONTROLLER_MANAGER,
    ApiServer,
    forbidden_lines,
    free_port,
    start_component,
    stop_process,
)
from tests.integration.controller_manager.helpers import now
from tests.polling import wait_until
from tests.resources import EVENTS, PODS

Obj = dict[str, Any]


# Job pods are replaced after a failure with a backoff of 1 s (Kubernetes: 10 s), so failure tests stay short.
MANAGER_ARGS = ["--job-pod-failure-backoff", "1s"]


class Process:
    """A component started with `python -m`; stopped by PID (SIGTERM, or SIGKILL with `kill()`)."""

    def __init__(self, args: list[str], name: str, port: int | None = None) -> None:
        self.port = port
        self.proc: Popen[bytes] | None
        self.proc, self.log_path = start_component(args, name)

    def logs(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def wait_healthy(self) -> None:
        assert self.port is not None
        wait_until(
            lambda: (
                self.alive()
                and httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
            ),
            20,
            what="component /healthz",
        )

    def alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"component exited:\n{self.logs()[-3000:]}")
        return True

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
        Path(self.log_path).unlink(missing_ok=True)

    def assert_never_forbidden(self) -> None:
        """Any 403 in the component's log fails the tests that ran it (tests.harness.forbidden_lines)."""
        refused = forbidden_lines(self.logs())
        assert not refused, "refused by RBAC:\n" + "\n".join(refused[:5])


def start_manager(cluster: ApiServer, *args: str) -> Process:
    """The controller-manager as system:kube-controller-manager (its bootstrap role, nothing more)."""
    port = free_port()
    m = Process(
        ["controller_manager", *cluster.component_args(*CONTROLLER_MANAGER), "--root-ca-file", cluster.ca_file,
         "--port", str(port), *MANAGER_ARGS, *args],
        "cm",
        port,
    )  # fmt: skip
    m.wait_healthy()
    return m


async def finish(
    client: Client, ns: str, name: str, phase: str = "Succeeded", exit_code: int | None = None
) -> None:
    """The kubelet's report for a pod whose containers all ended: terminated with `exit_code`, phase `phase`."""
    code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
    stamp = now()
    pod = await client.get(PODS, name, ns)
    statuses = [
        {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": False,
            "restartCount": 0,
            "state": {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": stamp,
                    "finishedAt": stamp,
                }
            },
        }
        for c in pod["spec"]["containers"]
    ]
    status = {
        "phase": phase,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp}
        ],
        "containerStatuses": statuses,
    }
    await client.patch(PODS, name, {"status": status}, ns, subresource="status")


async def pods_of(client: Client, ns: str, *, label: str | None = None, live: bool = False) -> list[Obj]:
    items = (await client.list(PODS, ns, label_selector=label))["items"]
    if live:
        items = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    return sorted(items, key=lambda p: p["metadata"]["name"])


async def get_or_none(client: Client, res: ResourceInfo, name: str, ns: str | None) -> Obj | None:
    try:
        return await client.get(res, name, ns)  # type: ignore[no-any-return]
    except StatusError as err:
        if err.code == 404:
            return None
        raise


async def event_reasons(client: Client, ns: str) -> list[str]:
    return [e.get("reason", "") for e in (await client.list(EVENTS, ns))["items"]]


def container(image: str = "busybox:1", **extra: Any) -> Obj:
    return {"name": "c", "image": image, **extra}


def job(name: str, restart: str = "Never", **spec: Any) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "containers": [container()],
                    "restartPolicy": restart,
                    "terminationGracePeriodSeconds": 0,
                }
            },
            **spec,
        },
    }


def workload(kind: str, name: str, image: str = "busybox:1", **spec: Any) -> Obj:
    """A DaemonSet or StatefulSet (apps/v1) selecting app=<name>."""
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container(image)], "terminationGracePeriodSeconds": 0},
            },
            **spec,
        },
    }
