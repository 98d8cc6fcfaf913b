"""What every benchmark shares: one percentile, one summary of samples, and the one place that starts the servers a
benchmark measures and makes its clients.

Starting servers and making clients happens only here (`control_plane`, `ControlPlane.http`, `.client`,
`.master_args`, `open_connection`, `kubelet`, `kube_proxy`), so a change in how the apiserver is reached (HTTPS and
credentials, say) is one edit in this file.

Run a benchmark from the repository root, as a module or a script: `.venv/bin/python -m bench.apiserver` or
`.venv/bin/python bench/apiserver.py`. The result format is in bench/record.py.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: bench/x.py
    sys.path.insert(0, str(REPO))

from apimachinery.client import Client  # noqa: E402
from tests.harness import ApiServer, Etcd, free_port, start_component  # noqa: E402

# The apiserver's gauge of watches it holds on storage (apiserver/metrics.py), and etcd's own gauges.
STORAGE_WATCHES = "apiserver_storage_watches"
CLIENT_WATCHES = "apiserver_registered_watchers"
ETCD_WATCHERS = "etcd_debugging_mvcc_watcher_total"
ETCD_WATCH_STREAMS = "etcd_debugging_mvcc_watch_stream_total"


# -- statistics ----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`th percentile (0-100) of `values`, interpolating linearly between the two nearest ranks (numpy's
    default, R's type 7, `statistics.quantiles(method="inclusive")`); NaN when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * min(max(p, 0.0), 100.0) / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarize(values: Sequence[float], unit: str) -> dict[str, Any]:
    """The summary every result file carries for a set of samples: n, min, p50, p90, p99, max, mean and the spread
    (`stdev`: the sample standard deviation, 0 for fewer than two samples), in `unit`."""
    if not values:
        return {"n": 0, "unit": unit}
    return {
        "n": len(values),
        "unit": unit,
        "min": min(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values),
        "mean": statistics.fmean(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def alternate(first: str, second: str, rounds: int) -> Iterator[tuple[int, tuple[str, str]]]:
    """(round, order) for `rounds` rounds of two measurements, the order swapped every round so that neither side
    always runs first (warm caches, a machine getting busier)."""
    for r in range(rounds):
        yield r, (first, second) if r % 2 == 0 else (second, first)


# -- servers and clients -------------------------------------------------------------------------------------------


@dataclass
class ControlPlane:
    """An apiserver (on etcd or SQLite) started for a benchmark, or one given by URL."""

    url: str
    apiserver: ApiServer | None = None
    etcd: Etcd | None = None
    backend: str = "etcd"
    _dirs: list[str] = field(default_factory=list)

    def master_args(self) -> list[str]:
        """How a component (scheduler, controller-manager, kubelet, hollow nodes) is told to reach the apiserver."""
        return ["--master", self.url]

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 60)
        return httpx.AsyncClient(base_url=self.url, **kwargs)

    def http_sync(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, **kwargs)

    def client(self, user_agent: str = "kubelite-bench") -> Client:
        return Client(self.url, user_agent=user_agent)

    def pid(self) -> int | None:
        return self.apiserver.proc.pid if self.apiserver and self.apiserver.proc else None

    def start_component(
        self, module: str, args: Sequence[str], log_name: str, *, wrap: Sequence[str] = ()
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """`python -m [wrap...] <module> --master ... <args>` (wrap: e.g. `cProfile -o F -m`); (process, log path),
        the caller stops it."""
        return start_component([*wrap, module, *self.master_args(), *args], log_name)

    async def storage_watches(self) -> dict[str, float | None]:
        """The watches on storage, measured: the apiserver's own gauge, and for etcd, etcd's watcher and watch
        stream gauges (every watch on this etcd, whoever holds it: a benchmark's etcd serves only its apiserver)."""
        async with self.http() as c:
            text = (await c.get("/metrics")).text
        ours = metric_value(text, STORAGE_WATCHES, {"backend": self.backend})
        clients = metric_sum(text, CLIENT_WATCHES)
        found: dict[str, float | None] = {"apiserver_storage_watches": ours, "client_watches": clients}
        if self.etcd is not None:
            async with httpx.AsyncClient(base_url=self.etcd.url, timeout=10) as c:
                text = (await c.get("/metrics")).text
            found["etcd_watchers"] = metric_value(text, ETCD_WATCHERS)
            found["etcd_watch_streams"] = metric_value(text, ETCD_WATCH_STREAMS)
        return found


@contextmanager
def etcd_server(url: str | None = None) -> Iterator[str]:
    """The client URL of a fresh etcd on loopback (stopped and removed afterwards), or of `url` when given."""
    if url is not None:
        yield url
        return
    etcd = Etcd()
    try:
        etcd.start()
        yield etcd.url
    finally:
        etcd.destroy()


@contextmanager
def control_plane(
    backend: str = "etcd", apiserver_args: Sequence[str] = (), url: str | None = None
) -> Iterator[ControlPlane]:
    """A fresh etcd (backend "etcd") or SQLite data dir (backend "sqlite") and an apiserver on loopback, stopped
    and removed afterwards; with `url`, an apiserver that is already running (nothing is started)."""
    if url is not None:
        yield ControlPlane(url.rstrip("/"), backend=backend)
        return
    etcd: Etcd | None = None
    server: ApiServer | None = None
    dirs: list[str] = []
    try:
        if backend == "etcd":
            etcd = Etcd()
            etcd.start()
            server = ApiServer(etcd.url, list(apiserver_args))
        else:
            dirs.append(tempfile.mkdtemp(prefix="kubelite-bench-sqlite-"))
            server = ApiServer(None, ["--storage-backend", "sqlite", "--data-dir", dirs[0], *apiserver_args])
        server.start()
        yield ControlPlane(server.url, server, etcd, backend, dirs)
    finally:
        if server is not None:
            server.stop()
            server.log_path.unlink(missing_ok=True)
        if etcd is not None:
            etcd.destroy()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


async def open_connection(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """A raw keep-alive connection to `url` for bench/httpload.py: (reader, writer, Host header)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    return reader, writer, f"{parts.hostname}:{parts.port}"


def kubelet(cp: ControlPlane, name: str, pod_cidr: str, root: Path, extra: Sequence[str] = ()) -> Any:
    """A real kubelet (Docker, CNI) for `cp`, not yet started (tests/e2e/kubelet/conftest.py's KubeletProc)."""
    from tests.e2e.kubelet.conftest import KubeletProc

    return KubeletProc(name, pod_cidr, free_port(), root / "root", root / "cni", cp.url, list(extra))


def kube_proxy(cp: ControlPlane, mode: str = "iptables", extra: Sequence[str] = ()) -> Any:
    """A real kube-proxy for `cp`, not yet started (tests/integration/proxy/helpers.py's KubeProxyProc)."""
    from tests.integration.proxy.helpers import KubeProxyProc

    return KubeProxyProc(cp.url, mode=mode, extra=list(extra))


# -- Prometheus text -----------------------------------------------------------------------------------------------


def _samples(text: str, name: str) -> Iterator[tuple[dict[str, str], float]]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                yield sample.labels, sample.value


def metric_value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of the sample `name` whose labels include `labels`, from Prometheus text; None when absent."""
    for got, value in _samples(text, name):
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            return value
    return None


def metric_sum(text: str, name: str) -> float:
    """The sum of every sample named `name` (all label sets)."""
    return sum(value for _labels, value in _samples(text, name))
