"""HTTPS for the servers of the cluster (the apiserver, the kubelet API): TLS with optional client certificates,
and the verified client certificate's subject handed to the application.

    server_ssl_context(cert, key, client_ca)   TLS 1.2+; asks for a client certificate, verified against
                                               `client_ca` when one is sent (a bad one fails the handshake)
    ClientCertProtocol                         uvicorn's httptools protocol, plus
                                               scope["extensions"]["tls"]["client_cert_subject"] = (CN, (O, ...))
    ClientCertWebSocketProtocol                the same for uvicorn's WebSocket protocol (exec, port-forward)
    client_cert_subject(scope)                 that pair, or None when the client sent no certificate

The subject is read once per connection (a connection's certificate cannot change) and only from a certificate
the TLS layer has verified; the ASGI app never sees an unverified one.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

Subject = tuple[str, tuple[str, ...]]


def server_ssl_context(
    cert_file: str, key_file: str, client_ca_file: str | None, *, require_client_cert: bool = False
) -> ssl.SSLContext:
    """With `require_client_cert`, a client certificate signed by `client_ca` must be sent (the hollow nodes'
    kubelet API, which only the apiserver calls)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    if client_ca_file:
        ctx.load_verify_locations(cafile=client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return ctx


class ClientCertProtocol(HttpToolsProtocol):
    """Adds the verified client certificate's subject to every request's scope (uvicorn `http=` class)."""

    _subject: Subject | bool | None = False  # False: not read yet

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._subject is False:
            self._subject = _peer_subject(self.transport)
        if self._subject is not None:
            self.scope["extensions"] = {"tls": {"client_cert_subject": self._subject}}


class ClientCertWebSocketProtocol(WSProtocol):
    """The same for WebSocket upgrades (uvicorn `ws=` class): the upgraded connection gets a scope of its own.

    On wsproto rather than websockets: kubectl's port-forward offers the subprotocol `SPDY/3.1+portforward.k8s.io`,
    which is not an RFC 7230 token, and the websockets library refuses the whole handshake for it."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        found = _peer_subject(self.transport) if scope is not None else None
        if scope is not None and found is not None:
            scope["extensions"]["tls"] = {"client_cert_subject": found}


def _peer_subject(transport: Any) -> Subject | None:
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:  # with CERT_OPTIONAL, a certificate is only present here once the handshake has verified it
        return None
    # cryptography: loaded with the first client certificate, not at start.
    from apimachinery.pki import subject

    return subject(der)


def client_cert_subject(scope: Mapping[str, Any]) -> Subject | None:
    tls = (scope.get("extensions") or {}).get("tls") or {}
    value = tls.get("client_cert_subject")
    return value if isinstance(value, tuple) else None
