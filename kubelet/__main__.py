"""`kubelet --master URL | --kubeconfig PATH --node-name NAME [...]`: parse flags, wire, run until SIGTERM."""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import asyncio
import gc
import ipaddress
import socket
from pathlib import Path

from apimachinery.component import ComponentMain, add_client_args, client_from_args
from kubelet.certrotation import rotate_forever
from kubelet.cleanup import cleanup_node
from kubelet.config import KubeletConfig
from kubelet.kubelet import Kubelet
from kubelet.nodestatus import parse_taint


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        out[key] = value
    return out


def _taints(text: str) -> list[dict[str, str]]:
    """key=value:Effect,key2:Effect -> Node taints."""
    try:
        return [parse_taint(item) for item in filter(None, (p.strip() for p in text.split(",")))]
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def _ips(text: str) -> list[str]:
    """10.96.0.10[,10.96.0.11]: the cluster DNS addresses, each checked."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(str(ipaddress.ip_address(item)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an IP address: {item!r}") from None
    return out


def _config(args: argparse.Namespace) -> KubeletConfig:
    """The KubeletConfig the flags describe."""
    return KubeletConfig(
        node_name=args.node_name,
        node_ip=args.node_ip,
        address=args.address,
        port=args.port,
        pod_cidr=args.pod_cidr,
        cluster_cidr=args.cluster_cidr,
        cni_bin_dir=args.cni_bin_dir,
        cni_conf_dir=Path(args.cni_conf_dir),
        root_dir=Path(args.root_dir),
        local_path_root=Path(args.local_path_root) if args.local_path_root else None,
        pause_image=args.pod_infra_container_image,
        node_labels=args.node_labels,
        register_with_taints=args.register_with_taints,
        capacity=args.capacity,
        max_pods=args.max_pods,
        node_status_update_frequency=args.node_status_update_frequency,
        lease_renew_interval=args.lease_renew_interval,
        resync_interval=args.resync_interval,
        stats_interval=args.housekeeping_interval,
        crashloop_backoff_initial=args.crashloop_backoff_initial,
        crashloop_backoff_max=args.crashloop_backoff_max,
        network_mode=args.network,
        tls_cert_file=args.tls_cert_file,
        tls_private_key_file=args.tls_private_key_file,
        client_ca_file=args.client_ca_file,
        cluster_dns=args.cluster_dns,
        cluster_domain=args.cluster_domain.strip("."),
        resolv_conf=args.resolv_conf,
    )


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, KubeletConfig]:
    p = argparse.ArgumentParser(prog="kubelet", description="kubelite node agent: runs pods on Docker")
    add_client_args(p)
    p.add_argument("--node-name", default=socket.gethostname())
    p.add_argument(
        "--node-ip", default="", help="the Node's InternalIP (default: the default route's source)"
    )
    p.add_argument("--address", default="0.0.0.0", help="address of the kubelet HTTPS API")
    p.add_argument("--port", type=int, default=10250)
    p.add_argument("--tls-cert-file", default="", help="the kubelet API's serving certificate (required)")
    p.add_argument("--tls-private-key-file", default="")
    p.add_argument(
        "--client-ca-file", default="", help="CA of the client certificates the kubelet API accepts"
    )
    p.add_argument("--pod-cidr", default="", help="the node's podCIDR when no controller assigns one")
    p.add_argument(
        "--cluster-cidr", default="10.244.0.0/16", help="all pods' CIDR (routed to the guard device)"
    )
    p.add_argument("--cni-bin-dir", default="")
    p.add_argument("--cni-conf-dir", default="/etc/cni/net.d")
    p.add_argument("--root-dir", default="/var/lib/kubelet")
    p.add_argument(
        "--local-path-root",
        default="",
        help="where local PersistentVolumes live (default <root-dir>/local-volumes)",
    )
    p.add_argument("--network", choices=["auto", "cni", "docker-bridge"], default="auto")
    p.add_argument("--pod-infra-container-image", default="kubelite/pause:1")
    p.add_argument("--node-labels", type=_pairs, default={})
    p.add_argument("--register-with-taints", type=_taints, default=[])
    p.add_argument("--max-pods", type=int, default=110)
    p.add_argument("--capacity", type=_pairs, default={}, help="override capacity, e.g. cpu=4,memory=8Gi")
    p.add_argument("--node-status-update-frequency", type=float, default=10.0)
    p.add_argument("--lease-renew-interval", type=float, default=10.0)
    p.add_argument("--resync-interval", type=float, default=10.0)
    p.add_argument(
        "--housekeeping-interval",
        type=float,
        default=10.0,
        help="seconds between stats collections (0 = off)",
    )
    p.add_argument("--crashloop-backoff-initial", type=float, default=10.0)
    p.add_argument("--crashloop-backoff-max", type=float, default=300.0)
    p.add_argument("--cluster-dns", type=_ips, default=[], help="DNS server addresses of ClusterFirst pods")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain")
    p.add_argument(
        "--resolv-conf", default="/etc/resolv.conf", help="the node's resolvers (dnsPolicy Default)"
    )
    p.add_argument(
        "--rotate-certificates",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="renew the kubeconfig's client certificate through a CSR before it expires",
    )
    p.add_argument("--log-level", default="INFO")
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="remove this node's containers, CNI attachments, bridge and rules from this machine, then exit",
    )
    args = p.parse_args(argv)
    config = _config(args)
    if not args.cleanup and not (args.tls_cert_file and args.tls_private_key_file):
        p.error("--tls-cert-file and --tls-private-key-file are required: the kubelet API serves HTTPS only")
    return args, config


async def _run(args: argparse.Namespace, config: KubeletConfig) -> None:
    client = client_from_args(args, user_agent=f"kubelet/{config.node_name}")
    rotation = None
    if args.kubeconfig and args.rotate_certificates:
        rotation = asyncio.create_task(rotate_forever(client, Path(args.kubeconfig), config.node_name))
    kubelet = Kubelet(config, client)
    frozen = asyncio.create_task(_freeze_when_ready(kubelet))
    try:
        await kubelet.run()
    finally:
        frozen.cancel()
        await asyncio.gather(frozen, return_exceptions=True)
        if rotation is not None:
            rotation.cancel()
        await client.aclose()


async def _freeze_when_ready(kubelet: Kubelet) -> None:
    """Once the kubelet has started, what start-up made (modules, schemas, clients, the first pods) leaves the
    cyclic collector's generations (gc.freeze): the collections during a burst of pod starts then walk only what
    the burst makes (bench/pod_startup.py, 2 rounds of 30 pods: the kubelet's collections took 0.06 s instead of
    0.16 s). Here, not in Kubelet: only a kubelet process (or host process) freezes, never a test's."""
    await kubelet.ready.wait()
    gc.freeze()


async def _cleanup(args: argparse.Namespace) -> bool:
    config = _config(args)
    removed = await cleanup_node(config)
    print(f"removed {removed} containers of node {config.node_name}, its bridge and rules")
    return True


main = ComponentMain(
    "kubelet",
    lambda argv: parse_args(argv)[0],
    lambda args: _run(args, _config(args)),
    cleanup=_cleanup,
)


if __name__ == "__main__":
    main()
