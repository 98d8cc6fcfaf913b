"""Running the real `kubectl` against a test apiserver, and small helpers shared by the kubectl tests.

kubectl is the one scripts/install puts into .venv/bin (tests/binaries.py resolves it); its discovery results are
cached in `--cache-dir`, which the fixtures make fresh for every test session so a changed discovery document is
always re-read.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from tests.binaries import INSTALL_HINT, KUBECTL
from tests.factories import Obj
from tests.harness import admin_tls

# Every module of this folder needs kubectl and (through the apiserver fixture) etcd.
MARKS = [
    pytest.mark.kubectl,
    pytest.mark.etcd,
    pytest.mark.skipif(KUBECTL is None, reason=f"kubectl is not installed ({INSTALL_HINT})"),
]


@dataclass(frozen=True)
class Kubectl:
    """`kubectl --kubeconfig K --cache-dir C [-n NS] ...`; `__call__` returns stdout and fails on a non-zero exit."""

    kubeconfig: Path
    cache_dir: Path
    namespace: str | None = None
    timeout: float = 30.0

    def in_namespace(self, namespace: str | None) -> Kubectl:
        return replace(self, namespace=namespace)

    def argv(self, *args: str) -> list[str]:
        assert KUBECTL is not None
        argv = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir)]
        if self.namespace:
            argv += ["-n", self.namespace]
        return argv + list(args)

    def env(self) -> dict[str, str]:
        # A private HOME keeps kubectl away from the user's ~/.kube (config, cache, kuberc).
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["HOME"] = str(self.cache_dir.parent)
        return env

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env=self.env(),
        )

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"kubectl {' '.join(args)} exited {done.returncode}: {done.stderr}"
        return done.stdout

    def fails(self, *args: str, stdin: str | None = None) -> str:
        """Run a command that must fail; return its stderr."""
        done = self.run(*args, stdin=stdin)
        assert done.returncode != 0, f"kubectl {' '.join(args)} unexpectedly succeeded: {done.stdout}"
        return done.stderr

    def start(self, *args: str) -> LineReader:
        proc = subprocess.Popen(
            self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env()
        )
        return LineReader(proc)


class LineReader:
    """A long-running kubectl (`get -w`, `wait`) whose stdout lines are collected by a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_line(self, predicate, timeout: float = 15.0) -> str:
        """Return the first not yet consumed line for which `predicate(line)` holds; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if predicate(line):
                return line
        raise AssertionError(
            f"no matching line from kubectl within {timeout}s; got {self.lines}; {self.stop()}"
        )

    def stop(self) -> str:
        """Stop kubectl (by its own PID) and return what it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return err


def table(output: str) -> list[dict[str, str]]:
    """kubectl's column-aligned table output as dicts keyed by the header cells (empty cells are "")."""
    lines = [line for line in output.splitlines() if line.strip()]
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s\s))\S", header)]
    names = [header[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return [
        {name: line[a:b].strip() for name, a, b in zip(names, starts, [*starts[1:], None], strict=True)}
        for line in lines[1:]
    ]


# ---- objects written by the tests over HTTP ------------------------------------------------------------------------


def running_status(ip: str = "10.244.0.7", host_ip: str = "10.0.0.5", container: str = "app") -> Obj:
    """A Running, Ready pod status as a kubelet would write it."""
    now = "2026-01-01T00:00:00Z"
    return {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "hostIP": host_ip,
            "startTime": now,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": now},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
            ],
            "containerStatuses": [
                {
                    "name": container,
                    "image": "nginx:1.25",
                    "imageID": "docker://sha256:abc",
                    "containerID": "docker://0123456789ab",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
            ],
        }
    }


class Api:
    """The stored objects, read and written as the admin (the tests' independent view of the server)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10, verify=admin_tls())

    def close(self) -> None:
        self.http.close()

    def get(self, path: str) -> Obj:
        r = self.http.get(path)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        return r.json()

    def status_code(self, path: str) -> int:
        return self.http.get(path).status_code

    def create(self, path: str, obj: Obj) -> Obj:
        r = self.http.post(path, json=obj)
        assert r.status_code == 201, f"POST {path}: {r.status_code} {r.text}"
        return r.json()

    def merge_patch(self, path: str, patch: Obj) -> Obj:
        r = self.http.patch(path, json=patch, headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, f"PATCH {path}: {r.status_code} {r.text}"
        return r.json()

    def delete(self, path: str) -> None:
        self.http.delete(path)
