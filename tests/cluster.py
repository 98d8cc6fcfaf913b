"""Starting a cluster's pieces on this machine and putting the machine back afterwards, for the e2e fixtures and the
benchmarks alike (bench/common.py): a control plane (etcd or SQLite, and an apiserver), real kubelets, the
controllers pods need for their API credentials, and the cluster CIDR's guard route, removed afterwards unless it
was there before (another cluster's).

Each is a context manager that cleans up whether the body passed or raised. With KUBELITE_KEEP_LOGS set, the
components' logs are kept (and their paths printed) instead of removed.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.e2e.kubelet.helpers import CLUSTER_CIDR, KubeletProc, cleanup_node, start_token_controllers
from tests.harness import ApiServer, Etcd, discard_log, route_exists, stop_process


@dataclass
class ControlPlane:
    """A started apiserver and, for the etcd backend, its etcd (for the SQLite backend: its data dir)."""

    apiserver: ApiServer
    etcd: Etcd | None = None
    dirs: list[str] = field(default_factory=list)


@contextmanager
def control_plane(backend: str = "etcd", apiserver_args: Sequence[str] = ()) -> Iterator[ControlPlane]:
    """A fresh etcd (backend "etcd") or SQLite data dir (backend "sqlite") and an apiserver on loopback using it;
    stopped, and its log, etcd and data dir removed, afterwards."""
    etcd: Etcd | None = None
    server: ApiServer | None = None
    dirs: list[str] = []
    try:
        if backend == "etcd":
            etcd = Etcd()
            etcd.start()
            server = ApiServer(etcd.url, list(apiserver_args))
        else:
            dirs.append(tempfile.mkdtemp(prefix="kubelite-sqlite-"))
            server = ApiServer(None, ["--storage-backend", "sqlite", "--data-dir", dirs[0], *apiserver_args])
        server.start()
        yield ControlPlane(server, etcd, dirs)
    finally:
        if server is not None:
            server.stop()
            discard_log(server.log_path)
        if etcd is not None:
            etcd.destroy()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


@contextmanager
def guard_route_restored(cidr: str = CLUSTER_CIDR) -> Iterator[None]:
    """Remove the guard route and device for `cidr` (kube-proxy's or a kubelet's) afterwards, unless they were
    there before this began (then another cluster on this machine owns them)."""
    existed = route_exists(cidr)
    try:
        yield
    finally:
        if not existed:
            from kubelet.network import host

            asyncio.run(host.remove_guard(cidr))


@contextmanager
def running_nodes(kubelets: Sequence[KubeletProc]) -> Iterator[Sequence[KubeletProc]]:
    """Start `kubelets`; afterwards stop them all, then remove each node's containers, bridge, rules and log."""
    try:
        for k in kubelets:
            k.start()
        yield kubelets
    finally:
        for k in kubelets:
            k.stop()
        for k in kubelets:
            cleanup_node(k)
            k.discard_log()


@contextmanager
def token_controllers(apiserver: ApiServer) -> Iterator[None]:
    """What a pod on a real kubelet needs for its API credentials (the default ServiceAccount, kube-root-ca.crt):
    the controller-manager's serviceaccount and root-ca-cert-publisher controllers only, as its own identity."""
    proc, log = start_token_controllers(apiserver)
    try:
        yield
    finally:
        stop_process(proc)
        discard_log(log)
