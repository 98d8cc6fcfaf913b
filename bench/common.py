"""What every benchmark shares: one percentile, one summary of samples, and the one place that starts the servers a
benchmark measures and makes its clients.

Starting servers and making clients happens only here (`control_plane`, `ControlPlane.http`, `.client`,
`.component_args`, `open_connection`, `kubelet`, `kube_proxy`, `token_controllers`), so how the apiserver is
reached is one edit in this file. It is reached as the cluster reaches it: HTTPS, raw clients as the admin (a
client certificate in system:masters, tests/harness.py's PKI), components each as its own identity through a
kubeconfig of its own (the scheduler as system:kube-scheduler, the controller-manager as
system:kube-controller-manager, a kubelet as system:node:<name>, kube-proxy as system:kube-proxy). Hollow nodes
stand for many kubelets at once and run as the admin. A cluster that is already running is given by an admin
kubeconfig.

Run a benchmark from the repository root, as a module or a script: `.venv/bin/python -m bench.apiserver` or
`.venv/bin/python bench/apiserver.py`. The result format is in bench/record.py.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import ssl
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
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
from apimachinery.kubeconfig import load as load_kubeconfig  # noqa: E402
from bench.options import bench_options  # noqa: E402
from tests import cluster  # noqa: E402
from tests.harness import (  # noqa: E402
    CONTROLLER_MANAGER,
    KUBE_DNS,
    SCHEDULER,
    ApiServer,
    Etcd,
    free_port,
    start_component,
)

# The identity each component module runs as (anything else, e.g. kubelet.hollow: the admin).
IDENTITIES = {"scheduler": SCHEDULER, "controller_manager": CONTROLLER_MANAGER, "kube_dns": KUBE_DNS}

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


def rotation(sides: Sequence[str], rounds: int) -> Iterator[tuple[int, list[str]]]:
    """(round, order) for `rounds` rounds of several measurements: the given order in even rounds, reversed in odd
    ones (`alternate` for more than two sides)."""
    for r in range(rounds):
        yield r, list(sides) if r % 2 == 0 else list(reversed(sides))


def benchmark_main(
    doc: str,
    name: str,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    record: Callable[[Any, dict[str, Any], argparse.Namespace], None],
    **options: int,
) -> None:
    """A benchmark's command line (`bench_options`), then `run(args)`, its `record` into bench/results
    (bench/record.py) and the report of `name`."""
    from bench.record import Recording
    from bench.report import show

    args = bench_options(doc, **options)
    rec = Recording(name, vars(args))
    record(rec, run(args), args)
    show(name)


# -- servers and clients -------------------------------------------------------------------------------------------


@dataclass
class ControlPlane:
    """An apiserver (on etcd or SQLite) started for a benchmark, or a running one given by an admin kubeconfig."""

    url: str
    kubeconfig: str  # the admin's
    apiserver: ApiServer | None = None
    etcd: Etcd | None = None
    backend: str = "etcd"
    _dirs: list[str] = field(default_factory=list)

    def tls(self) -> ssl.SSLContext:
        """The admin's TLS: the cluster's CA and the admin's client certificate."""
        if self.apiserver is not None:
            return self.apiserver.ssl_context()
        context = load_kubeconfig(self.kubeconfig).ssl_context()
        if not isinstance(context, ssl.SSLContext):
            raise ValueError(f"{self.kubeconfig}: not an https cluster with a CA")
        return context

    def component_args(self, module: str) -> list[str]:
        """How a component (scheduler, controller-manager, hollow nodes) reaches the apiserver: a kubeconfig with
        its own identity (the controller-manager also gets the CA it publishes as kube-root-ca.crt)."""
        if self.apiserver is None:
            return ["--kubeconfig", self.kubeconfig]
        identity = IDENTITIES.get(module)
        if identity is None:
            return ["--kubeconfig", self.kubeconfig]
        args = self.apiserver.component_args(*identity)
        if module == "controller_manager":
            args += ["--root-ca-file", self.apiserver.ca_file]
        return args

    def http(self, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("timeout", 60)
        return httpx.AsyncClient(base_url=self.url, verify=self.tls(), **kwargs)

    def http_sync(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, verify=self.tls(), **kwargs)

    def client(self, user_agent: str = "kubelite-bench") -> Client:
        if self.apiserver is not None:
            return Client(self.apiserver.config(), user_agent=user_agent)
        return Client.from_args(kubeconfig=self.kubeconfig, user_agent=user_agent)

    def pid(self) -> int | None:
        return self.apiserver.proc.pid if self.apiserver and self.apiserver.proc else None

    def start_component(
        self, module: str, args: Sequence[str], log_name: str, *, wrap: Sequence[str] = ()
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """`python -m [wrap...] <module> --kubeconfig ... <args>` (wrap: e.g. `cProfile -o F -m`); (process, log
        path), the caller stops it."""
        return start_component([*wrap, module, *self.component_args(module), *args], log_name)

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
    backend: str = "etcd", apiserver_args: Sequence[str] = (), kubeconfig: str | None = None
) -> Iterator[ControlPlane]:
    """A fresh etcd (backend "etcd") or SQLite data dir (backend "sqlite") and an apiserver on loopback
    (tests/cluster.py, as the e2e tests start theirs), stopped and removed afterwards; with `kubeconfig` (an
    admin's), an apiserver that is already running (nothing is started)."""
    if kubeconfig is not None:
        yield ControlPlane(load_kubeconfig(kubeconfig).server.rstrip("/"), kubeconfig, backend=backend)
        return
    with cluster.control_plane(backend, apiserver_args) as started:
        server = started.apiserver
        yield ControlPlane(
            server.url, str(server.admin_kubeconfig), server, started.etcd, backend, started.dirs
        )


async def open_connection(
    url: str, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """A raw keep-alive connection to `url` for bench/httpload.py: (reader, writer, Host header); TLS with `tls`
    (ControlPlane.tls(): the admin) for an https URL."""
    parts = urlsplit(url)
    context = tls if parts.scheme == "https" else None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=context)
    return reader, writer, f"{parts.hostname}:{parts.port}"


def _started(cp: ControlPlane) -> ApiServer:
    if cp.apiserver is None:
        raise ValueError("this benchmark starts nodes: it needs an apiserver of its own, not --kubeconfig")
    return cp.apiserver


def kubelet(cp: ControlPlane, name: str, pod_cidr: str, root: Path, extra: Sequence[str] = ()) -> Any:
    """A real kubelet (Docker, CNI) for `cp`, not yet started (tests/e2e/kubelet/conftest.py's KubeletProc): it
    runs as system:node:<name> and serves HTTPS with a certificate of the cluster's CA."""
    from tests.e2e.kubelet.helpers import KubeletProc

    return KubeletProc(name, pod_cidr, free_port(), root / "root", root / "cni", _started(cp), list(extra))


def kube_proxy(cp: ControlPlane, mode: str = "iptables", extra: Sequence[str] = ()) -> Any:
    """A real kube-proxy for `cp`, not yet started (tests/integration/proxy/helpers.py's KubeProxyProc), as
    system:kube-proxy."""
    from tests.integration.proxy.helpers import KubeProxyProc

    return KubeProxyProc(_started(cp), mode=mode, extra=list(extra))


@contextmanager
def token_controllers(cp: ControlPlane) -> Iterator[None]:
    """What a pod on a real kubelet needs for its API credentials (tests/cluster.py's token_controllers)."""
    with cluster.token_controllers(_started(cp)):
        yield


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
