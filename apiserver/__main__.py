"""kube-apiserver: `python -m apiserver --etcd-servers http://127.0.0.1:2379 --bind-address 127.0.0.1 --port 6443
--tls-cert-file ... --tls-private-key-file ... --client-ca-file ... --service-account-signing-key-file ...`.

Only wiring lives here: flags -> storage -> APIServer -> FastAPI app -> uvicorn (which handles SIGTERM cleanly).
"""

from __future__ import annotations

from apimachinery import lean  # noqa: F401  (first: keeps unused libraries out of this process)

# isort: split
import argparse
import ipaddress
import logging
import os

import uvicorn

from apimachinery import defaults
from apimachinery.component import setup_logging
from apimachinery.netutil import default_route_source
from apimachinery.tlsserve import ClientCertWebSocketProtocol, server_ssl_context
from apimachinery.validation import parse_cidr
from apiserver.app import create_app
from apiserver.audit import Auditor, LogBackend, PolicyError, load_policy
from apiserver.auth import tokens
from apiserver.auth.authenticators import TokenFile
from apiserver.httpguard import Limits, guarded_protocol
from apiserver.server import APIServer, Options
from apiserver.storage import Storage, open_storage
from apiserver.storage.encryption import EncryptedStorage, load_encryption_config

log = logging.getLogger("apiserver")


def _storage_flags(p: argparse.ArgumentParser) -> None:
    """Where the API keeps its objects."""
    p.add_argument("--etcd-servers", default="", help="comma-separated etcd client URLs")
    p.add_argument(
        "--storage-backend",
        choices=("etcd", "sqlite"),
        default=None,
        help="etcd (needs --etcd-servers) or sqlite (embedded; the default without --etcd-servers)",
    )
    p.add_argument("--data-dir", default=None, help="directory of the embedded SQLite store")


def _security_flags(p: argparse.ArgumentParser) -> None:
    """The HTTPS socket, who may authenticate (client certificates, tokens) and how requests are authorized."""
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--port", "--secure-port", dest="port", type=int, default=6443)
    p.add_argument("--tls-cert-file", default=None, help="the serving certificate (PEM); HTTPS is required")
    p.add_argument("--tls-private-key-file", default=None)
    p.add_argument(
        "--client-ca-file",
        default=None,
        help="CA whose client certificates authenticate users (CN = user name, O = groups)",
    )
    p.add_argument(
        "--token-auth-file",
        default=None,
        help='CSV of token,user,uid[,"group1,group2"]: static bearer tokens',
    )
    p.add_argument(
        "--authorization-mode",
        default="Node,RBAC",
        help="comma-separated authorizers in order: Node, RBAC, AlwaysAllow, AlwaysDeny",
    )
    p.add_argument(
        "--service-account-key-file",
        action="append",
        default=[],
        help="PEM public (or private) keys that verify ServiceAccount tokens (repeatable)",
    )
    p.add_argument(
        "--service-account-signing-key-file", default=None, help="the key that signs ServiceAccount tokens"
    )
    p.add_argument("--service-account-issuer", default=tokens.DEFAULT_ISSUER)
    p.add_argument("--api-audiences", default="", help="audiences of API tokens (default: the issuer)")
    p.add_argument("--service-account-max-token-expiration", type=int, default=48 * 3600, help="seconds")


def _peer_flags(p: argparse.ArgumentParser) -> None:
    """How the apiserver is reached by pods and reaches kubelets, aggregated API servers and metrics-server."""
    p.add_argument(
        "--advertise-address",
        default=None,
        help="where pods reach this apiserver (the `kubernetes` Service's endpoint; default: the bind address, "
        "or the default route's source address when binding 0.0.0.0)",
    )
    p.add_argument(
        "--kubelet-client-certificate", default=None, help="client certificate for the kubelets' APIs"
    )
    p.add_argument("--kubelet-client-key", default=None)
    p.add_argument(
        "--kubelet-certificate-authority",
        default=None,
        help="CA that signed the kubelets' serving certificates",
    )
    p.add_argument("--proxy-client-cert-file", default=None,
                   help="the front-proxy client certificate shown to aggregated API servers")  # fmt: skip
    p.add_argument("--proxy-client-key-file", default=None)
    p.add_argument("--register-metrics-apiservice", metavar="CA_FILE", default=None,
                   help="keep the APIService v1beta1.metrics.k8s.io (kube-system/metrics-server) registered, "
                   "its serving certificate checked against CA_FILE")  # fmt: skip


