"""Liveness, readiness and startup probes: one asyncio task per (container instance, probe kind).

Results are kept per container id, so a restarted container starts from scratch:
    ready(id)        readiness (True without a readiness probe once started)
    started(id)      the startup probe has succeeded (True without one)
    must_kill(id)    liveness or startup failed `failureThreshold` times in a row: restart the container
A result that changes calls `on_change(pod_uid)`, which wakes the pod's worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from apimachinery.tasks import cancel_and_wait
from apimachinery.validation import is_dns1123_subdomain, parse_ip
from kubelet.runtime.docker import DockerRuntime

log = logging.getLogger("kubelet.probes")

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
_KINDS = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}


@dataclass
class ProbeResult:
    ok: bool
    message: str = ""


def resolve_port(port: Any, container: dict[str, Any]) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"unknown port name {port!r}")


def probe_url(scheme: str, host: Any, port: int, path: Any) -> httpx.URL:
    """The probe's URL from its parts (as the kubelet's formatURL): the path cannot change the host or port
    ("@other-host/" would, pasted into a string), and the host must be an IP address or a DNS name."""
    if scheme not in ("http", "https") or not 1 <= port <= 65535:
        raise ValueError(f"invalid probe scheme or port: {scheme!r} {port!r}")
    if not isinstance(host, str) or (parse_ip(host) is None and is_dns1123_subdomain(host)):
        raise ValueError(f"invalid probe host {host!r}")
    raw = str(path or "/")
    raw = raw if raw.startswith("/") else "/" + raw
    route, _, query = raw.partition("?")
    ip = parse_ip(host)
    url = httpx.URL(scheme=scheme, host=str(ip) if ip is not None else host, port=port, path=route)
    return url.copy_with(query=query.encode()) if query else url


async def run_probe(
    probe: dict[str, Any], container: dict[str, Any], container_id: str, pod_ip: str, runtime: DockerRuntime
) -> ProbeResult:
    """Run one probe once; never raises."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "exec" in probe:
            code, out = await runtime.exec(container_id, list(probe["exec"].get("command") or []), timeout)
            text = out.decode(errors="replace").strip()[:200]
            return ProbeResult(code == 0, text if code == 0 else f"exit code {code}: {text}")
        if "httpGet" in probe:
            h = probe["httpGet"]
            host = h.get("host") or pod_ip
            scheme = str(h.get("scheme") or "HTTP").lower()
            port = resolve_port(h.get("port", 80), container)
            path = h.get("path") or "/"
            headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or [] if "name" in x}
            headers.setdefault("User-Agent", "kube-probe/1.32")
            async with httpx.AsyncClient(verify=False, trust_env=False) as client:
                resp = await client.get(probe_url(scheme, host, port, path), headers=headers, timeout=timeout)
            ok = 200 <= resp.status_code < 400
            return ProbeResult(ok, f"HTTP probe failed with statuscode: {resp.status_code}" if not ok else "")
        if "tcpSocket" in probe:
            t = probe["tcpSocket"]
            port = resolve_port(t.get("port"), container)
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(t.get("host") or pod_ip, port), timeout
            )
            writer.close()
            return ProbeResult(True)
        return ProbeResult(False, "probe has no handler")
    except TimeoutError:
        return ProbeResult(False, f"timeout: probe did not answer within {timeout:g}s")
    except Exception as exc:
        return ProbeResult(False, f"{type(exc).__name__}: {exc}")


