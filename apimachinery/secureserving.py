"""The components' secure port for /metrics (and /healthz), as kube-scheduler's 10259 and kube-controller-manager's
10257 upstream: HTTPS with a serving certificate, callers authenticated and authorized by the apiserver
(apimachinery/delegated.py) through the component's own client. The plain --bind-address/--port server stays on
loopback (serve_health refuses anything else without TLS and authentication).

    add_secure_serving_args(parser)     --secure-port (0: none, the default), --secure-bind-address,
                                        --tls-cert-file, --tls-private-key-file, --client-ca-file
    serving_args_error(args)            what is wrong with those options (and the plain --bind-address), or None
    serve_secure(args, client, ...)     the HTTPS server, or None without --secure-port

The component's identity needs `create` on tokenreviews and subjectaccessreviews (apiserver/auth/bootstrap.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CollectorRegistry

from apimachinery.client import Client
from apimachinery.component import HealthCheck, is_loopback, serve_health
from apimachinery.delegated import DelegatedAuth
from apimachinery.nslock import NamespaceLock


def add_secure_serving_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "secure serving", "HTTPS /metrics and /healthz for callers the apiserver authenticates and authorizes"
    )
    group.add_argument(
        "--secure-port", type=int, default=0, help="HTTPS port of /healthz and /metrics (0: none)"
    )
    group.add_argument("--secure-bind-address", default="0.0.0.0", help="address of the secure port")
    group.add_argument("--tls-cert-file", default=None, help="the secure port's serving certificate (PEM)")
    group.add_argument("--tls-private-key-file", default=None, help="its private key (PEM)")
    group.add_argument(
        "--client-ca-file",
        default=None,
        help="CA of the client certificates accepted (else bearer tokens only)",
    )


def serving_args_error(args: argparse.Namespace) -> str | None:
    if not is_loopback(args.bind_address):
        return (
            f"--bind-address {args.bind_address}: the plain /metrics port has no TLS or authentication and serves "
            "loopback only; use --secure-port with --tls-cert-file and --tls-private-key-file beyond it"
        )
    if not args.secure_port:
        return None
    if not (args.tls_cert_file and args.tls_private_key_file):
        return "--secure-port needs --tls-cert-file and --tls-private-key-file"
    for flag, path in (
        ("--tls-cert-file", args.tls_cert_file),
        ("--tls-private-key-file", args.tls_private_key_file),
        ("--client-ca-file", args.client_ca_file),
    ):
        if path and not os.path.isfile(path):
            return f"{flag} {path}: no such file"
    return None


async def serve_secure(
    args: argparse.Namespace,
    client: Client,
    healthz: HealthCheck | None,
    registry: CollectorRegistry | None = None,
    *,
    readyz: HealthCheck | None = None,
) -> asyncio.Server | None:
    if not args.secure_port:
        return None
    # Imported here: it brings uvicorn's protocols, which a component without a secure port does not need.
    from apimachinery.tlsserve import server_ssl_context

    tls = server_ssl_context(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)
    return await serve_health(
        args.secure_bind_address,
        args.secure_port,
        healthz,
        registry,
        readyz=readyz,
        tls=tls,
        auth=DelegatedAuth(client),
    )


@contextlib.asynccontextmanager
async def serving(
    args: argparse.Namespace,
    client: Client,
    healthz: HealthCheck | None,
    registry: CollectorRegistry | None,
    *,
    log: logging.Logger,
    lock: NamespaceLock | None = None,
    who: str = "",
    extra: dict[str, Any] | None = None,
) -> AsyncIterator[None]:
    """A component's body, run while it serves /healthz and /metrics on --bind-address:--port and the secure port
    (when given), and (with `lock`) once it holds `lock` as `who`. On the way out the servers close, then
    `client`, then the lock is released."""
    health = await serve_health(args.bind_address, args.port, healthz, registry)
    secure = await serve_secure(args, client, healthz, registry)
    log.info(
        "serving /healthz and /metrics",
        extra={"address": args.bind_address, "port": health.sockets[0].getsockname()[1], **(extra or {})},
    )
    try:
        if lock is not None:
            await lock.wait(who)
        yield
    finally:
        health.close()
        if secure is not None:
            secure.close()
        await client.aclose()
        if lock is not None:
            lock.release()
