"""`kube-controller-manager` / `python -m controller_manager`: flags -> client -> manager -> run until SIGTERM."""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import logging
from pathlib import Path

from apimachinery.component import ComponentMain, add_client_args, client_from_args
from apimachinery.durations import parse_flag_duration
from apimachinery.secureserving import add_secure_serving_args, serving, serving_args_error
from controller_manager.base import Options
from controller_manager.manager import CONTROLLERS, ControllerManager, select_controllers

log = logging.getLogger("controller_manager")


def duration(text: str) -> float:
    """A Go-style duration (`40s`, `1m30s`, `500ms`) or plain seconds, in seconds."""
    try:
        return parse_flag_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kube-controller-manager", description="kubelite controller manager")
    add_client_args(p)
    p.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run controllers only while holding the Lease kube-system/kube-controller-manager",
    )
    p.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    p.add_argument(
        "--controllers",
        default="*",
        help=f"comma list: * (all), name, -name; known: {', '.join(CONTROLLERS)}",
    )
    p.add_argument("--node-monitor-grace-period", type=duration, default=40.0)
    p.add_argument(
        "--node-eviction-rate", type=float, default=0.1, help="nodes per second that may get NoExecute taints"
    )
    p.add_argument(
        "--job-pod-failure-backoff",
        type=duration,
        default=10.0,
        help="wait before replacing a failed Job pod, doubling per failure up to 10m (Kubernetes: 10s, fixed)",
    )
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--allocate-node-cidrs", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--max-endpoints-per-slice",
        type=int,
        default=100,
        help="endpoints in one EndpointSlice, at most (1-1000)",
    )
    p.add_argument(
        "--root-ca-file",
        dest="root_ca_pem",
        type=lambda path: Path(path).read_text() if path else "",
        default="",
        help="the cluster CA, published to every namespace as the ConfigMap kube-root-ca.crt",
    )
    p.add_argument(
        "--horizontal-pod-autoscaler-sync-period", dest="hpa_sync_period", type=duration, default=15.0
    )
    p.add_argument(
        "--horizontal-pod-autoscaler-downscale-stabilization",
        dest="hpa_downscale_stabilization",
        type=duration,
        default=300.0,
    )
    p.add_argument("--horizontal-pod-autoscaler-tolerance", dest="hpa_tolerance", type=float, default=0.1)
    p.add_argument(
        "--cluster-signing-cert-file", default="", help="the CA certificate the CSR signer signs with"
    )
    p.add_argument(
        "--cluster-signing-key-file", default="", help="its private key (the signer is off without it)"
    )
    p.add_argument(
        "--cluster-signing-duration",
        type=duration,
        default=365 * 24 * 3600.0,
        help="longest certificate lifetime",
    )
    p.add_argument("--bind-address", default="127.0.0.1", help="address of /healthz and /metrics")
    p.add_argument(
        "--port", type=int, default=10257, help="port of /healthz and /metrics (0: pick a free one)"
    )
    p.add_argument("--log-level", default="INFO")
    add_secure_serving_args(p)
    return p


async def amain(args: argparse.Namespace) -> None:
    names = select_controllers(args.controllers)
    if not args.allocate_node_cidrs and "node-ipam" in names:
        names.remove("node-ipam")
    options = Options(
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_eviction_rate=args.node_eviction_rate,
        cluster_cidr=args.cluster_cidr,
        node_cidr_mask_size=args.node_cidr_mask_size,
        allocate_node_cidrs=args.allocate_node_cidrs,
        max_endpoints_per_slice=args.max_endpoints_per_slice,
        job_pod_failure_backoff=args.job_pod_failure_backoff,
        root_ca_pem=args.root_ca_pem,
        hpa_sync_period=args.hpa_sync_period,
        hpa_downscale_stabilization=args.hpa_downscale_stabilization,
        hpa_tolerance=args.hpa_tolerance,
        cluster_signing_cert_file=args.cluster_signing_cert_file,
        cluster_signing_key_file=args.cluster_signing_key_file,
        cluster_signing_duration=args.cluster_signing_duration,
    )
    client = client_from_args(args, user_agent="kube-controller-manager")
    manager = ControllerManager(client, options, names)
    async with serving(args, client, manager.healthy, None, log=log, extra={"controllers": names}):
        await manager.run(
            leader_elect=args.leader_elect,
            lease_duration=args.leader_elect_lease_duration,
            renew_deadline=args.leader_elect_renew_deadline,
            retry_period=args.leader_elect_retry_period,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    if not 1 <= args.max_endpoints_per_slice <= 1000:
        parser().error("--max-endpoints-per-slice must be between 1 and 1000")
    if error := serving_args_error(args):
        parser().error(error)
    return args


main = ComponentMain("kube-controller-manager", parse_args, amain)


if __name__ == "__main__":
    main()
