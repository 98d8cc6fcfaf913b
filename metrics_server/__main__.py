"""`metrics-server --kubeconfig PATH --tls-cert-file F --tls-private-key-file K --requestheader-client-ca-file CA
[--kubelet-certificate-authority CA] [--metric-resolution 15] [--secure-port 4443] [...]`.

It runs as its own identity, system:metrics-server (the client certificate in that kubeconfig, made by `kctl up`
and compose), with the bootstrap roles of apiserver/auth/roles_addons.py: get/list nodes, get nodes/metrics and
nodes/stats (the kubelets check that), list pods, create reviews; in kube-system its own Service and
EndpointSlice.

Wiring only: every --metric-resolution seconds, list nodes and pods, scrape each kubelet's /metrics/resource
(scrape.py), store (storage.py), publish the Service/EndpointSlice (publish.py); serve metrics.k8s.io on HTTPS
(api.py) and /healthz, /readyz and /metrics on --health-port. SIGTERM withdraws the endpoint, then stops.
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import asyncio
import contextlib
import dataclasses
import ipaddress
import logging
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterator

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from apimachinery import errors
from apimachinery.client import Client
from apimachinery.component import ComponentMain, add_client_args, client_from_args, serve_health
from apimachinery.netutil import ip_argument
from apimachinery.resources import must_resource
from apimachinery.tlsserve import ClientCertProtocol, server_ssl_context
from apimachinery.user import FRONT_PROXY_CLIENT
from metrics_server import publish
from metrics_server.api import MetricsAPI, Snapshot, create_app
from metrics_server.auth import Authorizer, RequestHeader
from metrics_server.scrape import Scraper
from metrics_server.storage import Storage

log = logging.getLogger("metrics_server")
NODES = must_resource("", "nodes")
PODS = must_resource("", "pods")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="metrics-server", description="kubelite metrics-server: metrics.k8s.io")
    add_client_args(p)
    p.add_argument("--bind-address", type=ip_argument, default="0.0.0.0", help="address of the HTTPS API")
    p.add_argument("--secure-port", type=int, default=4443)
    p.add_argument("--advertise-address", type=ip_argument, default=None, help="the address the EndpointSlice names "
                   "(default: the address this host reaches the apiserver from)")  # fmt: skip
    p.add_argument(
        "--tls-cert-file", required=True, help="serving certificate, for metrics-server.kube-system.svc"
    )
    p.add_argument("--tls-private-key-file", required=True)
    p.add_argument("--requestheader-client-ca-file", required=True,
                   help="the CA of the apiserver's front-proxy client certificate")  # fmt: skip
    p.add_argument("--requestheader-allowed-names", default=FRONT_PROXY_CLIENT,
                   help="comma-separated CNs whose X-Remote-* headers are trusted")  # fmt: skip
    p.add_argument("--kubelet-certificate-authority", default=None,
                   help="CA of the kubelets' serving certificates (default: the kubeconfig's CA)")  # fmt: skip
    p.add_argument("--metric-resolution", type=float, default=15.0, help="seconds between scrapes")
    p.add_argument("--kubelet-timeout", type=float, default=10.0)
    p.add_argument("--health-bind-address", type=ip_argument, default="127.0.0.1")
    p.add_argument(
        "--health-port", type=int, default=10271, help="/healthz, /readyz and /metrics (plain HTTP)"
    )
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the kube-system/metrics-server Service and EndpointSlice")  # fmt: skip
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if not 0.5 <= args.metric_resolution <= 3600:
        p.error("--metric-resolution must be between 0.5 and 3600 seconds")
    if not ipaddress.ip_address(args.health_bind_address).is_loopback:
        p.error(
            "--health-bind-address: the plain /metrics port has no TLS or authentication and serves loopback only"
        )
    if not 0 <= args.secure_port <= 65535 or not 0 <= args.health_port <= 65535:
        p.error("ports must be in 0-65535")
    return args


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.scrape_duration = Histogram("metrics_server_kubelet_request_duration_seconds",
                                         "Duration of one round of kubelet scrapes", registry=self.registry)  # fmt: skip
        self.scrape_failures = Counter("metrics_server_kubelet_scrape_failures_total",
                                       "Kubelet scrapes that failed", registry=self.registry)  # fmt: skip
        self.nodes = Gauge("metrics_server_storage_points", "Nodes and containers with samples, by type",
                           ["type"], registry=self.registry)  # fmt: skip


def kubelet_tls(client: Client, ca_file: str | None) -> ssl.SSLContext:
    """Our client certificate (from the kubeconfig) towards the kubelets, their certificates checked against
    `ca_file` (else the kubeconfig's CA) for the node's name."""
    config = client.config
    if ca_file:
        config = dataclasses.replace(config, ca_file=ca_file, ca_data=None, insecure=False, _tmp_files=[])
    ctx = config.ssl_context()
    if not isinstance(ctx, ssl.SSLContext):
        raise SystemExit("metrics-server: the kubeconfig must reach the apiserver over HTTPS")
    return ctx


def source_address_towards(server_url: str) -> str:
    """The local address this host uses to reach the apiserver (a connected UDP socket sends nothing)."""
    host = urllib.parse.urlsplit(server_url).hostname or "127.0.0.1"
    info = socket.getaddrinfo(host, 443, type=socket.SOCK_DGRAM)[0]
    with socket.socket(info[0], socket.SOCK_DGRAM) as s:
        s.connect(info[4])
        return str(s.getsockname()[0])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: run_until_signal cancels us."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def scrape_loop(client: Client, scraper: Scraper, storage: Storage, snapshot: Snapshot, metrics: Metrics,
                      resolution: float, on_round: object = None) -> None:  # fmt: skip
    while True:
        started = time.monotonic()
        try:
            nodes = (await client.list_all(NODES))["items"]
            pods = (await client.list_all(PODS))["items"]
            scrapes = await scraper.scrape_all(nodes)
            metrics.scrape_failures.inc(len(nodes) - len(scrapes))
            storage.store(scrapes)
            snapshot.nodes, snapshot.pods = nodes, pods
            metrics.nodes.labels("node").set(len(scrapes))
            metrics.nodes.labels("container").set(sum(len(s.containers) for s in scrapes.values()))
            log.debug("scraped", extra={"nodes": len(nodes), "scraped": len(scrapes)})
        except (errors.StatusError, ConnectionError) as exc:
            log.warning("listing nodes and pods failed", extra={"error": str(exc)})
        metrics.scrape_duration.observe(time.monotonic() - started)
        if callable(on_round):
            await on_round()
        await asyncio.sleep(max(0.0, resolution - (time.monotonic() - started)))


async def amain(args: argparse.Namespace) -> None:
    metrics = Metrics()
    client = client_from_args(args, user_agent="metrics-server")
    storage, snapshot = Storage(), Snapshot()
    scraper = Scraper(kubelet_tls(client, args.kubelet_certificate_authority), args.kubelet_timeout)
    authn = RequestHeader(tuple(n.strip() for n in args.requestheader_allowed_names.split(",") if n.strip()))
    api = MetricsAPI(storage, snapshot, authn, Authorizer(client))
    tls = server_ssl_context(args.tls_cert_file, args.tls_private_key_file, args.requestheader_client_ca_file)
    config = uvicorn.Config(create_app(api, lambda: storage.ready), host=args.bind_address, port=args.secure_port,
                            log_level="warning", lifespan="off", access_log=False, http=ClientCertProtocol,
                            ssl_context_factory=lambda _config, _default: tls)  # fmt: skip
    server = _Server(config)
    health = await serve_health(args.health_bind_address, args.health_port, None, metrics.registry,
                                readyz=lambda: storage.ready)  # fmt: skip
    serving = asyncio.create_task(server.serve(), name="https")
    target = None
    if args.publish:
        target = publish.Target(
            args.advertise_address or source_address_towards(client.server), args.secure_port
        )

    async def publish_round() -> None:
        if target is None:
            return
        try:
            await publish.reconcile(client, target, storage.ready)
        except (errors.StatusError, ConnectionError) as exc:
            log.warning("publishing the metrics-server endpoint failed", extra={"error": str(exc)})

    log.info("serving metrics.k8s.io", extra={"address": args.bind_address, "port": args.secure_port,
                                              "resolution": args.metric_resolution})  # fmt: skip
    try:
        await scrape_loop(client, scraper, storage, snapshot, metrics, args.metric_resolution, publish_round)
    finally:
        if target is not None:
            with contextlib.suppress(Exception):  # best effort on the way out: the endpoint goes not-ready
                async with asyncio.timeout(3):
                    await publish.reconcile(client, target, False)
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(5):
                await serving
        health.close()
        await scraper.aclose()
        await client.aclose()


main = ComponentMain("metrics-server", parse_args, amain)


if __name__ == "__main__":
    main()