def _cluster_flags(p: argparse.ArgumentParser) -> None:
    """What the API stores and admits: encryption at rest, Service ranges, tolerations, caches, Pod Security."""
    p.add_argument(
        "--encryption-provider-config",
        default=None,
        help="an EncryptionConfiguration (apiserver.config.k8s.io/v1) for Secrets at rest",
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
    p.add_argument(
        "--watch-flush-interval",
        type=float,
        default=None,
        help="seconds a busy watch waits at most between two writes, batching its events (default: built in)",
    )
    p.add_argument(
        "--watch-busy-events",
        type=int,
        default=None,
        help="a watch batches while more events than this come per flush interval (0: every watch)",
    )
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
        "--default-local-path-storage-class",
        action="store_true",
        help="keep a default StorageClass `local-path` (the kubelets' local volumes): created when missing",
    )


def _limit_flags(p: argparse.ArgumentParser) -> None:
    """Bounds on requests in flight, slow clients and request size."""
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
        "--keep-alive-timeout",
        type=float,
        default=90.0,
        # As kube-apiserver's IdleTimeout: longer than any client keeps an idle connection (httpx 5 s, Go 90 s),
        # so that the server never closes a connection at the moment a client sends on it.
        help="idle seconds between kept-alive requests",
    )
    p.add_argument("--max-header-bytes", type=int, default=1 << 20, help="request line and headers, in bytes")
    p.add_argument("--max-header-count", type=int, default=256, help="header fields per request")


