"""The process supervisor behind `kctl up`: it runs the cluster's components, restarts any that crash, and stops
them all, in reverse order, on SIGTERM.

    python -m cli.supervisor STATE_DIR

It reads `STATE_DIR/cluster.json` (written by `kctl up`): an ordered list of components, each with its command line
and an HTTP health URL. Each component's output goes to `STATE_DIR/logs/<name>.log`. The supervisor writes
`STATE_DIR/status.json` (pid, state, restarts, started) whenever something changes, which `kctl status` reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from apimachinery.component import serve_health

registry = CollectorRegistry()
component_up = Gauge(
    "kubelite_component_up", "1 while the component's process runs.", ["component"], registry=registry
)
component_restarts = Counter(
    "kubelite_component_restarts_total",
    "Restarts after the component exited.",
    ["component"],
    registry=registry,
)

RESTART_BACKOFF_INITIAL = 1.0
RESTART_BACKOFF_MAX = 30.0
# A component that ran this long before dying gets its backoff reset.
STABLE_AFTER = 60.0
STOP_GRACE = 15.0


@dataclass
class Component:
    name: str
    argv: list[str]
    health: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started: float = 0.0
    state: str = "pending"
    backoff: float = RESTART_BACKOFF_INITIAL


class Supervisor:
    def __init__(self, state_dir: Path, components: list[Component]) -> None:
        self.state_dir = state_dir
        self.components = components
        self.stopping = asyncio.Event()
        self.health_port = 0
        (state_dir / "logs").mkdir(parents=True, exist_ok=True)

    def write_status(self) -> None:
        status = {
            "supervisor": os.getpid(),
            "health": f"http://127.0.0.1:{self.health_port}/healthz" if self.health_port else None,
            "components": [
                {
                    "name": c.name,
                    "pid": c.proc.pid if c.proc and c.proc.returncode is None else None,
                    "state": c.state,
                    "restarts": c.restarts,
                    "started": c.started,
                    "health": c.health,
                }
                for c in self.components
            ],
        }
        tmp = self.state_dir / "status.json.tmp"
        tmp.write_text(json.dumps(status, indent=2))
        tmp.replace(self.state_dir / "status.json")

    async def start(self, c: Component) -> None:
        log = open(self.state_dir / "logs" / f"{c.name}.log", "ab")  # noqa: ASYNC230 - a local file, opened once
        try:
            c.proc = await asyncio.create_subprocess_exec(
                *c.argv,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **c.env},
            )
        finally:
            log.close()
        c.started = time.time()
        c.state = "running"
        component_up.labels(c.name).set(1)
        self.write_status()

    async def watch(self, c: Component) -> None:
        """Keep one component running until the supervisor stops."""
        while not self.stopping.is_set():
            try:
                await self.start(c)
                assert c.proc is not None
                code: int | str = await c.proc.wait()
            except OSError as exc:  # the command could not be started at all: retried with back-off too
                c.started = time.time()
                code = str(exc)
            if self.stopping.is_set():
                break
            ran = time.time() - c.started
            if ran > STABLE_AFTER:
                c.backoff = RESTART_BACKOFF_INITIAL
            c.state = f"restarting (exit {code})"
            c.restarts += 1
            component_up.labels(c.name).set(0)
            component_restarts.labels(c.name).inc()
            self.write_status()
            _log(f"{c.name} exited with {code} after {ran:.0f}s; restarting in {c.backoff:.0f}s")
            try:
                await asyncio.wait_for(self.stopping.wait(), c.backoff)
            except TimeoutError:
                pass
            c.backoff = min(c.backoff * 2, RESTART_BACKOFF_MAX)

    async def stop_all(self) -> None:
        for c in reversed(self.components):
            if c.proc and c.proc.returncode is None:
                c.state = "stopping"
                self.write_status()
                c.proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(c.proc.wait(), STOP_GRACE)
                except TimeoutError:
                    c.proc.kill()
                    await c.proc.wait()
            c.state = "stopped"
        self.write_status()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        # Its own /healthz (ok while every component runs) and /metrics, on a free loopback port named in status.json.
        health = await serve_health("127.0.0.1", 0, self.all_running, registry)
        self.health_port = health.sockets[0].getsockname()[1]
        tasks = []
        for c in self.components:
            tasks.append(asyncio.create_task(self.watch(c)))
            # Start in order: each component after the previous one answers its health check (or 20 s).
            await self.wait_healthy(c, 20.0)
        await self.stopping.wait()
        await self.stop_all()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        health.close()

    def all_running(self) -> bool:
        return all(c.proc is not None and c.proc.returncode is None for c in self.components)

    async def wait_healthy(self, c: Component, timeout: float) -> None:
        if not c.health:
            return
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0, verify=False) as client:
            while time.monotonic() < deadline and not self.stopping.is_set():
                try:
                    if (await client.get(c.health)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass  # not up yet
                await asyncio.sleep(0.2)


def _log(message: str) -> None:
    print(
        json.dumps(
            {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "component": "supervisor",
                "msg": message,
            }
        ),
        file=sys.stderr,
        flush=True,
    )


def load(state_dir: Path) -> list[Component]:
    spec: dict[str, Any] = json.loads((state_dir / "cluster.json").read_text())
    return [Component(c["name"], c["argv"], c.get("health"), c.get("env", {})) for c in spec["components"]]


def main() -> None:
    state_dir = Path(sys.argv[1])
    supervisor = Supervisor(state_dir, load(state_dir))
    (state_dir / "supervisor.pid").write_text(str(os.getpid()))
    try:
        asyncio.run(supervisor.run())
    finally:
        (state_dir / "supervisor.pid").unlink(missing_ok=True)
        _log("stopped")


if __name__ == "__main__":
    main()
