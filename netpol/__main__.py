"""`kube-netpol --master URL | --kubeconfig PATH --node-name NAME [--node-name NAME2 ...] [--cleanup]`."""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import logging
import shutil
import socket
from pathlib import Path

from apimachinery.component import ComponentMain, add_client_args, cleanup_unless_held, client_from_args
from apimachinery.nslock import NamespaceLock
from apimachinery.secureserving import add_secure_serving_args, serving, serving_args_error
from netpol import ipset, iptables
from netpol.agent import PolicyAgent
from netpol.dataplane import DataPlane, cleanup, ensure_bridge_netfilter
from netpol.metrics import PolicyMetrics

log = logging.getLogger("netpol")

DEFAULT_LOCK = Path("/run/kubelite/kube-netpol.lock")
DEFAULT_PORT = 10265


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="kube-netpol",
        description="kubelite network policy agent: NetworkPolicies -> iptables and ipsets",
    )
    add_client_args(p)
    p.add_argument(
        "--node-name",
        "--hostname-override",
        dest="node_names",
        action="append",
        help="the node whose pods are local (default: the host name); repeat it for every node that shares "
        "this network namespace",
    )
    p.add_argument("--cleanup", action="store_true", help="remove every chain, rule and set of ours, exit")
    p.add_argument("--bind-address", default="127.0.0.1", help="address of /healthz and /metrics")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of /healthz and /metrics (0: any)")
    p.add_argument("--min-sync-period", type=float, default=0.5, help="seconds between two syncs, at least")
    p.add_argument("--sync-period", type=float, default=10.0, help="a sync at least this often, seconds")
    p.add_argument(
        "--full-sync-period",
        type=float,
        default=60.0,
        help="re-read and rewrite everything this often, seconds",
    )
    p.add_argument("--lock-file", type=Path, default=DEFAULT_LOCK, help="one agent per network namespace")
    p.add_argument("--log-level", default="INFO")
    add_secure_serving_args(p)
    args = p.parse_args(argv)
    if error := serving_args_error(args):
        p.error(error)
    args.node_names = args.node_names or [socket.gethostname()]
    return args


def tools_missing() -> list[str]:
    return [tool for tool in ("iptables-restore", "iptables-save", "ipset") if shutil.which(tool) is None]


async def amain(args: argparse.Namespace) -> None:
    if missing := tools_missing():
        log.error(
            "cannot program network policies: missing %s (Debian: apt-get install iptables ipset)", missing
        )
        raise SystemExit(1)
    metrics = PolicyMetrics()
    client = client_from_args(args, user_agent="kube-netpol")
    agent = PolicyAgent(
        client,
        DataPlane(metrics, full_sync_interval=args.full_sync_period),
        metrics,
        node_names=args.node_names,
        min_sync_period=args.min_sync_period,
        sync_period=args.sync_period,
    )
    lock = NamespaceLock(args.lock_file)
    async with serving(args, client, agent.healthy, metrics.registry, log=log, lock=lock, who="kube-netpol"):
        ensure_bridge_netfilter()
        await agent.run()


async def run_cleanup(args: argparse.Namespace) -> bool:
    """Remove everything unless a running agent holds the lock (it would only write it all again)."""

    async def remove() -> None:
        chains, sets = await cleanup()
        log.info("cleaned up", extra={"chains": chains, "sets": sets})

    return await cleanup_unless_held(NamespaceLock(args.lock_file), "kube-netpol", remove)


main = ComponentMain(
    "kube-netpol", parse_args, amain, run_cleanup, cleanup_failures=(iptables.IptablesError, ipset.IpsetError)
)


if __name__ == "__main__":
    main()
