"""The command line of kubelite-hollow-nodes (kubelet/hollow.py): flags, labels and taints as kubectl writes them."""

from __future__ import annotations

import argparse
import os

from apimachinery.component import add_client_args
from kubelet.nodestatus import parse_taint


def _labels(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"label {item!r} is not key=value")
        out[key] = value
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kubelite-hollow-nodes", description="Simulated nodes for scale tests."
    )
    add_client_args(parser)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--name-prefix", default="hollow-")
    parser.add_argument("--cpu", default="4")
    parser.add_argument("--memory", default="16Gi")
    parser.add_argument("--pods", default="110")
    parser.add_argument("--labels", type=_labels, default={}, help="extra node labels: k=v,k2=v2")
    parser.add_argument("--taint", action="append", type=parse_taint, default=[], help="key[=value]:Effect")
    parser.add_argument("--lease-interval", type=float, default=10.0)
    parser.add_argument("--status-interval", type=float, default=300.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--ready-delay", type=float, default=0.0, help="seconds from binding to Running and Ready (default 0)"
    )
    parser.add_argument(
        "--delete-on-exit", action="store_true", help="delete the nodes and leases on SIGTERM"
    )
    parser.add_argument(
        "--kubelet-port",
        type=_port,
        default=0,
        help="port of the hollow kubelet API on 127.0.0.1 (0: a free one)",
    )
    parser.add_argument("--tls-cert-file", default="", help="serving certificate of the hollow kubelet API")
    parser.add_argument("--tls-private-key-file", default="")
    parser.add_argument(
        "--client-ca-file", default=None, help="require client certificates signed by this CA"
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        parser.error("--tls-cert-file and --tls-private-key-file go together")
    return args


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {text} is not in 0..65535")
    return port
