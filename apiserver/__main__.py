"""kube-apiserver: `python -m apiserver --etcd-servers http://127.0.0.1:2379 --bind-address 127.0.0.1 --port 6443`.

Only wiring lives here: flags -> storage -> APIServer -> FastAPI app -> uvicorn (which handles SIGTERM cleanly).
"""

from __future__ import annotations

import argparse
import csv
import logging

import uvicorn

from apimachinery import defaults
from apimachinery.component import setup_logging
from apimachinery.validation import parse_cidr
from apiserver.app import create_app
from apiserver.httpguard import Limits, guarded_protocol
from apiserver.server import APIServer, Options
from apiserver.storage import open_storage

log = logging.getLogger("apiserver")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kube-apiserver", description="kubelite's Kubernetes API server")
    p.add_argument("--etcd-servers", default="", help="comma-separated etcd client URLs")
    p.add_argument(
        "--storage-backend",
        choices=("etcd", "sqlite"),
        default=None,
        help="etcd (needs --etcd-servers) or sqlite (embedded; the default without --etcd-servers)",
    )
    p.add_argument("--data-dir", default=None, help="directory of the embedded SQLite store")
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--port", "--secure-port", dest="port", type=int, default=6443)
    p.add_argument("--tls-cert-file", default=None)
    p.add_argument("--tls-private-key-file", default=None)
    p.add_argument(
        "--token-auth-file",
        default=None,
        help='CSV of token,user,uid[,"group1,group2"]; when set, every request needs a bearer token',
    )
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12")
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument(
        "--loadbalancer-ip-range",
        default="10.250.0.0/24",
        help="pool for LoadBalancer services' external IPs ('' disables)",
    )
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument("--watch-cache-size", type=int, default=10000)
    p.add_argument("--event-ttl", type=float, default=3600.0, help="seconds an Event is kept")
    p.add_argument("--etcd-request-timeout", type=float, default=2.0)
    p.add_argument(
        "--pod-security-default",
        choices=("privileged", "baseline", "restricted"),
        default="privileged",
        help="Pod Security level (enforce, warn, audit) of namespaces without pod-security.kubernetes.io labels",
    )
    p.add_argument(
        "--pod-security-exempt-namespaces",
        default="",
        help="comma-separated namespaces that Pod Security admission never checks",
    )
    p.add_argument(
        "--allow-service-external-ips",
        action="store_true",
        help="let Services set spec.externalIPs (refused by default: DenyServiceExternalIPs)",
    )
    p.add_argument(
        "--cluster-cidr", default="", help="when set, a Node's podCIDR(s) must lie inside this network"
    )
    p.add_argument(
        "--max-requests-inflight", type=int, default=400, help="read-only requests at once (0: no limit)"
    )
    p.add_argument(
        "--max-mutating-requests-inflight",
        type=int,
        default=200,
        help="mutating requests at once (0: no limit)",
    )
    p.add_argument(
        "--request-header-timeout",
        type=float,
        default=32.0,
        help="seconds for a request line and headers to arrive (idle and slow connections are closed)",
    )
    p.add_argument(
        "--request-body-timeout", type=float, default=60.0, help="seconds for a request body to arrive"
    )
    p.add_argument(
        "--keep-alive-timeout", type=float, default=5.0, help="idle seconds between kept-alive requests"
    )
    p.add_argument("--max-header-bytes", type=int, default=1 << 20, help="request line and headers, in bytes")
    p.add_argument("--max-header-count", type=int, default=256, help="header fields per request")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def read_tokens(path: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    with open(path, newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 2 and row[0].strip() and not row[0].startswith("#"):
                tokens[row[0].strip()] = row[1].strip()
    return tokens


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging("kube-apiserver", args.log_level)
    if args.cluster_cidr and parse_cidr(args.cluster_cidr) is None:
        raise SystemExit(f"--cluster-cidr {args.cluster_cidr!r}: must be a CIDR such as 10.244.0.0/16")
    backend = args.storage_backend or ("etcd" if args.etcd_servers else "sqlite")
    options: dict[str, float] = {"request_timeout": args.etcd_request_timeout} if backend == "etcd" else {}
    storage = open_storage(args.etcd_servers or None, backend, args.data_dir, **options)
    # One setting covers both default tolerations (not-ready and unreachable); the smaller flag wins.
    defaults.set_default_toleration_seconds(
        min(args.default_not_ready_toleration_seconds, args.default_unreachable_toleration_seconds)
    )
    server = APIServer(
        storage,
        Options(
            service_cluster_ip_range=args.service_cluster_ip_range,
            service_node_port_range=args.service_node_port_range,
            loadbalancer_ip_range=args.loadbalancer_ip_range or None,
            watch_cache_size=args.watch_cache_size,
            event_ttl=args.event_ttl,
            tokens=read_tokens(args.token_auth_file) if args.token_auth_file else None,
            pod_security_default=args.pod_security_default,
            pod_security_exempt_namespaces=tuple(
                n for n in args.pod_security_exempt_namespaces.split(",") if n
            ),
            allow_service_external_ips=args.allow_service_external_ips,
            cluster_cidr=args.cluster_cidr or None,
            max_requests_inflight=args.max_requests_inflight,
            max_mutating_requests_inflight=args.max_mutating_requests_inflight,
            request_body_timeout=args.request_body_timeout,
        ),
    )
    limits = Limits(args.request_header_timeout, args.max_header_bytes, args.max_header_count)
    app = create_app(server)
    scheme = "https" if args.tls_cert_file else "http"
    log.info("serving", extra={"url": f"{scheme}://{args.bind_address}:{args.port}", "storage": backend})
    uvicorn.run(
        app,
        host=args.bind_address,
        port=args.port,
        ssl_certfile=args.tls_cert_file,
        ssl_keyfile=args.tls_private_key_file,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
        timeout_keep_alive=max(1, round(args.keep_alive_timeout)),
        lifespan="on",
        loop="uvloop",
        http=guarded_protocol(limits),
    )


if __name__ == "__main__":
    main()
