"""The kubelet API of hollow nodes: one small HTTPS server per kubelite-hollow-nodes process, on a port of its own,
which every node of the process advertises (status.daemonEndpoints.kubeletEndpoint.Port). The apiserver's log
requests for a hollow pod land here instead of on whatever real kubelet listens on 10250 of the advertised
address, and get a clear answer: the pod is simulated, no container runs, there are no logs.

    GET /healthz                                    ok
    GET /containerLogs/{namespace}/{pod}/{container}  200 text/plain: the "simulated" message (404 for a pod that
                                                    is not on one of this process's nodes)
    anything else                                   404 (exec, attach, port-forward: nothing runs to reach)

TLS always: with --tls-cert-file/--tls-private-key-file (a serving certificate whose SANs name the hollow nodes,
since the apiserver verifies the node's name), else a self-signed one made at start (an apiserver that checks
kubelet certificates then refuses it, and still reaches nothing real). With --client-ca-file, a client
certificate signed by that CA is required, as the apiserver presents one. Imports only `apimachinery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from apimachinery.pki import (
    CertificateAuthority,
    private_dir,
    write_private,
    write_public,
)
from apimachinery.plainhttp import TEXT, Answer, connection_handler
from apimachinery.tlsserve import server_ssl_context

log = logging.getLogger("hollow.api")

_LOGS = re.compile(
    r"/containerLogs/(?P<ns>[a-z0-9][a-z0-9.-]*)/(?P<pod>[a-z0-9][a-z0-9.-]*)/(?P<c>[A-Za-z0-9._-]+)"
)
MAX_HEAD = 16384

# (namespace, pod name) -> the hollow node the pod is bound to, or None.
NodeOf = Callable[[str, str], str | None]


def simulated_message(namespace: str, pod: str, container: str, node: str) -> str:
    return (
        f"pod {namespace}/{pod} is simulated by hollow node {node} (kubelite-hollow-nodes): container {container} "
        "never ran, so there are no logs\n"
    )


@contextlib.contextmanager
def self_signed(names: list[str], address: str) -> Iterator[tuple[str, str]]:
    """A serving certificate for `names` and `address`, signed by a throwaway CA: its files, in a private temp dir
    that is removed (key and all) once the caller has loaded them."""
    with tempfile.TemporaryDirectory(prefix="kubelite-hollow-tls-") as tmp:
        directory = private_dir(Path(tmp))
        ca = CertificateAuthority.create("kubelite-hollow-self-signed")
        cert, key = ca.issue(
            "kubelite-hollow-nodes", server=True, client=False, dns_names=names, ip_addresses=[address]
        )
        write_public(directory / "tls.crt", cert)
        write_private(directory / "tls.key", key)
        yield str(directory / "tls.crt"), str(directory / "tls.key")


def ssl_context(cert_file: str, key_file: str, client_ca_file: str | None) -> ssl.SSLContext:
    """With `client_ca_file`, a client certificate signed by it is required (the apiserver presents one)."""
    return server_ssl_context(cert_file, key_file, client_ca_file, require_client_cert=True)


def answer(method: str, target: str, node_of: NodeOf) -> tuple[int, str]:
    """(status, text) for one request line."""
    path = target.partition("?")[0]
    if method not in ("GET", "HEAD"):
        return 405, "method not allowed\n"
    if path == "/healthz":
        return 200, "ok"
    m = _LOGS.fullmatch(path)
    if m is None:
        return 404, "not found: a hollow node runs no containers\n"
    node = node_of(m["ns"], m["pod"])
    if node is None:
        return 404, f"pod {m['ns']}/{m['pod']} is not on a hollow node of this process\n"
    return 200, simulated_message(m["ns"], m["pod"], m["c"], node)


async def serve(host: str, port: int, context: ssl.SSLContext, node_of: NodeOf) -> asyncio.Server:
    """Start the server; its port is `server.sockets[0].getsockname()[1]`."""

    async def respond(method: str, target: str, head: bytes, writer: asyncio.StreamWriter) -> Answer:
        if len(head) > MAX_HEAD:
            return 400, TEXT, b"request too large\n"
        code, text = answer(method, target, node_of)
        return code, TEXT, text.encode()

    return await asyncio.start_server(connection_handler(respond), host, port, ssl=context, limit=MAX_HEAD)


def bound_port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])
