"""`kube-dns --kubeconfig PATH [--bind-address A] [--dns-port 53] [...]`: the cluster's DNS server.

It runs as its own identity, the ServiceAccount kube-system/kube-dns (`system:serviceaccount:kube-system:kube-dns`,
a client certificate in that kubeconfig, which `kctl up` and compose make), with the bootstrap roles of
apiserver/auth/roles_addons.py: list/watch Services, Pods and EndpointSlices everywhere; in kube-system create
Services, Endpoints and EndpointSlices and update its own two.

Wiring only: informers on Services, EndpointSlices and Pods (and the kube-dns Endpoints) -> the zone -> the UDP and
TCP listeners; /healthz, /readyz (caches synced) and /metrics; the kube-dns Service and its endpoints kept by the
publisher. SIGTERM withdraws the endpoints, then stops.
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import asyncio
import gc
import ipaddress
import logging
import socket
import urllib.parse
from collections.abc import Callable

from apimachinery.client import Client
from apimachinery.component import ComponentMain, add_client_args, client_from_args, serve_health
from apimachinery.dnsconfig import CLUSTER_DOMAIN, DNS_NAMESPACE, DNS_SERVICE, cluster_dns_ip
from apimachinery.informer import Informer, InformerFactory
from apimachinery.netutil import ip_argument
from apimachinery.resources import must_resource
from kube_dns.forward import Forwarder, upstreams_from_resolv_conf
from kube_dns.metrics import DNSMetrics
from kube_dns.publish import ENDPOINTS, ENDPOINTSLICES, SERVICES, Publisher, Target
from kube_dns.records import Zone, add_indexers
from kube_dns.server import DNSServer, Resolver, bind_socket

log = logging.getLogger("kube_dns")
PODS = must_resource("", "pods")


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a CIDR: {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kube-dns", description="kubelite cluster DNS: serves cluster.local")
    add_client_args(p)
    p.add_argument("--cluster-domain", default=CLUSTER_DOMAIN)
    p.add_argument("--service-cluster-ip-range", type=_cidr, default="10.96.0.0/12")
    p.add_argument(
        "--cluster-cidr", type=_cidr, default="10.244.0.0/16", help="pods' addresses (reverse zone)"
    )
    p.add_argument("--cluster-dns-ip", type=ip_argument, default=None, help="the kube-dns Service's address "
                   "(default: the 10th address of --service-cluster-ip-range)")  # fmt: skip
    p.add_argument(
        "--bind-address",
        type=ip_argument,
        default="0.0.0.0",
        help="DNS listeners' address (may not exist yet)",
    )
    p.add_argument(
        "--dns-port", type=int, default=53, help="UDP and TCP port of the DNS listeners (0: a free one)"
    )
    p.add_argument("--advertise-address", type=ip_argument, default=None, help="the address the kube-dns endpoints name "
                   "(default: --bind-address, or when that is 0.0.0.0 the address this host reaches the apiserver "
                   "from)")  # fmt: skip
    p.add_argument(
        "--health-bind-address",
        type=ip_argument,
        default="127.0.0.1",
        help="address of /healthz and /metrics",
    )
    p.add_argument("--metrics-port", "--port", dest="metrics_port", type=int, default=9153,
                   help="port of /healthz, /readyz and /metrics, also served on the advertised address")  # fmt: skip
    p.add_argument("--resolv-conf", default="/etc/resolv.conf", help="upstream resolvers for other names")
    p.add_argument("--ttl", type=int, default=5, help="TTL of cluster answers, seconds")
    p.add_argument("--publish", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the kube-dns Service and its EndpointSlice/Endpoints")  # fmt: skip
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.ttl < 0 or not 0 <= args.dns_port <= 65535 or not 0 <= args.metrics_port <= 65535:
        p.error("--ttl must be >= 0 and the ports in 0-65535")
    return args


def source_address_towards(server_url: str) -> str:
    """The local address this host uses to reach the apiserver: a UDP socket is connected (which sends nothing)
    and asked for its own address."""
    host = urllib.parse.urlsplit(server_url).hostname or "127.0.0.1"
    info = socket.getaddrinfo(host, 443, type=socket.SOCK_DGRAM)[0]
    with socket.socket(info[0], socket.SOCK_DGRAM) as s:
        s.connect(info[4])
        return str(s.getsockname()[0])


class ConfigError(Exception):
    """The flags do not make a kube-dns that pods can reach."""


def advertise_address(args: argparse.Namespace, client: Client) -> str:
    if args.advertise_address:
        address = str(args.advertise_address)
    elif not ipaddress.ip_address(args.bind_address).is_unspecified:
        address = str(args.bind_address)
    else:
        address = source_address_towards(client.server)
    if args.publish and ipaddress.ip_address(address).is_loopback:
        raise ConfigError(
            f"the kube-dns endpoints would name {address}, a loopback address that pods cannot reach (and the "
            "API refuses): give --advertise-address, or --no-publish"
        )
    return address


def informers(factory: InformerFactory) -> tuple[Informer, Informer, Informer, Informer]:
    services = factory.informer(SERVICES)
    slices = factory.informer(ENDPOINTSLICES)
    pods = factory.informer(PODS)
    endpoints = factory.informer(ENDPOINTS, DNS_NAMESPACE, field_selector=f"metadata.name={DNS_SERVICE}")
    add_indexers(services.store, slices.store, pods.store)
    return services, slices, pods, endpoints


async def serve_health_and_metrics(
    args: argparse.Namespace,
    address: str,
    healthy: Callable[[], bool],
    ready: Callable[[], bool],
    metrics: DNSMetrics,
) -> list[asyncio.Server]:
    """/healthz (every informer still runs: one that died would leave the answers stale for good), /readyz and
    /metrics on --health-bind-address:--metrics-port, and on the advertised address too, where the Service's
    `metrics` port leads. Plain HTTP beyond loopback, as CoreDNS's :9153 upstream: kube-dns has no secure metrics
    port yet (a follow-up); every other component's plain port is loopback-only (apimachinery/secureserving.py)."""
    health = [
        await serve_health(
            args.health_bind_address,
            args.metrics_port,
            healthy,
            metrics.registry,
            readyz=ready,
            plain_beyond_loopback=True,
        )
    ]
    metrics_port = health[0].sockets[0].getsockname()[1]
    if (
        address != args.health_bind_address
        and not ipaddress.ip_address(args.health_bind_address).is_unspecified
    ):
        sock = bind_socket(address, metrics_port, socket.SOCK_STREAM)
        health.append(
            await serve_health(
                "", 0, None, metrics.registry, readyz=ready, sock=sock, plain_beyond_loopback=True
            )
        )
    log.info("serving /healthz, /readyz and /metrics", extra={"address": args.health_bind_address,
                                                                "port": metrics_port})  # fmt: skip
    return health


