"""A small cluster on this machine with cluster DNS: private etcd and apiserver, controller-manager, scheduler, two
kubelets on Docker (told `--cluster-dns 10.96.0.10`), one kube-proxy, and kube-dns listening on node A's bridge
address (as `kctl up` runs it, as its own identity, the ServiceAccount kube-system/kube-dns), publishing the
kube-dns Service and its endpoints itself. That address exists once node A runs a pod: the tests' fixtures put one
there before anything asks.

kube-dns forwards names outside the cluster only to the resolvers of a resolv.conf this fixture writes, which names
one resolver: `LoopbackResolver`, started here on 127.0.0.153:53. Nothing a test asks can leave the machine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.dns.helpers import (
    DNS_IP,
    UPSTREAM,
    DNSCluster,
    LoopbackResolver,
    _gateway,
)
from tests.e2e.proxy.helpers import small_cluster
from tests.harness import KUBE_DNS, discard_log, free_port, start_component, stop_process
from tests.polling import wait_until


@pytest.fixture(scope="module")
def dns_cluster() -> Iterator[DNSCluster]:
    tmp = Path(tempfile.mkdtemp(prefix="kubelite-dns-e2e-"))
    resolv = tmp / "resolv.conf"
    resolv.write_text(f"nameserver {UPSTREAM}\n")
    upstream = LoopbackResolver()
    kubelet_args = (
        "--cluster-dns",
        DNS_IP,
        "--cluster-domain",
        "cluster.local",
        "--resolv-conf",
        str(resolv),
    )
    proc = None
    log = tmp / "kube-dns.log"
    try:
        with small_cluster(kubelet_args) as cluster:
            address = _gateway(cluster.a.pod_cidr)
            metrics_port = free_port()
            proc, log = start_component(
                ["kube_dns", *cluster.a.apiserver.component_args(*KUBE_DNS), "--bind-address", address,
                 "--dns-port", "53", "--metrics-port", str(metrics_port), "--resolv-conf", str(resolv)],
                "kube-dns-e2e",
            )  # fmt: skip
            try:
                wait_until(
                    lambda: (
                        httpx.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=1).status_code == 200
                    ),
                    30,
                    what="kube-dns ready",
                )
                yield DNSCluster(cluster, address, metrics_port, upstream, log)
            finally:
                stop_process(proc)
                discard_log(log)
    finally:
        upstream.close()
        shutil.rmtree(tmp, ignore_errors=True)
