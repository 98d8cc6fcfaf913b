"""The process supervisor behind `kctl up`: it runs the cluster's components, restarts any process that crashes or
whose component fails its liveness probe (their /livez or /healthz, as a kubelet probes), and stops them all, in
reverse order, on SIGTERM. Processes die with it: each child asks the kernel for SIGTERM when its parent dies
(PR_SET_PDEATHSIG), so a supervisor killed -9 leaves no orphan that would hold the cluster's ports.

    python -m cli.supervisor STATE_DIR

It reads `STATE_DIR/cluster.json` (written by `kctl up`): an ordered list of components, each with its command line
(`python -m <module> FLAGS...`), an HTTP health URL (ready: start the next one), a liveness URL, optionally its
restart `backoff` and its `host`, and the CA that the HTTPS URLs are checked with. Components with the same `host`
run in one process, a host process (componenthost/, as k3s runs several components in one binary): each is still
the component its own command line describes, only the interpreter is shared (bench/idle_memory.py). A process is
restarted with all it hosts. Its output goes to `STATE_DIR/logs/<host or name>.log`, and each hosted component's
logs/<name>.log links to its host's. It writes `STATE_DIR/status.json` (per component: pid, host, state, restarts,
started) whenever something changes, which `kctl status` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge

from apimachinery.backoff import Backoff
from apimachinery.component import serve_health

registry = CollectorRegistry()
component_up = Gauge(
    "kubelite_component_up", "1 while the component's process runs.", ["component"], registry=registry
)
component_restarts = Counter(
    "kubelite_component_restarts_total",
    "Restarts of the component's process.",
    ["component"],
    registry=registry,
)
HOST_MODULE = "componenthost"  # `python -m componenthost NAME JSON`: several components in one process

# Restart back-off: it doubles while a component keeps failing and starts over once a restart has made it healthy.
# The apiserver's is short and capped low (cluster.json gives it `backoff`): every other component waits on it.
RESTART_BACKOFF_INITIAL = 1.0
RESTART_BACKOFF_MAX = 30.0
# Without a health URL, a component that ran this long before dying gets its back-off reset.
STABLE_AFTER = 60.0
STOP_GRACE = 15.0
# The liveness probe, as a kubelet's: every PERIOD seconds, TIMEOUT each, restart after THRESHOLD failures in a
# row; failures count once the component has been healthy, or after STARTUP_GRACE seconds of never being so.
PROBE_PERIOD = 1.0
PROBE_TIMEOUT = 1.0
PROBE_THRESHOLD = 3
STARTUP_GRACE = 60.0
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL for a component that failed its liveness probe
PR_SET_PDEATHSIG = 1


@dataclass
class Member:
    """A component of a supervised process (a process of its own has one)."""

    name: str
    health: str | None = None
    liveness: str | None = None


@dataclass
class Component:
    """One supervised process: a component alone, or a host process (`host` set) running its `members`."""

    name: str
    argv: list[str]
    health: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    liveness: str | None = None
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started: float = 0.0
    state: str = "pending"
    backoff: Backoff = field(default_factory=lambda: Backoff(RESTART_BACKOFF_INITIAL, RESTART_BACKOFF_MAX))
    healthy: bool = False
    host: str | None = None
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [Member(self.name, self.health, self.liveness)]


def die_with_parent() -> None:
    """In the child between fork and exec: SIGTERM when the supervisor dies (even by SIGKILL), so that no component
    runs on unsupervised; if the supervisor is already gone, exit now."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