class ProbeManager:
    def __init__(
        self,
        runtime: DockerRuntime,
        on_change: Callable[[str], None],
        on_failure: Callable[[dict[str, Any], str, str, str], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.on_failure = on_failure  # (pod, container name, kind, message): the Unhealthy event
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}  # (container id, kind)
        self._ready: dict[str, bool] = {}
        self._started: dict[str, bool] = {}
        self._kill: dict[str, str] = {}  # container id -> why
        self._owner: dict[str, str] = {}  # container id -> pod uid

    def ready(self, container_id: str, container: dict[str, Any]) -> bool:
        if not self.started(container_id, container):
            return False
        if not container.get("readinessProbe"):
            return True
        return self._ready.get(container_id, False)

    def started(self, container_id: str, container: dict[str, Any]) -> bool:
        if not container.get("startupProbe"):
            return True
        return self._started.get(container_id, False)

    def must_kill(self, container_id: str) -> str | None:
        return self._kill.get(container_id)

    def sync(self, pod: dict[str, Any], running: dict[str, tuple[str, float]], pod_ip: str) -> None:
        """Make probe tasks match `running`: container name -> (container id, started at, epoch seconds).
        Tasks of containers of this pod that are no longer running are cancelled."""
        uid = pod["metadata"]["uid"]
        specs = {c["name"]: c for c in pod.get("spec", {}).get("containers") or []}
        for name, (cid, started_at) in running.items():
            container = specs.get(name)
            if container is None:
                continue
            for kind, field in _KINDS.items():
                probe = container.get(field)
                if not probe:
                    continue
                key = (cid, kind)
                if key not in self._tasks:
                    self._tasks[key] = asyncio.create_task(
                        self._worker(pod, uid, container, cid, kind, probe, started_at, pod_ip),
                        name=f"probe-{kind}-{cid[:12]}",
                    )
            self._owner[cid] = uid
        live_ids = {cid for cid, _ in running.values()}
        for cid in [c for c, owner in self._owner.items() if owner == uid and c not in live_ids]:
            self._forget(cid)

    def forget_pod(self, uid: str) -> None:
        for cid in [c for c, owner in self._owner.items() if owner == uid]:
            self._forget(cid)

    def _forget(self, cid: str) -> None:
        for kind in _KINDS:
            task = self._tasks.pop((cid, kind), None)
            if task is not None:
                task.cancel()
        self._ready.pop(cid, None)
        self._started.pop(cid, None)
        self._kill.pop(cid, None)
        self._owner.pop(cid, None)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks.values())
        self._tasks.clear()

    async def _worker(
        self,
        pod: dict[str, Any],
        uid: str,
        container: dict[str, Any],
        cid: str,
        kind: str,
        probe: dict[str, Any],
        started_at: float,
        pod_ip: str,
    ) -> None:
        period = float(probe.get("periodSeconds") or 10)
        success_threshold = int(probe.get("successThreshold") or 1)
        failure_threshold = int(probe.get("failureThreshold") or 3)
        delay = started_at + float(probe.get("initialDelaySeconds") or 0) - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        successes = failures = 0
        while True:
            if kind != STARTUP and not self.started(cid, container):
                await asyncio.sleep(min(period, 1.0))  # liveness and readiness wait for the startup probe
                continue
            result = await run_probe(probe, container, cid, pod_ip, self.runtime)
            if result.ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                if self.on_failure is not None:
                    self.on_failure(pod, container["name"], kind, result.message)
            if kind == READINESS:
                if successes >= success_threshold and not self._ready.get(cid):
                    self._ready[cid] = True
                    self.on_change(uid)
                elif failures >= failure_threshold and self._ready.get(cid, True):
                    was_known = cid in self._ready
                    self._ready[cid] = False
                    if was_known:
                        self.on_change(uid)
            elif kind == STARTUP:
                if result.ok:
                    self._started[cid] = True
                    self.on_change(uid)
                    return  # a startup probe stops once it succeeded
                if failures >= failure_threshold:
                    self._kill[cid] = f"Container {container['name']} failed startup probe, will be restarted"
                    self.on_change(uid)
                    return
            elif kind == LIVENESS and failures >= failure_threshold:
                self._kill[cid] = f"Container {container['name']} failed liveness probe, will be restarted"
                self.on_change(uid)
                return
            await asyncio.sleep(period)
