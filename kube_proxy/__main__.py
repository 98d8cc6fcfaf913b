"""`kube-proxy --master URL | --kubeconfig PATH --node-name NAME --proxy-mode iptables|userspace [--cleanup]`."""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import logging
import socket
from pathlib import Path

from apimachinery.component import ComponentMain, add_client_args, cleanup_unless_held, client_from_args
from apimachinery.secureserving import add_secure_serving_args, serving, serving_args_error
from kube_proxy import iptables, netif, rules
from kube_proxy.iptables_proxier import IptablesProxier, cleanup_all
from kube_proxy.lock import DEFAULT_PATH, ProxyLock
from kube_proxy.metrics import ProxyMetrics
from kube_proxy.server import Proxier, ProxyServer
from kube_proxy.userspace import UserspaceProxier

log = logging.getLogger("kube_proxy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="kube-proxy", description="kubelite service proxy: iptables or userspace"
    )
    add_client_args(p)
    p.add_argument("--node-name", "--hostname-override", dest="node_name", default=socket.gethostname())
    p.add_argument("--proxy-mode", choices=("iptables", "userspace"), default="iptables")
    p.add_argument(
        "--endpoints-source",
        choices=("endpointslices", "endpoints"),
        default="endpointslices",
        help="where service endpoints are read: discovery.k8s.io/v1 EndpointSlices (as kube-proxy) or v1 Endpoints",
    )
    p.add_argument(
        "--cleanup", action="store_true", help="remove every rule, address and route of ours, exit"
    )
    p.add_argument("--bind-address", default="127.0.0.1", help="address of /healthz and /metrics")
    p.add_argument(
        "--port",
        "--metrics-port",
        dest="port",
        type=int,
        default=10249,
        help="port of /healthz and /metrics (0: pick a free one)",
    )
    p.add_argument(
        "--cluster-cidr", default="", help="pods' CIDR: other sources to a cluster IP are masqueraded"
    )
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12", help="routed to the guard device")
    p.add_argument("--loadbalancer-ip-range", default="10.250.0.0/24", help="routed to the guard device")
    p.add_argument("--masquerade-all", action="store_true")
    p.add_argument("--iptables-localhost-nodeports", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--min-sync-period", type=float, default=1.0, help="seconds between two syncs, at least")
    p.add_argument("--sync-period", type=float, default=30.0, help="full resync interval, seconds")
    p.add_argument(
        "--lock-file", type=Path, default=DEFAULT_PATH, help="one kube-proxy per network namespace"
    )
    p.add_argument("--log-level", default="INFO")
    add_secure_serving_args(p)
    args = p.parse_args(argv)
    if error := serving_args_error(args):
        p.error(error)
    return args


def guard_cidrs(args: argparse.Namespace) -> list[str]:
    return [c for c in (args.service_cluster_ip_range, args.loadbalancer_ip_range) if c]


def make_proxier(args: argparse.Namespace, metrics: ProxyMetrics) -> Proxier:
    if args.proxy_mode == "userspace":
        return UserspaceProxier(guard_cidrs(args), metrics)
    options = rules.Options(
        cluster_cidr=args.cluster_cidr,
        masquerade_all=args.masquerade_all,
        localhost_nodeports=args.iptables_localhost_nodeports,
    )
    return IptablesProxier(options, guard_cidrs(args), metrics, full_sync_interval=args.sync_period)


async def amain(args: argparse.Namespace) -> None:
    metrics = ProxyMetrics()
    proxier = make_proxier(args, metrics)
    client = client_from_args(args, user_agent="kube-proxy")
    server = ProxyServer(
        client,
        proxier,
        metrics,
        node_name=args.node_name,
        min_sync_period=args.min_sync_period,
        sync_period=args.sync_period,
        endpoints_source=args.endpoints_source,
    )
    lock = ProxyLock(args.lock_file)
    async with serving(args, client, server.healthy, metrics.registry, log=log, lock=lock, who="kube-proxy"):
        await server.run()


async def cleanup(args: argparse.Namespace) -> bool:
    """Remove everything (userspace addresses go with the device) unless a running kube-proxy holds the lock (it
    relies on the guard device)."""
    return await cleanup_unless_held(
        ProxyLock(args.lock_file), "kube-proxy", lambda: cleanup_all(guard_cidrs(args))
    )


main = ComponentMain(
    "kube-proxy", parse_args, amain, cleanup, cleanup_failures=(iptables.IptablesError, netif.NetifError)
)


if __name__ == "__main__":
    main()