class Supervisor:
    def __init__(self, state_dir: Path, components: list[Component], ca: str | None = None) -> None:
        self.state_dir = state_dir
        self.components = components
        self.ca = ca
        self.tls = ssl.create_default_context(cafile=ca)  # without a CA: the system's
        self.stopping = asyncio.Event()
        self.health_port = 0
        (state_dir / "logs").mkdir(parents=True, exist_ok=True)

    def write_status(self) -> None:
        status = {
            "supervisor": os.getpid(),
            "health": f"http://127.0.0.1:{self.health_port}/healthz" if self.health_port else None,
            "components": [
                {
                    "name": m.name,
                    "pid": c.proc.pid if c.proc and c.proc.returncode is None else None,
                    "host": c.host,
                    "state": c.state,
                    "restarts": c.restarts,
                    "started": c.started,
                    "health": m.health,
                    "liveness": m.liveness,
                }
                for c in self.components
                for m in c.members
            ],
        }
        tmp = self.state_dir / "status.json.tmp"
        tmp.write_text(json.dumps(status, indent=2))
        tmp.replace(self.state_dir / "status.json")

    def link_logs(self, c: Component) -> None:
        """Each hosted component's logs/<name>.log: a link to its host's log (its lines say `component`)."""
        for m in c.members if c.host else []:
            link = self.state_dir / "logs" / f"{m.name}.log"
            if link.is_symlink() and os.readlink(link) == f"{c.name}.log":
                continue
            link.unlink(missing_ok=True)
            link.symlink_to(f"{c.name}.log")

    async def start(self, c: Component) -> None:
        self.link_logs(c)
        log = open(self.state_dir / "logs" / f"{c.name}.log", "ab")  # noqa: ASYNC230 - a local file, opened once
        try:
            c.proc = await asyncio.create_subprocess_exec(
                *c.argv,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **c.env},
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        c.started = time.time()
        c.state = "starting" if any(m.liveness for m in c.members) else "running"
        c.healthy = False
        for m in c.members:
            component_up.labels(m.name).set(1)
        self.write_status()

    async def watch(self, c: Component) -> None:
        """Keep one component running (and alive) until the supervisor stops."""
        while not self.stopping.is_set():
            try:
                await self.start(c)
                reason = await self.supervise(c)
            except OSError as exc:  # the command could not be started at all: retried with back-off too
                c.started = time.time()
                reason = str(exc)
            if self.stopping.is_set():
                break
            ran = time.time() - c.started
            if not any(m.liveness for m in c.members) and ran > STABLE_AFTER:
                c.backoff.reset()
            delay = c.backoff.next()
            c.state = f"restarting ({reason})"
            c.restarts += 1
            for m in c.members:
                component_up.labels(m.name).set(0)
                component_restarts.labels(m.name).inc()
            self.write_status()
            _log(f"{c.name}: {reason} after {ran:.1f}s; restarting in {delay:.1f}s")
            try:
                await asyncio.wait_for(self.stopping.wait(), delay)
            except TimeoutError:
                pass

    async def supervise(self, c: Component) -> str:
        """Wait until the component exits or fails its liveness probe (then stop it); why it must restart."""
        assert c.proc is not None
        exited = asyncio.create_task(c.proc.wait())
        probe = asyncio.create_task(self.probe_liveness(c))
        await asyncio.wait({exited, probe}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
            return f"exit {exited.result()}"
        reason = probe.result()
        _log(f"{c.name}: {reason}; stopping it")
        with contextlib.suppress(ProcessLookupError):
            c.proc.send_signal(signal.SIGTERM)
            c.proc.send_signal(signal.SIGCONT)  # a stopped process must run to handle its SIGTERM
        try:
            await asyncio.wait_for(asyncio.shield(exited), KILL_GRACE)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                c.proc.kill()
            await exited
        return reason

    async def probe_liveness(self, c: Component) -> str:
        """Probe the liveness URL of every component of the process until one fails PROBE_THRESHOLD times in a row;
        returns its last failure."""
        probed = [m for m in c.members if m.liveness]
        if not probed:
            await asyncio.Future()  # nothing to probe: only an exit restarts it
        failures, since = dict.fromkeys((m.name for m in probed), 0), time.monotonic()
        while True:
            await asyncio.sleep(PROBE_PERIOD)
            errors = await asyncio.gather(*(_probe(str(m.liveness), self.tls) for m in probed))
            # Failures count once the process has been healthy, or after STARTUP_GRACE seconds of never being so.
            counting = c.healthy or time.monotonic() - since > STARTUP_GRACE
            for m, error in zip(probed, errors, strict=True):
                failures[m.name] = 0 if error is None else failures[m.name] + counting
            failed = [(m, e) for m, e in zip(probed, errors, strict=True) if e is not None]
            if not failed:
                if not c.healthy:
                    c.healthy = True
                    c.backoff.reset()  # this start worked: the next failure restarts quickly again
                    c.state = "running"
                    self.write_status()
                continue
            for m, error in failed:
                if failures[m.name] >= PROBE_THRESHOLD:
                    which = f"{m.name}'s " if c.host else ""
                    return f"{which}liveness probe failed {failures[m.name]} times ({error})"

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
        """Until every component of the process answers its health URL (or `timeout`)."""
        deadline = time.monotonic() + timeout
        for url in [m.health for m in c.members if m.health]:
            while time.monotonic() < deadline and not self.stopping.is_set():
                if await _probe(url, self.tls) is None:
                    break
                await asyncio.sleep(0.2)


async def _probe(url: str, tls: ssl.SSLContext) -> str | None:
    """None when GET url answers 200 within PROBE_TIMEOUT, else what went wrong.

    Only the status line is read, as a kubelet's HTTP probe reads the code; written here on asyncio's streams
    rather than with httpx, which with its dependencies would double the supervisor's memory (bench/idle_memory.py).
    An https URL's certificate is checked against `tls` (the cluster's CA), host name included."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host, port = parts.hostname or "127.0.0.1", parts.port or (443 if https else 80)
    writer = None
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port, ssl=tls if https else None)
            target = parts.path or "/"
            writer.write(
                f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
            )
            status = await reader.readline()
    except TimeoutError:
        return f"GET {url}: no answer in {PROBE_TIMEOUT:g}s"
    except (OSError, ssl.SSLError) as exc:  # refused, reset, a certificate that does not verify
        return f"GET {url}: {type(exc).__name__}"
    finally:
        if writer is not None:
            writer.close()
    version, _, rest = status.decode("latin-1").partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/"):
        return f"GET {url}: not an HTTP answer"
    return None if code == "200" else f"GET {url}: {code}"


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


def host_argv(host: str, components: list[dict[str, Any]]) -> list[str]:
    """The command line of the process that runs `components` (each `python -m <module> FLAGS...`) together."""
    entries = []
    for c in components:
        argv = c["argv"]
        if len(argv) < 3 or argv[1] != "-m":
            raise ValueError(f"{c['name']}: a hosted component's command line is `python -m <module> ...`")
        entries.append([c["name"], argv[2], argv[3:]])
    return [components[0]["argv"][0], "-m", HOST_MODULE, host, json.dumps(entries)]


def processes(spec: dict[str, Any]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """The processes cluster.json describes, in start order (a host where its first component is): (host or None,
    its components)."""
    out: list[tuple[str | None, list[dict[str, Any]]]] = []
    hosts: dict[str, list[dict[str, Any]]] = {}
    for c in spec["components"]:
        host = c.get("host")
        if host is None:
            out.append((None, [c]))
        elif host in hosts:
            hosts[host].append(c)
        else:
            hosts[host] = [c]
            out.append((host, hosts[host]))
    return out


def load(state_dir: Path) -> list[Component]:
    spec: dict[str, Any] = json.loads((state_dir / "cluster.json").read_text())
    out = []
    for host, comps in processes(spec):
        first = comps[0]
        if host is None:
            comp = Component(first["name"], first["argv"], first.get("health"), first.get("env", {}),
                             first.get("liveness"))  # fmt: skip
        else:
            members = [Member(c["name"], c.get("health"), c.get("liveness")) for c in comps]
            env = {k: v for c in comps for k, v in c.get("env", {}).items()}
            comp = Component(host, host_argv(host, comps), env=env, host=host, members=members)
        if isinstance(first.get("backoff"), dict):
            comp.backoff = Backoff(float(first["backoff"]["initial"]), float(first["backoff"]["cap"]))
        out.append(comp)
    return out


def load_ca(state_dir: Path) -> str | None:
    ca = json.loads((state_dir / "cluster.json").read_text()).get("ca")
    return str(ca) if ca else None


def main() -> None:
    state_dir = Path(sys.argv[1])
    supervisor = Supervisor(state_dir, load(state_dir), load_ca(state_dir))
    (state_dir / "supervisor.pid").write_text(str(os.getpid()))
    try:
        asyncio.run(supervisor.run())
    finally:
        (state_dir / "supervisor.pid").unlink(missing_ok=True)
        _log("stopped")


if __name__ == "__main__":
    main()
