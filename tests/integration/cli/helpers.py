"""What the integration cli tests share besides their fixtures (those are in conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.harness import REPO, admin_tls


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