async def amain(args: argparse.Namespace) -> None:
    metrics = DNSMetrics()
    client = client_from_args(args, user_agent="kube-dns")
    factory = InformerFactory(client)
    services, slices, pods, endpoints = informers(factory)
    dns_ip = args.cluster_dns_ip or cluster_dns_ip(args.service_cluster_ip_range)
    zone = Zone(services.store, slices.store, pods.store, domain=args.cluster_domain, dns_ip=dns_ip, ttl=args.ttl,
                cluster_ranges=[args.service_cluster_ip_range, args.cluster_cidr])  # fmt: skip

    def changed(*_: object) -> None:
        zone.touch()

    for inf in (services, slices, pods):
        inf.add_handler(changed, changed, changed)
    try:
        address = advertise_address(args, client)
    except ConfigError as exc:
        log.error(str(exc))
        await client.aclose()
        raise SystemExit(2) from None
    upstreams = upstreams_from_resolv_conf(args.resolv_conf, exclude=[args.bind_address, address, dns_ip])
    log.info(
        "forwarding other names", extra={"upstreams": [str(u) for u in upstreams], "from": args.resolv_conf}
    )
    forwarder = Forwarder(upstreams, metrics)
    server = DNSServer(Resolver(zone, forwarder, metrics, f"dns://{args.bind_address}:{args.dns_port}"),
                       args.bind_address, args.dns_port)  # fmt: skip
    await server.start()

    def ready() -> bool:
        for name, inf in (("services", services), ("endpointslices", slices), ("pods", pods)):
            metrics.cache_objects.labels(name).set(len(inf.store))
        return all(inf.has_synced for inf in (services, slices, pods))

    health = await serve_health_and_metrics(args, address, factory.running, ready, metrics)
    metrics_port = health[0].sockets[0].getsockname()[1]
    publisher = None
    if args.publish:
        target = Target(address, server.port, metrics_port)
        publisher = Publisher(client, services, slices, endpoints, cluster_ip=dns_ip, target=target)
    factory.start()
    try:
        await factory.wait_synced()
        log.info("caches synced", extra={"services": len(services.store), "pods": len(pods.store)})
        # The caches are long-lived: keep the collector from walking them again and again while queries make
        # short-lived objects (bench/dns.py, 1,000 Services: p99 under load 19 ms without this, 8 ms with it).
        gc.freeze()
        if publisher is None:
            await asyncio.Event().wait()
        else:
            publisher.set_ready(True)
            await publisher.run()
    finally:
        if publisher is not None:
            await asyncio.shield(publisher.withdraw())
        await server.stop()
        for h in health:
            h.close()
        await factory.stop()
        await client.aclose()


main = ComponentMain("kube-dns", parse_args, amain)


if __name__ == "__main__":
    main()
