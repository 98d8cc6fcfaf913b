"""Kubelite components as real processes, for the integration tests: `Component` (`python -m <module>` with its
log in a file, /healthz, stop by PID, the check that its role refused it nothing), `start_manager` and `managers`
(the controller-manager with its own identity), `start_scheduler`, `hollow_groups` (groups of hollow nodes, Ready before a test uses
them and deleted after it), and `LogFile` (a node agent's log, kept with KUBELITE_KEEP_LOGS)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen

import httpx

from tests.harness import (
    CONTROLLER_MANAGER,
    SCHEDULER,
    ApiServer,
    discard_log,
    forbidden_lines,
    free_port,
    start_component,
    stop_process,
)
from tests.polling import wait_until


class LogFile:
    """The log of a component at `self.log_path` (None before it started)."""

    log_path: Path | None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def discard_log(self) -> None:
        """Remove the log, unless KUBELITE_KEEP_LOGS asks to keep it."""
        if self.log_path is not None:
            discard_log(self.log_path)


class Component:
    """A component started with `python -m`; stopped by PID (SIGTERM, or SIGKILL with `kill()`). Its log stays
    until `cleanup()`, so that a test can read it after the component stopped."""

    def __init__(self, args: list[str], name: str, port: int | None = None) -> None:
        self.port = port
        self.proc: Popen[bytes] | None
        self.proc, self.log_path = start_component(args, name)

    @property
    def url(self) -> str:
        """Where its plain /healthz and /metrics are (on loopback)."""
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def alive(self) -> bool:
        """True while it runs; AssertionError with the end of its log once it has exited."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"component exited:\n{self.logs()[-3000:]}")
        return True

    def wait_healthy(self, timeout: float = 20) -> None:
        assert self.port is not None
        try:
            wait_until(
                lambda: self.alive() and httpx.get(self.url + "/healthz", timeout=1).status_code == 200,
                timeout,
                what="component /healthz",
            )
        except TimeoutError as exc:
            raise AssertionError(f"component not healthy:\n{self.logs()[-3000:]}") from exc

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def cleanup(self) -> None:
        """Stop it and remove its log (kept with KUBELITE_KEEP_LOGS)."""
        self.stop()
        discard_log(Path(self.log_path))

    def assert_never_forbidden(self) -> None:
        """It runs as its own identity with its bootstrap role: any 403 in its log is a request the role does not
        cover, which fails the tests that ran it (tests.harness.forbidden_lines)."""
        refused = forbidden_lines(self.logs())
        assert not refused, "refused by RBAC:\n" + "\n".join(refused[:5])


def start_manager(apiserver: ApiServer, *args: str) -> Component:
    """The controller-manager as system:kube-controller-manager (its bootstrap role, nothing more), healthy."""
    port = free_port()
    m = Component(
        ["controller_manager", *apiserver.component_args(*CONTROLLER_MANAGER), "--port", str(port),
         "--root-ca-file", apiserver.ca_file, *args],
        "controller-manager",
        port,
    )  # fmt: skip
    try:
        m.wait_healthy()
    except BaseException:
        m.cleanup()
        raise
    return m


def start_scheduler(apiserver: ApiServer, *args: str) -> Component:
    """The scheduler as system:kube-scheduler (its bootstrap role is all it may do), healthy."""
    port = free_port()
    s = Component(
        ["scheduler", *apiserver.component_args(*SCHEDULER), "--port", str(port), *args], "scheduler", port
    )
    try:
        s.wait_healthy(15)
    except BaseException:
        s.cleanup()
        raise
    return s


@contextlib.contextmanager
def checked(component: Component) -> Iterator[Component]:
    """`component` for the body of the block; on the way out it stops, and its role must have refused it
    nothing."""
    try:
        yield component
    finally:
        component.stop()
        try:
            component.assert_never_forbidden()
        finally:
            component.cleanup()


@contextlib.contextmanager
def managers(apiserver: ApiServer, *common: str) -> Iterator[Callable[..., Component]]:
    """`start(*args)`: a controller-manager (with `common` args too) for the body of the block; on the way out each
    stops, and its role must have refused it nothing."""
    started: list[Component] = []

    def start(*args: str) -> Component:
        m = start_manager(apiserver, *common, *args)
        started.append(m)
        return m

    try:
        yield start
    finally:
        for m in started:
            m.stop()
        for m in started:
            try:
                m.assert_never_forbidden()
            finally:
                m.cleanup()


def _ready_nodes(http: httpx.Client) -> set[str]:
    return {
        n["metadata"]["name"]
        for n in http.get("/api/v1/nodes").json()["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
    }


@contextlib.contextmanager
def hollow_groups(
    apiserver: ApiServer, http: httpx.Client, *, ready_within: float = 20
) -> Iterator[Callable[..., list[str]]]:
    """`start(count, prefix, *args)`: a group of hollow nodes `<prefix>0..`, Ready before it returns. On the way
    out every group stops and its nodes are deleted (also those of a group that died first). `http`: a client
    of the admin's."""
    started: list[tuple[Component, list[str]]] = []

    def start(count: int, prefix: str, *args: str) -> list[str]:
        proc = Component(
            [
                "kubelet.hollow",
                # Hollow nodes stand for many kubelets at once: they run as the admin, not as one node.
                "--kubeconfig",
                str(apiserver.admin_kubeconfig),
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
        started.append((proc, names))
        wait_until(
            lambda: proc.alive() and set(names) <= _ready_nodes(http),
            ready_within,
            what=f"hollow nodes {prefix}*",
        )
        return names

    try:
        yield start
    finally:
        ours = {name for _, names in started for name in names}
        for proc, names in started:
            proc.cleanup()
            for name in names:  # in case the group died before it could clean up
                with contextlib.suppress(httpx.HTTPError):
                    http.delete(f"/api/v1/nodes/{name}")
        wait_until(
            lambda: not ours & {n["metadata"]["name"] for n in http.get("/api/v1/nodes").json()["items"]},
            10,
            what="hollow nodes deleted",
        )
