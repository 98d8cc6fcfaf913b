"""The apiserver as a client of the kubelets' HTTPS APIs (pods/log today; exec and port-forward later).

It presents its own client certificate (--kubelet-client-certificate/-key: the user kube-apiserver-kubelet-client,
bound to system:kubelet-api-admin) and checks the kubelet's serving certificate against
--kubelet-certificate-authority, for the node's name: the connection goes to the node's address, but the
certificate must be the one issued to that node (the name is sent as SNI and verified), so one node cannot
answer for another. Without a CA the certificate is not checked (as kube-apiserver without the flag).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from apiserver.server import Options


def ssl_context(options: Options) -> ssl.SSLContext:
    if options.kubelet_ca:
        ctx = ssl.create_default_context(cafile=options.kubelet_ca)
    else:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if options.kubelet_client_cert:
        ctx.load_cert_chain(options.kubelet_client_cert, options.kubelet_client_key or None)
    return ctx


def client(options: Options, *, read_timeout: float | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=ssl_context(options), timeout=httpx.Timeout(10.0, read=read_timeout), trust_env=False
    )


def request_extensions(node_name: str) -> dict[str, str]:
    """Send (and verify) the node's name rather than its address as the server name."""
    return {"sni_hostname": node_name}


async def relay(client: httpx.AsyncClient, upstream: httpx.Response) -> AsyncIterator[bytes]:
    """A streamed kubelet answer, chunk by chunk as it comes; then (or when the caller goes away) the response and
    its client are closed."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()
        await client.aclose()
