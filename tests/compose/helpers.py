"""What the compose tests share besides their fixtures (those, and how they set things up, are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.binaries import INSTALL_HINT, KCTL, KUBECTL
from tests.harness import REPO, free_port

DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
TEST_ENV = DEPLOY / "test.env"


class Compose:
    """One compose project: `run(...)` is docker-compose with this project's name, files and environment."""

    def __init__(self, project: str, out_dir: Path) -> None:
        self.project = project
        self.out_dir = out_dir
        self.kubeconfig = out_dir / "kubeconfig"
        self.apiserver_port = free_port()
        self.registry_port = free_port()
        self.env = {
            **os.environ,
            "KUBELITE_OUT": str(out_dir),
            "APISERVER_PORT": str(self.apiserver_port),
            "REGISTRY_PORT": str(self.registry_port),
        }
        self.kubectl_cache = out_dir / "kubectl-cache"

    def run(
        self, *args: str, check: bool = True, timeout: float = 300, profiles: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["docker-compose", "-p", self.project, "-f", str(COMPOSE_FILE), "--env-file", str(TEST_ENV)]
        for p in profiles:
            cmd += ["--profile", p]
        proc = subprocess.run(
            [*cmd, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=DEPLOY
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def kctl(
        self, *args: str, check: bool = True, timeout: float = 60, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Our CLI with the cluster's kubeconfig (HTTPS, its CA, the admin client certificate)."""
        assert KCTL is not None, f"kctl is not installed ({INSTALL_HINT})"
        return self._run_cli([KCTL, "--kubeconfig", str(self.kubeconfig), *args], check, timeout, stdin)

    def kctl_json(self, *args: str) -> Any:
        return json.loads(self.kctl(*args, "-o", "json").stdout)

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """The real kubectl, for the tests where kubectl itself is the subject."""
        assert KUBECTL is not None, f"kubectl is not installed ({INSTALL_HINT})"
        argv = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.kubectl_cache), *args]
        return self._run_cli(argv, check, timeout, None)

    @staticmethod
    def _run_cli(
        argv: list[str], check: bool, timeout: float, stdin: str | None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv[:1] + argv[3:])} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def container(self, service: str) -> str:
        """The container id of `service` (first replica)."""
        out = self.run("ps", "-q", service).stdout.split()
        assert out, f"no container for {service}"
        return out[0]

    def node_exec(self, node: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside a node container (e.g. `docker ...` against the node's own engine)."""
        return subprocess.run(
            ["docker", "exec", self.container(node), *args], capture_output=True, text=True, timeout=timeout
        )

    def health(self, profiles: tuple[str, ...] = ()) -> dict[str, str]:
        """service -> health (healthy, starting, unhealthy, exited...) of every container of the project."""
        ids = self.run("ps", "-q", profiles=profiles).stdout.split()
        if not ids:
            return {}
        out = subprocess.run(
            [
                "docker",
                "inspect",
                "-f",
                '{{index .Config.Labels "com.docker.compose.service"}} '
                "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                *ids,
            ],
            capture_output=True,
            text=True,
        ).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks and volumes still labelled with this project."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {}
        for kind, cmd in (
            ("containers", ["docker", "ps", "-aq", "--filter", label]),
            ("networks", ["docker", "network", "ls", "-q", "--filter", label]),
            ("volumes", ["docker", "volume", "ls", "-q", "--filter", label]),
        ):
            found[kind] = subprocess.run(cmd, capture_output=True, text=True).stdout.split()
        return found

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", "-t", "5", check=False, profiles=("ha",), timeout=180)


def nodes_ready(compose: Compose, count: int) -> bool:
    proc = compose.kctl("get", "nodes", "-o", "json", check=False)
    if proc.returncode != 0:
        return False
    items = json.loads(proc.stdout)["items"]
    ready = [
        n
        for n in items
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
    ]
    return len(ready) >= count