def _logging_flags(p: argparse.ArgumentParser) -> None:
    """The process log, the access log and the audit log."""
    p.add_argument("--log-level", default="INFO")
    p.add_argument(
        "--access-log", action="store_true", help="log every request (method, URI, code, latency, user)"
    )
    p.add_argument(
        "--audit-log-path",
        default=None,
        help="append audit.k8s.io/v1 events here, one per line ('-': stdout)",
    )
    p.add_argument(
        "--audit-policy-file", default=None, help="an audit.k8s.io/v1 Policy: what is logged, at which level"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kube-apiserver", description="kubelite's Kubernetes API server")
    _storage_flags(p)
    _security_flags(p)
    _peer_flags(p)
    _cluster_flags(p)
    _limit_flags(p)
    _logging_flags(p)
    return p.parse_args(argv)


def advertise_address(args: argparse.Namespace) -> str | None:
    """Where pods reach us: --advertise-address, else a specific bind address, else (0.0.0.0) the source address
    of the default route. A loopback bind address cannot be reached from pods: no `kubernetes` Service then."""
    if args.advertise_address:
        return str(args.advertise_address)
    bind = ipaddress.ip_address(args.bind_address)
    if bind.is_loopback:
        return None
    if not bind.is_unspecified:
        return str(bind)
    return default_route_source()


def token_issuer(args: argparse.Namespace) -> tokens.TokenIssuer | None:
    if not args.service_account_signing_key_file and not args.service_account_key_file:
        return None
    signing = (
        tokens.load_private_key(args.service_account_signing_key_file)
        if args.service_account_signing_key_file
        else None
    )
    verify = [k for path in args.service_account_key_file for k in tokens.load_public_keys(path)]
    audiences = tuple(a.strip() for a in args.api_audiences.split(",") if a.strip())
    return tokens.TokenIssuer(
        signing,
        verify,
        issuer=args.service_account_issuer,
        api_audiences=audiences,
        max_expiration=args.service_account_max_token_expiration,
    )


def make_auditor(args: argparse.Namespace) -> Auditor | None:
    """The audit log, when both --audit-log-path and --audit-policy-file are given (as kube-apiserver: a path
    without a policy logs nothing)."""
    if not args.audit_log_path:
        return None
    if not args.audit_policy_file:
        log.warning("--audit-log-path without --audit-policy-file: nothing is audited")
        return None
    try:
        policy = load_policy(args.audit_policy_file)
    except PolicyError as exc:
        raise SystemExit(f"--audit-policy-file: {exc}") from None
    return Auditor(policy, LogBackend(args.audit_log_path))


def check_args(args: argparse.Namespace) -> None:
    """Refuse flags that cannot make a secure apiserver (SystemExit with the reason)."""
    if args.cluster_cidr and parse_cidr(args.cluster_cidr) is None:
        raise SystemExit(f"--cluster-cidr {args.cluster_cidr!r}: must be a CIDR such as 10.244.0.0/16")
    if not args.tls_cert_file or not args.tls_private_key_file:
        raise SystemExit(
            "kube-apiserver: --tls-cert-file and --tls-private-key-file are required (HTTPS only; "
            "`kctl up` and deploy/scripts/certs.py make them)"
        )
    if args.register_metrics_apiservice and not os.path.isfile(args.register_metrics_apiservice):
        raise SystemExit(
            f"--register-metrics-apiservice {args.register_metrics_apiservice!r}: no such CA file"
        )


def storage_from_args(args: argparse.Namespace) -> tuple[Storage, str]:
    """The storage the flags name (encrypted when configured), and its backend's name."""
    backend = args.storage_backend or ("etcd" if args.etcd_servers else "sqlite")
    options: dict[str, float] = {"request_timeout": args.etcd_request_timeout} if backend == "etcd" else {}
    storage = open_storage(args.etcd_servers or None, backend, args.data_dir, **options)
    if args.encryption_provider_config:
        storage = EncryptedStorage(storage, load_encryption_config(args.encryption_provider_config))
    return storage, backend


def apply_process_settings(args: argparse.Namespace) -> None:
    """The settings that are module-wide: default tolerations, the watch streams' flushing."""
    # One setting covers both default tolerations (not-ready and unreachable); the smaller flag wins.
    defaults.set_default_toleration_seconds(
        min(args.default_not_ready_toleration_seconds, args.default_unreachable_toleration_seconds)
    )
    if args.watch_flush_interval is not None or args.watch_busy_events is not None:
        from apiserver import watchstream

        try:
            if args.watch_flush_interval is not None:
                watchstream.set_flush_interval(args.watch_flush_interval)
            if args.watch_busy_events is not None:
                watchstream.set_busy_events(args.watch_busy_events)
        except ValueError as exc:
            raise SystemExit(f"--watch-flush-interval/--watch-busy-events: {exc}") from None


# The Options fields that are flags of the same name, as given.
AS_GIVEN = (
    "service_cluster_ip_range", "service_node_port_range", "watch_cache_size", "event_ttl", "pod_security_default",
    "allow_service_external_ips", "default_local_path_storage_class", "max_requests_inflight",
    "max_mutating_requests_inflight", "request_body_timeout", "access_log",
)  # fmt: skip


def server_options(args: argparse.Namespace) -> Options:
    return Options(
        **{name: getattr(args, name) for name in AS_GIVEN},
        loadbalancer_ip_range=args.loadbalancer_ip_range or None,
        pod_security_exempt_namespaces=tuple(n for n in args.pod_security_exempt_namespaces.split(",") if n),
        cluster_cidr=args.cluster_cidr or None,
        authorization_modes=tuple(m.strip() for m in args.authorization_mode.split(",") if m.strip()),
        token_file=TokenFile.read(args.token_auth_file) if args.token_auth_file else None,
        token_issuer=token_issuer(args),
        advertise_address=advertise_address(args),
        secure_port=args.port,
        kubelet_client_cert=args.kubelet_client_certificate,
        kubelet_client_key=args.kubelet_client_key,
        kubelet_ca=args.kubelet_certificate_authority,
        auditor=make_auditor(args),
        proxy_client_cert=args.proxy_client_cert_file,
        proxy_client_key=args.proxy_client_key_file,
        metrics_apiservice_ca_file=args.register_metrics_apiservice,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging("kube-apiserver", args.log_level)
    check_args(args)
    storage, backend = storage_from_args(args)
    apply_process_settings(args)
    server = APIServer(storage, server_options(args))
    limits = Limits(args.request_header_timeout, args.max_header_bytes, args.max_header_count)
    app = create_app(server)
    log.info("serving", extra={"url": f"https://{args.bind_address}:{args.port}", "storage": backend})
    ssl_context = server_ssl_context(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)
    uvicorn.run(
        app,
        host=args.bind_address,
        port=args.port,
        ssl_context_factory=lambda _config, _default: ssl_context,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=3,
        timeout_keep_alive=max(1, round(args.keep_alive_timeout)),
        lifespan="on",
        loop="uvloop",
        http=guarded_protocol(limits),
        ws=ClientCertWebSocketProtocol,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
